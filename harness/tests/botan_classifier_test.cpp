// The Botan adapter's classification (harness/peers/botan.json), fed with real botan tls_client
// outputs captured by tests/data/capture-botan.sh (the default suite against our server, TLS 1.2).
// tls_client exits 0 whatever it thinks of the certificate (PEERS.md trap 11): these tests check
// that its status line, not its exit code, decides.
#include <gtest/gtest.h>

#include "captured_output.hpp"
#include "harness/peer.hpp"
#include "support.hpp"

namespace {

using harness::Outcome;
using harness::Phase;
using harness::Side;

harness::SideObservation observe(const std::string& name, bool verify = true) {
  return testing_support::observe_captured("botan", name, "1.2", Side::client, verify);
}

struct Expected {
  const char* name;
  const char* reason;
};

class BotanRejections : public ::testing::TestWithParam<Expected> {};

TEST_P(BotanRejections, StatusLineDecidesNotTheExitCode) {
  const auto& e = GetParam();
  const auto o = observe(e.name);
  EXPECT_EQ(o.exit_code, 0) << "trap 11: tls_client exits 0 on a refused certificate";
  EXPECT_EQ(o.outcome, Outcome::rejected) << o.error_text;
  EXPECT_EQ(o.reason, e.reason) << o.error_text;
  EXPECT_NE(o.error_text.find("Certificate validation status: "), std::string::npos);
}

const Expected rejections[] = {
    {"server-expired", "expired"},
    {"server-not-yet-valid", "not_yet_valid"},
    {"server-untrusted-root", "unknown_ca"},
    {"server-hostname-mismatch", "hostname_mismatch"},
    {"server-wrong-eku", "bad_purpose"},
    {"server-self-signed", "unknown_ca"},
    {"server-missing-intermediate", "unknown_ca"},
};

INSTANTIATE_TEST_SUITE_P(Captured, BotanRejections, ::testing::ValuesIn(rejections),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(param_info.param.name, "1.2");
                         });

TEST(BotanClassifier, GoodCaseCompletesAfterReadingTheResource) {
  const auto o = observe("one-way");
  EXPECT_EQ(o.outcome, Outcome::completed) << o.error_text;
  EXPECT_EQ(o.phase, Phase::done);
  EXPECT_TRUE(o.alerts.empty()) << "close_notify is the normal end, not an alert to report";
}

TEST(BotanClassifier, WithoutVerificationTheStatusLineIsNoVerdict) {
  EXPECT_EQ(observe("no-verify-control", false).outcome, Outcome::completed);
  // The same output read as if verification were on is a rejection: the rule is real.
  EXPECT_EQ(observe("no-verify-control", true).outcome, Outcome::rejected);
}

TEST(BotanClassifier, ReceivedAlertAndUnknownStatus) {
  harness::ProcessResult r;
  r.out = "Certificate validation status: Something Botan 3 may say\n"
          "Alert: certificate_required\n";
  r.exit_code = 0;
  const auto o = harness::classify_peer_output(
      testing_support::source_dir() / "harness/peers/botan.json", Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::rejected);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_EQ(testing_support::first_fatal_alert(o, false), "certificate_required");
}

} // namespace
