// `tlsmatrix run` end to end: the default suite between our endpoints and the openssl CLI must
// grade every case pass, and the reasons must agree with what s_client -msg saw on the wire.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

class DefaultSuite : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    run_ = new testing_support::CommandResult(testing_support::run(
        {testing_support::tlsmatrix_binary(), "run", "--peers", "local,openssl", "--jobs", "2",
         "--out", (*dir_ / "results").string()},
        "", std::chrono::seconds(540)));
    const fs::path latest = *dir_ / "results" / "latest" / "results.json";
    if (fs::exists(latest))
      results_ = new json(json::parse(testing_support::read_text(latest)));
  }
  static void TearDownTestSuite() {
    delete results_;
    delete run_;
    delete dir_;
  }
  static ScratchDir* dir_;
  static testing_support::CommandResult* run_;
  static json* results_;
};
ScratchDir* DefaultSuite::dir_ = nullptr;
testing_support::CommandResult* DefaultSuite::run_ = nullptr;
json* DefaultSuite::results_ = nullptr;

TEST_F(DefaultSuite, EveryCasePasses) {
  ASSERT_NE(results_, nullptr) << run_->out << run_->err;
  EXPECT_EQ(run_->exit_code, 0) << run_->out << run_->err;
  const auto& cases = results_->at("cases");
  // 60+ scenarios × 2 versions × 4 pairs (local↔local, openssl→local, local→openssl,
  // openssl↔openssl).
  EXPECT_GE(cases.size(), 480u);
  // A stack refusing its own certificate or key (key mismatch, a digest below its policy) is
  // `refused`, not a failure; a documented deviation of the expectations file is expected_failure.
  const std::set<std::string> fine = {"pass", "not_applicable", "refused", "expected_failure"};
  for (const auto& c : cases)
    EXPECT_TRUE(fine.contains(c.at("verdict").at("grade").get<std::string>()))
        << c.at("id") << ": " << c.at("verdict").at("grade") << ": "
        << c.at("verdict").at("detail");
  EXPECT_EQ(results_->at("version"), 1);
  EXPECT_TRUE(results_->at("peers").at("openssl").at("available").get<bool>());
}

// What plain s_server/s_client decided for a scenario, captured by
// harness/tests/data/capture-openssl-corpus.sh (OpenSSL's own words, no tlsmatrix code).
struct OpensslCapture {
  int client_verify = 0;
  int server_verify = 0;
  std::string alert_from; // "client", "server" or "" (no fatal alert)
  std::string alert;
  bool served = false;
};

std::optional<OpensslCapture> read_capture(const std::string& scenario, const std::string& tls) {
  const fs::path file = testing_support::source_dir() / "harness/tests/data/openssl-corpus" /
                        (scenario + "." + tls + ".summary");
  if (!fs::exists(file))
    return std::nullopt;
  OpensslCapture c;
  std::istringstream in(testing_support::read_text(file));
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "client_verify")
      c.client_verify = value == "none" ? 0 : std::stoi(value);
    else if (key == "server_verify")
      c.server_verify = std::stoi(value);
    else if (key == "served")
      c.served = value == "1";
    else if (key == "alert" && value != "none") {
      c.alert_from = value.substr(0, value.find(' '));
      c.alert = value.substr(value.find(' ') + 1);
    }
  }
  return c;
}

// X509_V_ERR_* codes (x509_vfy.h) and the canonical reason each one is, written down here, not
// taken from the classifiers.
const std::map<int, std::string> reason_of_verify_code = {
    {7, "bad_signature"},     {9, "not_yet_valid"},
    {10, "expired"},          {12, "crl_problem"},
    {18, "self_signed"},      {20, "unknown_ca"},
    {23, "revoked"},          {25, "path_length"},
    {26, "bad_purpose"},      {34, "unhandled_critical_extension"},
    {47, "name_constraints"}, {62, "hostname_mismatch"},
    {66, "weak_key"},         {68, "weak_digest"},
    {79, "invalid_ca"},
};

