// The seed scenarios end to end: the textbook 1-way and 2-way handshakes (TLS 1.2 static RSA,
// ECDHE, TLS 1.3) between our endpoints and openssl s_server/s_client match their expect.flow,
// and tshark, reading the case's pcapng with the key log inside, sees the same handshake
// messages in the same order and direction as our trace.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

const char* seeds[] = {"17-one-way-rsa-kx.json", "18-mutual-rsa-kx.json", "19-one-way-ecdhe.json",
                       "20-mutual-ecdhe.json",   "21-one-way-tls13.json", "22-mutual-tls13.json"};

json run_seeds(const ScratchDir& dir) {
  fs::create_directories(dir / "scenarios");
  for (const char* s : seeds)
    fs::copy_file(testing_support::source_dir() / "scenarios" / s, dir / "scenarios" / s);
  const auto r =
      testing_support::run({testing_support::tlsmatrix_binary(), "run", "--scenarios",
                            (dir / "scenarios").string(), "--peers", "local,openssl", "--pcap",
                            "--jobs", "2", "--quiet", "--out", (dir / "results").string()},
                           "", std::chrono::seconds(180));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const fs::path latest = dir / "results" / "latest" / "results.json";
  if (!fs::exists(latest))
    return json();
  return json::parse(testing_support::read_text(latest));
}

// The handshake messages of our trace as "C:<type>" / "S:<type>", with the RFC 8446 §4 numbers
// written out here (not taken from the decoder) so tshark's numbers can be compared.
std::vector<std::string> our_messages(const json& c) {
  static const std::map<std::string, int> types = {
      {"ClientHello", 1},        {"ServerHello", 2},         {"NewSessionTicket", 4},
      {"EndOfEarlyData", 5},     {"EncryptedExtensions", 8}, {"Certificate", 11},
      {"ServerKeyExchange", 12}, {"CertificateRequest", 13}, {"ServerHelloDone", 14},
      {"CertificateVerify", 15}, {"ClientKeyExchange", 16},  {"Finished", 20},
      {"KeyUpdate", 24}};
  std::vector<std::string> out;
  for (const auto& e : c.at("trace")) {
    if (e.at("kind") != "handshake")
      continue;
    const std::string name = e.at("name");
    const auto it = types.find(name);
    out.push_back((e.at("direction") == "client->server" ? "C:" : "S:") +
                  (it == types.end() ? "?" + name : std::to_string(it->second)));
  }
  return out;
}

// The same from tshark: per TLS frame its source port and the handshake types it carried.
std::vector<std::string> tshark_messages(const fs::path& capture, std::string& error) {
  const auto t =
      testing_support::run({"tshark", "-r", capture.string(), "-Y", "tls", "-T", "fields", "-E",
                            "separator=;", "-e", "tcp.srcport", "-e", "tls.handshake.type"});
  if (t.exit_code != 0) {
    error = t.err;
    return {};
  }
  std::vector<std::string> out;
  std::string client_port;
  std::istringstream lines(t.out);
  for (std::string line; std::getline(lines, line);) {
    const auto sep = line.find(';');
    if (sep == std::string::npos)
      continue;
    const std::string port = line.substr(0, sep);
    if (client_port.empty())
      client_port = port; // the ClientHello comes first
    std::istringstream types(line.substr(sep + 1));
    for (std::string type; std::getline(types, type, ',');)
      if (!type.empty())
        out.push_back((port == client_port ? "C:" : "S:") + type);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v)
    s += x + " ";
  return s;
}

