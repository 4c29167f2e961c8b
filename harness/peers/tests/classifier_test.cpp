// The openssl adapter's classification, fed with real s_server/s_client outputs captured by
// tests/data/capture-openssl.sh (the default PKI, TLS 1.2 and 1.3, one file set per case).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "captured_output.hpp"
#include "harness/model/reasons.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using harness::Outcome;
using harness::Phase;
using harness::Side;

const fs::path definition = testing_support::source_dir() / "harness/peers/openssl.json";

harness::SideObservation observe(const std::string& name, const std::string& tls, Side side,
                                 bool verify = true) {
  return testing_support::observe_captured("openssl", name, tls, side, verify);
}

struct Expected {
  const char* name;
  Side rejecting;
  const char* reason; // the rejecting side's canonical reason
  int verify_error;   // X509_V_ERR_* on the rejecting side (0: none)
};

class OpensslRejections : public ::testing::TestWithParam<std::tuple<Expected, const char*>> {};

TEST_P(OpensslRejections, RejectingSideAndReason) {
  const auto& [e, tls] = GetParam();
  const auto rejecting = observe(e.name, tls, e.rejecting);
  const Side other_side = e.rejecting == Side::client ? Side::server : Side::client;
  const auto other = observe(e.name, tls, other_side);
  EXPECT_EQ(rejecting.outcome, Outcome::rejected) << rejecting.error_text;
  EXPECT_EQ(rejecting.reason, e.reason);
  if (e.verify_error) {
    EXPECT_EQ(rejecting.verify_error.value_or(0), e.verify_error);
  }
  EXPECT_NE(other.outcome, Outcome::completed);
  EXPECT_NE(other.outcome, Outcome::rejected) << "only one side judged";
  // The side that did not judge heard a fatal alert from the one that did.
  bool alert = false;
  for (const auto& a : other.alerts)
    alert |= !a.sent && a.fatal;
  EXPECT_TRUE(alert) << other.error_text;
}

const Expected rejections[] = {
    {"server-expired", Side::client, "expired", 10},
    {"server-not-yet-valid", Side::client, "not_yet_valid", 9},
    {"server-untrusted-root", Side::client, "unknown_ca", 20},
    {"server-hostname-mismatch", Side::client, "hostname_mismatch", 62},
    {"server-wrong-eku", Side::client, "bad_purpose", 26},
    {"server-self-signed", Side::client, "self_signed", 18},
    {"mtls-no-client-cert", Side::server, "no_client_cert", 0},
    {"client-expired", Side::server, "expired", 10},
    {"client-untrusted-root", Side::server, "unknown_ca", 20},
    {"client-wrong-eku", Side::server, "bad_purpose", 26},
    {"client-revoked", Side::server, "revoked", 23},
};

INSTANTIATE_TEST_SUITE_P(Captured, OpensslRejections,
                         ::testing::Combine(::testing::ValuesIn(rejections),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

TEST(OpensslClassifier, CompletedCasesOnBothSides) {
  for (const char* tls : {"1.2", "1.3"}) {
    for (const char* name : {"one-way", "mutual"}) {
      const auto client = observe(name, tls, Side::client);
      const auto server = observe(name, tls, Side::server);
      EXPECT_EQ(client.outcome, Outcome::completed)
          << name << " " << tls << ": " << client.error_text;
      EXPECT_EQ(server.outcome, Outcome::completed)
          << name << " " << tls << ": " << server.error_text;
      EXPECT_EQ(client.phase, Phase::done);
    }
  }
  EXPECT_EQ(observe("mutual", "1.3", Side::server).peer_identity,
            "/O=tlsmatrix/CN=tlsmatrix client");
}

TEST(OpensslClassifier, Tls13ClientLearnsOfItsRejectionOnFirstRead) {
  // docs/peers.md#tls13-client-cert-rejection-after-handshake: the TLS 1.3 client finished its handshake before the server judged it.
  const auto c13 = observe("mtls-no-client-cert", "1.3", Side::client);
  EXPECT_EQ(c13.outcome, Outcome::error);
  EXPECT_EQ(c13.phase, Phase::first_read);
  EXPECT_EQ(c13.reason, "no_client_cert"); // certificate_required (116)
  const auto c12 = observe("mtls-no-client-cert", "1.2", Side::client);
  EXPECT_EQ(c12.phase, Phase::handshake);
  EXPECT_EQ(c12.reason, "handshake_failure"); // TLS 1.2 has no certificate_required alert
}

TEST(OpensslClassifier, SentAlertIsRecordedWithItsName) {
  const auto c = observe("server-expired", "1.3", Side::client);
  ASSERT_FALSE(c.alerts.empty());
  bool sent_expired = false;
  for (const auto& a : c.alerts)
    sent_expired |= a.sent && a.name() == "certificate_expired";
  EXPECT_TRUE(sent_expired);
}

TEST(OpensslClassifier, UnknownFailureIsUnmappedWithRawText) {
  harness::ProcessResult r;
  r.err = "something nobody has seen before\n";
  r.exit_code = 1;
  const auto o = harness::classify_peer_output(definition, Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::error);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_NE(o.error_text.find("nobody has seen"), std::string::npos);
}

TEST(OpensslClassifier, TimeoutIsNeverCompleted) {
  auto r = harness::ProcessResult{};
  r.out = "CONNECTED(00000003)\n";
  r.timed_out = true;
  EXPECT_EQ(harness::classify_peer_output(definition, Side::client, r).outcome, Outcome::timeout);
}

} // namespace
