// Positive controls (scenarios/controls): good configurations in every form an option takes, which
// every peer that declares the capability must accept. A control that fails is an adapter's
// mistake, never a stack's verdict; these tests show they pass and that they catch a mistake.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

const fs::path controls = testing_support::source_dir() / "scenarios/controls";

TEST(Controls, EveryControlPassesOnEveryCapablePeer) {
  ScratchDir dir;
  const auto r = testing_support::run({testing_support::tlsmatrix_binary(), "run", "--scenarios",
                                       controls.string(), "--no-expectations", "--jobs", "2",
                                       "--quiet", "--out", (dir / "results").string()},
                                      "", std::chrono::seconds(300));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));
  std::set<std::string> peers;
  for (const auto& c : results.at("cases")) {
    const std::string grade = c.at("verdict").at("grade");
    EXPECT_TRUE(grade == "pass" || grade == "not_applicable")
        << c.at("id") << ": " << grade << ": " << c.at("verdict").at("detail");
    if (grade == "not_applicable") { // only for a capability the peer declares it lacks
      const std::string why = c.at("verdict").at("detail");
      EXPECT_TRUE(why.find(" lacks ") != std::string::npos ||
                  why.find(" cannot do TLS ") != std::string::npos ||
                  why.find(" only reports its verification") != std::string::npos)
          << c.at("id") << ": " << why;
    }
    if (grade == "pass")
      peers.insert({c.at("client").get<std::string>(), c.at("server").get<std::string>()});
  }
  EXPECT_EQ(results.at("unmapped").at("count"), 0);
  // Every installed peer took part; a missing one is a skipped peer, not a silent pass.
  for (const auto& [name, p] : results.at("peers").items()) {
    if (p.value("available", false)) {
      EXPECT_TRUE(peers.contains(name)) << name << " passed no control";
    }
  }
}

// A copy of the openssl definition, named openssl-flipped, whose IP-address name check is turned
// back into the DNS form (-verify_ip -> -verify_hostname), in dir/peers.
void write_flipped_openssl(const fs::path& dir) {
  json def = json::parse(
      testing_support::read_text(testing_support::source_dir() / "harness/peers/openssl.json"));
  def["name"] = "openssl-flipped";
  int flipped = 0;
  for (auto& o : def["client"]["options"])
    for (auto& a : o["argv"])
      if (a == "-verify_ip") {
        a = "-verify_hostname";
        ++flipped;
      }
  ASSERT_EQ(flipped, 1) << "openssl.json no longer has one -verify_ip option";
  fs::create_directories(dir / "peers");
  testing_support::write_text(dir / "peers/openssl-flipped.json", def.dump(2));
}

// The gate runs the controls too: the flipped client is adapter_broken before any of its cells
// is believed, while its server role (which the flip does not touch) passes.
TEST(Controls, TheSanityGateCatchesAMistranslatedOption) {
  ScratchDir dir;
  write_flipped_openssl(dir.path());
  const auto r = testing_support::run(
      {testing_support::tlsmatrix_binary(), "run", "--no-expectations", "--peer-defs",
       (dir / "peers").string(), "--peers", "local,openssl-flipped", "--filter", "one-way/*",
       "--jobs", "2", "--quiet", "--out", (dir / "results").string()},
      "", std::chrono::seconds(180));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));
  const json& gate = results.at("sanity").at("peers").at("openssl-flipped");
  EXPECT_FALSE(gate.at("client").at("ok").get<bool>());
  EXPECT_NE(gate.at("client").at("why").get<std::string>().find("control-server-name-ip"),
            std::string::npos)
      << gate.at("client").at("why");
  EXPECT_TRUE(gate.at("server").at("ok").get<bool>()) << gate.at("server").at("why");
  int broken = 0;
  for (const auto& c : results.at("cases"))
    if (c.at("client") == "openssl-flipped") {
      EXPECT_EQ(c.at("verdict").at("grade"), "adapter_broken") << c.at("id");
      ++broken;
    }
  EXPECT_GT(broken, 0);
}

// The openssl definition with the IP form of its name check turned back into the DNS form
// (-verify_ip -> -verify_hostname): the IP-address controls must catch it.
TEST(Controls, AMistranslatedOptionFailsItsControl) {
  ScratchDir dir;
  write_flipped_openssl(dir.path());
  const auto r = testing_support::run(
      {testing_support::tlsmatrix_binary(), "run", "--scenarios", controls.string(),
       "--no-expectations", "--no-sanity", "--peer-defs", (dir / "peers").string(), "--peers",
       "local,openssl-flipped", "--filter", "control-server-name-ip*/*/openssl-flipped->local",
       "--jobs", "2", "--quiet", "--out", (dir / "results").string()},
      "", std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));
  ASSERT_EQ(results.at("cases").size(), 4u); // IPv4 and IPv6, TLS 1.2 and 1.3
  for (const auto& c : results.at("cases")) {
    EXPECT_EQ(c.at("verdict").at("grade"), "fail") << c.at("id");
    EXPECT_EQ(c.at("verdict").at("reason"), "hostname_mismatch") << c.at("id");
  }
}

} // namespace