TEST(SeedFlows, TextbookHandshakesMatchTheirFlowsAndTshark) {
  ScratchDir dir;
  const json results = run_seeds(dir);
  ASSERT_TRUE(results.is_object());
  const bool tshark = testing_support::have_program("tshark");
  int cases = 0, compared = 0;
  for (const auto& c : results.at("cases")) {
    const std::string id = c.at("id");
    const auto& v = c.at("verdict");
    ++cases;
    ASSERT_EQ(v.at("grade"), "pass") << id << ": " << v.dump();
    EXPECT_EQ(v.at("flow"), "matched") << id << ": " << v.dump();
    // The textbook counts, from the trace itself (ignoring what the flow ignores too).
    const auto messages = our_messages(c);
    std::size_t counted = 0;
    for (const auto& e : c.at("trace"))
      if ((e.at("kind") == "handshake" && e.at("name") != "NewSessionTicket") ||
          (e.at("kind") == "change_cipher_spec" && id.find("/1.2/") != std::string::npos))
        ++counted;
    const std::map<std::string, std::size_t> textbook = {
        {"one-way-rsa-kx", 9}, {"mutual-rsa-kx", 12}, {"one-way-ecdhe", 10}, {"mutual-ecdhe", 13}};
    if (auto it = textbook.find(id.substr(0, id.find('/'))); it != textbook.end()) {
      EXPECT_EQ(counted, it->second) << id << ": " << joined(messages);
    }

    if (!tshark)
      continue;
    const fs::path capture = fs::path(c.at("logs").at("dir").get<std::string>()) / "case.pcapng";
    ASSERT_TRUE(fs::exists(capture)) << capture;
    std::string error;
    const auto theirs = tshark_messages(capture, error);
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_EQ(theirs, messages) << id << "\n tshark: " << joined(theirs)
                                << "\n ours:   " << joined(messages);
    ++compared;
  }
  // results.json carries the expected flow; the ladder says whether it matched.
  const auto ladder = testing_support::run({testing_support::tlsmatrix_binary(), "trace",
                                            "mutual-rsa-kx/1.2/local->openssl", "--results",
                                            (dir / "results" / "latest").string()});
  EXPECT_EQ(ladder.exit_code, 0) << ladder.err;
  EXPECT_NE(ladder.out.find("flow: matched"), std::string::npos) << ladder.out;
  // local↔local, openssl→local, local→openssl, openssl↔openssl for each of the 6 seeds.
  EXPECT_EQ(cases, 24);
  if (!tshark)
    GTEST_SKIP() << "tshark is not installed: flows checked, captures not compared";
  EXPECT_EQ(compared, 24);
}

// A flow the real handshake does not follow fails the case with the first differing step, in
// results.json and in the ladder: here an ECDHE handshake against the RSA key exchange flow.
TEST(SeedFlows, AWrongFlowFailsTheCaseAtTheFirstDifferingStep) {
  ScratchDir dir;
  auto scenario = json::parse(testing_support::read_text(testing_support::source_dir() /
                                                         "scenarios" / "17-one-way-rsa-kx.json"));
  scenario["id"] = "wrong-flow";
  scenario["key_exchange"] = "ecdhe";
  scenario["server"]["cert"] = "server";
  testing_support::write_text(dir / "wrong-flow.json", scenario.dump(2));
  const auto r = testing_support::run({testing_support::tlsmatrix_binary(), "run", "--scenarios",
                                       (dir / "wrong-flow.json").string(), "--peers", "local",
                                       "--quiet", "--out", (dir / "results").string()},
                                      "", std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto results =
      json::parse(testing_support::read_text(dir / "results" / "latest" / "results.json"));
  ASSERT_EQ(results.at("cases").size(), 1u);
  const auto& v = results.at("cases").at(0).at("verdict");
  EXPECT_EQ(v.at("grade"), "fail") << v.dump();
  EXPECT_EQ(v.at("flow"), "mismatch: flow step 4 expected \"S: ServerHelloDone\", the trace had "
                          "\"S: ServerKeyExchange\" (trace[3])")
      << v.dump();
  const auto ladder =
      testing_support::run({testing_support::tlsmatrix_binary(), "trace", "wrong-flow", "--results",
                            (dir / "results" / "latest").string()});
  EXPECT_NE(ladder.out.find("verdict: fail"), std::string::npos) << ladder.out;
  EXPECT_NE(ladder.out.find("flow step 4 expected"), std::string::npos) << ladder.out;
  // The event where the flow differed is marked.
  EXPECT_NE(ladder.out.find("ServerKeyExchange | ≠ flow"), std::string::npos) << ladder.out;
}

} // namespace
