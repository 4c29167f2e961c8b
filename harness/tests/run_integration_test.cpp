// `tlsmatrix run` end to end: the default suite between our endpoints and the openssl CLI must
// grade every case pass, and the reasons must agree with what s_client -msg saw on the wire.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

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
        "", std::chrono::seconds(240)));
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
  // 16 scenarios × 2 versions × 4 pairs (local↔local, openssl→local, local→openssl,
  // openssl↔openssl).
  EXPECT_GE(cases.size(), 128u);
  for (const auto& c : cases)
    EXPECT_EQ(c.at("verdict").at("grade"), "pass")
        << c.at("id") << ": " << c.at("verdict").at("detail");
  EXPECT_EQ(results_->at("version"), 1);
  EXPECT_TRUE(results_->at("peers").at("openssl").at("available").get<bool>());
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
    EXPECT_TRUE(c.at("reproduce").contains("client")) << c.at("id");
    if (c.at("server") == "openssl") {
      EXPECT_NE(c.at("reproduce").at("server").get<std::string>().find("s_server"),
                std::string::npos);
    }
  }
  EXPECT_TRUE(fs::is_symlink(*dir_ / "results" / "latest"));
  EXPECT_NE(run_->out.find("totals:"), std::string::npos) << run_->out;
}

} // namespace
