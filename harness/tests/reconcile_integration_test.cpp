// No false passes, end to end with the real binary and the openssl CLI: an openssl definition
// whose verification is only advisory (no -verify_return_error, its "verify error" rules intact,
// as a user plausibly writes it) must never make a rejection scenario pass when the resource got
// through — with or without an expect.flow — and the sanity gate must call it adapter_broken in
// both roles.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::CommandResult;
using testing_support::ScratchDir;

CommandResult tlsmatrix(std::vector<std::string> args) {
  args.insert(args.begin(), testing_support::tlsmatrix_binary());
  return testing_support::run(args, "", std::chrono::seconds(240));
}

json load(const fs::path& file) {
  return json::parse(testing_support::read_text(file));
}

class AdvisoryOpenssl : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    json def = load(testing_support::source_dir() / "harness" / "peers" / "openssl.json");
    def["name"] = "openssl-advisory";
    std::function<void(json&)> strip = [&](json& j) {
      if (j.is_array()) {
        json kept = json::array();
        for (auto& x : j)
          if (x != "-verify_return_error")
            kept.push_back(x);
        j = kept;
      }
      if (j.is_structured())
        for (auto& x : j)
          strip(x);
    };
    strip(def); // the classify rules stay: it prints "verify error:num=N" and claims a rejection
    fs::create_directories(*dir_ / "defs");
    testing_support::write_text(*dir_ / "defs" / "openssl-advisory.json", def.dump(2));
    // One scenario twice: as the suite has it (with its flow) and as a user writes it (without).
    json with_flow = load(testing_support::source_dir() / "scenarios" / "05-server-expired.json");
    json without = with_flow;
    without["id"] = "server-expired-no-flow";
    without["expect"].erase("flow");
    fs::create_directories(*dir_ / "pair");
    testing_support::write_text(*dir_ / "pair" / "with.json", with_flow.dump(2));
    testing_support::write_text(*dir_ / "pair" / "without.json", without.dump(2));
    const auto pki = tlsmatrix({"pki", "generate", "--out", (*dir_ / "pki").string(), "-q"});
    ASSERT_EQ(pki.exit_code, 0) << pki.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  static CommandResult run(const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"run",
                                     "--peer-defs",
                                     (*dir_ / "defs").string(),
                                     "--pki",
                                     (*dir_ / "pki").string(),
                                     "--tls",
                                     "1.3",
                                     "--jobs",
                                     "2",
                                     "--out",
                                     (*dir_ / out).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return tlsmatrix(args);
  }
  static json latest(const std::string& out) {
    return load(*dir_ / out / "latest" / "results.json");
  }
  static ScratchDir* dir_;
};
ScratchDir* AdvisoryOpenssl::dir_ = nullptr;