// Every cell of the default run in which the openssl CLI is the side that verifies must decide
// as plain s_client/s_server did: the same fatal alert from the same side (or none and the
// resource served), and the verify error OpenSSL printed, as a canonical reason.
TEST_F(DefaultSuite, OpensslCellsDecideAsPlainOpensslDid) {
  ASSERT_NE(results_, nullptr);
  int compared = 0;
  std::set<std::string> scenarios_compared;
  for (const auto& c : results_->at("cases")) {
    const std::string scenario = c.at("scenario"), tls = c.at("tls");
    const auto capture = read_capture(scenario, tls);
    if (!capture)
      continue;
    const auto& expect = c.at("expect");
    // The side whose verification the scenario measures: `by`, or for an accepted scenario the
    // server when the client presents a certificate (mutual-*), else the client.
    const std::string verifier = expect.contains("by") ? expect.at("by").get<std::string>()
                                 : scenario.starts_with("mutual") ? "server"
                                                                  : "client";
    if (c.at(verifier) != "openssl")
      continue;
    const auto& v = c.at("verdict");
    const std::string grade = v.at("grade");
    if (grade == "not_applicable" || grade == "refused")
      continue;
    SCOPED_TRACE(c.at("id").get<std::string>());
    const std::string alert = v.at("alert").is_null() ? "" : v.at("alert").get<std::string>();
    const std::string from =
        v.at("alert_from").is_null() ? "" : v.at("alert_from").get<std::string>();
    EXPECT_EQ(alert, capture->alert) << "the wire's first fatal alert";
    EXPECT_EQ(from, capture->alert_from) << "the sender of the first fatal alert";
    if (capture->served) {
      EXPECT_TRUE(v.at("rejected_by").is_null()) << v.at("detail");
    } else {
      EXPECT_EQ(v.at("rejected_by"), verifier) << v.at("detail");
      const int code = verifier == "client" ? capture->client_verify : capture->server_verify;
      ASSERT_TRUE(reason_of_verify_code.contains(code)) << "verify code " << code;
      EXPECT_EQ(v.at("reason"), reason_of_verify_code.at(code)) << v.at("detail");
    }
    scenarios_compared.insert(scenario);
    ++compared;
  }
  // 40+ captured scenarios, each in both versions with openssl verifying against local and
  // against openssl.
  EXPECT_GE(scenarios_compared.size(), 40u);
  EXPECT_GE(compared, 160);
}

TEST_F(DefaultSuite, EveryPairIsPresent) {
  ASSERT_NE(results_, nullptr);
  std::set<std::string> pairs;
  for (const auto& c : results_->at("cases"))
    pairs.insert(c.at("client").get<std::string>() + ">" + c.at("server").get<std::string>() + " " +
                 c.at("tls").get<std::string>());
  for (const char* p :
       {"local>local 1.2", "local>local 1.3", "openssl>local 1.2", "openssl>local 1.3",
        "local>openssl 1.2", "local>openssl 1.3", "openssl>openssl 1.2", "openssl>openssl 1.3"})
    EXPECT_TRUE(pairs.contains(p)) << p;
}

// The alert s_client -msg printed (">>>" sent by the client, "<<<" received from the server).
std::string wire_alert(const fs::path& client_out, bool* client_sent) {
  static const std::regex line(R"((>>>|<<<) TLS [0-9.]+, Alert \[length \d+\], fatal ([a-z_]+))");
  const std::string text = testing_support::read_text(client_out);
  std::smatch m;
  if (!std::regex_search(text, m, line))
    return {};
  *client_sent = m[1] == ">>>";
  return m[2];
}

TEST_F(DefaultSuite, ReasonsAgreeWithTheWireAsSClientMsgShowsIt) {
  ASSERT_NE(results_, nullptr);
  struct Check {
    const char* scenario;
    const char* reason;
    const char* alert;
    bool client_sends;
  };
  const Check checks[] = {
      {"server-expired", "expired", "certificate_expired", true},
      {"server-untrusted-root", "unknown_ca", "unknown_ca", true},
      {"server-hostname-mismatch", "hostname_mismatch", "bad_certificate", true},
      {"mtls-no-client-cert", "no_client_cert", "", false},
  };
  int checked = 0;
  for (const auto& c : results_->at("cases")) {
    if (c.at("client") != "openssl")
      continue;
    for (const auto& check : checks) {
      if (c.at("scenario") != check.scenario)
        continue;
      const auto& v = c.at("verdict");
      EXPECT_EQ(v.at("reason"), check.reason) << c.at("id");
      bool client_sent = false;
      const std::string alert =
          wire_alert(c.at("logs").at("client.out").get<std::string>(), &client_sent);
      ASSERT_FALSE(alert.empty()) << c.at("id") << ": s_client -msg showed no fatal alert";
      EXPECT_EQ(client_sent, check.client_sends) << c.at("id");
      EXPECT_EQ(v.at("alert"), alert)
          << c.at("id") << ": our verdict's alert differs from the wire";
      const std::string wanted = *check.alert           ? check.alert
                                 : c.at("tls") == "1.3" ? "certificate_required"
                                                        : "handshake_failure";
      EXPECT_EQ(alert, wanted) << c.at("id");
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4 * 2 * 2); // 4 scenarios × 2 versions × (openssl→local, openssl→openssl)
}

TEST_F(DefaultSuite, ResultsNameLogsAndReproduction) {
  ASSERT_NE(results_, nullptr);
  for (const auto& c : results_->at("cases")) {
    ASSERT_TRUE(c.at("logs").contains("dir")) << c.at("id");
    EXPECT_TRUE(fs::is_directory(c.at("logs").at("dir").get<std::string>()));
    // A side that refused its own configuration at setup: the case has no command for the
    // side that never ran (a refusing client leaves none either).
    const bool refused = c.at("verdict").at("grade") == "refused";
    if (!refused) {
      EXPECT_TRUE(c.at("reproduce").contains("client")) << c.at("id");
    }
    if (c.at("server") == "openssl" && c.at("reproduce").contains("server")) {
      EXPECT_NE(c.at("reproduce").at("server").get<std::string>().find("s_server"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(fs::is_symlink(*dir_ / "results" / "latest"));
  EXPECT_NE(run_->out.find("totals:"), std::string::npos) << run_->out;
}

} // namespace