TEST_F(AdvisoryOpenssl, TheGateCallsItBrokenInBothRoles) {
  const auto r = run("gate", {"--peers", "local,openssl-advisory", "--filter", "one-way/*", "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.err; // adapter_broken fails the run
  const json res = latest("gate");
  const auto& gate = res.at("sanity").at("peers").at("openssl-advisory");
  for (const char* role : {"client", "server"}) {
    EXPECT_FALSE(gate.at(role).at("ok").get<bool>()) << role << gate.dump(2);
    EXPECT_NE(gate.at(role).at("why").get<std::string>().find("claimed a rejection"),
              std::string::npos)
        << role << gate.dump(2);
  }
  EXPECT_NE(gate.at("client").at("why").get<std::string>().find("server-untrusted-root"),
            std::string::npos);
  EXPECT_NE(gate.at("server").at("why").get<std::string>().find("client-untrusted-root"),
            std::string::npos);
  for (const auto& c : res.at("cases"))
    if (c.at("client") == "openssl-advisory" || c.at("server") == "openssl-advisory") {
      EXPECT_EQ(c.at("verdict").at("grade"), "adapter_broken") << c.at("id");
    }
}

// Scenarios without flows, over defects the default suite does not have: wherever the resource
// was delivered, no rejection scenario passes; the real openssl and our endpoints still pass.
TEST_F(AdvisoryOpenssl, NoPassWhereTheResourceWasDelivered) {
  const auto r = run(
      "flowless",
      {"--no-sanity", "--peers", "local,openssl,openssl-advisory", "--scenarios",
       (testing_support::source_dir() / "harness" / "tests" / "data" / "scenarios-without-flows")
           .string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json res = latest("flowless");
  std::size_t conflicts = 0, advisory_verifier = 0;
  for (const auto& c : res.at("cases")) {
    const std::string by = c.at("expect").at("by");
    const std::string verifier = c.at(by);
    const std::string grade = c.at("verdict").at("grade");
    if (c.at("resource").at("delivered").get<bool>()) {
      EXPECT_NE(grade, "pass") << c.at("id") << ": " << c.at("verdict").at("detail");
    }
    if (verifier == "openssl-advisory") {
      ++advisory_verifier;
      EXPECT_EQ(grade, "fail") << c.at("id");
      EXPECT_TRUE(c.at("resource").at("delivered").get<bool>()) << c.at("id");
      const json& claim = c.at("observation").at(by).at("overruled");
      EXPECT_EQ(claim.at("outcome"), "rejected") << c.at("id");
      EXPECT_TRUE(claim.at("conflict").get<bool>()) << c.at("id");
      ++conflicts;
    } else {
      EXPECT_EQ(grade, "pass") << c.at("id") << ": " << c.at("verdict").at("detail");
      EXPECT_FALSE(c.at("resource").at("delivered").get<bool>()) << c.at("id");
    }
  }
  EXPECT_GT(advisory_verifier, 0u);
  // Counted and listed: results.json, the terminal summary, the reports.
  EXPECT_EQ(res.at("conflicts").at("count").get<std::size_t>(), conflicts);
  EXPECT_NE(r.out.find("claims the evidence contradicts: " + std::to_string(conflicts)),
            std::string::npos)
      << r.out;
  const fs::path run_dir = *dir_ / "flowless" / "latest";
  EXPECT_NE(testing_support::read_text(run_dir / "summary.md")
                .find("Claims the evidence contradicts (" + std::to_string(conflicts) + ")"),
            std::string::npos);
  EXPECT_NE(
      testing_support::read_text(run_dir / "junit.xml").find("overruled: claimed a rejection"),
      std::string::npos);
  const auto trace = tlsmatrix({"trace", "server-pathlen/1.3/openssl-advisory->local", "--results",
                                (run_dir / "results.json").string()});
  EXPECT_EQ(trace.exit_code, 0) << trace.err;
  EXPECT_NE(trace.out.find("conflict: claimed a rejection (path_length"), std::string::npos)
      << trace.out;
  EXPECT_NE(trace.out.find("resource: delivered"), std::string::npos) << trace.out;
}

// Reconciliation does not depend on expect.flow: a scenario and its copy without a flow get the
// same grade, for the same reason.
TEST_F(AdvisoryOpenssl, AFlowChangesNothing) {
  run("pair", {"--no-sanity", "--peers", "local,openssl-advisory", "--scenarios",
               (*dir_ / "pair").string(), "-q"});
  const json res = latest("pair");
  std::map<std::string, const json*> by_id;
  for (const auto& c : res.at("cases"))
    by_id[c.at("id")] = &c;
  for (const std::string pair : {"openssl-advisory->local", "local->local"}) {
    const json* with = by_id.at("server-expired/1.3/" + pair);
    const json* without = by_id.at("server-expired-no-flow/1.3/" + pair);
    EXPECT_EQ(with->at("verdict").at("grade"), without->at("verdict").at("grade")) << pair;
    const std::string detail = without->at("verdict").at("detail");
    EXPECT_TRUE(with->at("verdict").at("detail").get<std::string>().starts_with(detail))
        << pair << ": " << with->at("verdict").at("detail") << " vs " << detail;
  }
  EXPECT_EQ(
      by_id.at("server-expired-no-flow/1.3/openssl-advisory->local")->at("verdict").at("grade"),
      "fail");
}

} // namespace
