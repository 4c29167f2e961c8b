// The Java JSSE peer's classification (harness/peers/java.json), fed with real outputs of
// harness/peer-programs/TlsPeer.java captured by tests/data/capture-java.sh (the default suite
// against our endpoints, TLS 1.2 and 1.3, both roles).
#include <gtest/gtest.h>

#include "captured_output.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

using harness::Outcome;
using harness::Phase;
using harness::Side;
using testing_support::first_fatal_alert;

harness::SideObservation observe(const std::string& name, const std::string& tls, Side side,
                                 bool verify = true) {
  return testing_support::observe_captured("java", name, tls, side, verify);
}

struct Expected {
  const char* name;
  Side rejecting;
  const char* reason; // the rejecting side's canonical reason
  const char* heard;  // the alert the other side says it received ("" = none it could read)
};

class JavaRejections : public ::testing::TestWithParam<std::tuple<Expected, const char*>> {};

TEST_P(JavaRejections, RejectingSideReasonAndAlertHeard) {
  const auto& [e, tls] = GetParam();
  const auto rejecting = observe(e.name, tls, e.rejecting);
  EXPECT_EQ(rejecting.outcome, Outcome::rejected) << rejecting.error_text;
  EXPECT_EQ(rejecting.reason, e.reason) << rejecting.error_text;
  EXPECT_EQ(rejecting.phase, Phase::handshake);
  const Side other_side = e.rejecting == Side::client ? Side::server : Side::client;
  const auto other = observe(e.name, tls, other_side);
  EXPECT_EQ(other.outcome, Outcome::error) << other.error_text;
  // A Java server facing our TLS 1.3 client's refusal reads a plaintext alert as a broken record
  // (OpenSSL 3.0 sends it unencrypted: docs/peers.md#openssl-tls13-plaintext-alert) and can name no
  // alert.
  const bool plaintext_alert = e.rejecting == Side::client && std::string(tls) == "1.3";
  EXPECT_EQ(first_fatal_alert(other, false), plaintext_alert ? "" : e.heard) << other.error_text;
  if (plaintext_alert) {
    EXPECT_NE(other.error_text.find("Insufficient buffer remaining for AEAD"), std::string::npos)
        << other.error_text;
  }
}

// Java's client (the rejecting side of server-*) against our server, our client against Java's
// server (client-*): what Java decided, and which alert our OpenSSL endpoint sent it.
const Expected rejections[] = {
    {"server-expired", Side::client, "expired", "certificate_expired"},
    {"server-not-yet-valid", Side::client, "not_yet_valid", "bad_certificate"},
    {"server-untrusted-root", Side::client, "unknown_ca", "unknown_ca"},
    {"server-hostname-mismatch", Side::client, "hostname_mismatch", "bad_certificate"},
    {"server-wrong-eku", Side::client, "bad_purpose", "unsupported_certificate"},
    {"server-self-signed", Side::client, "unknown_ca", "unknown_ca"},
    {"server-missing-intermediate", Side::client, "unknown_ca", "unknown_ca"},
    {"client-expired", Side::server, "expired", "certificate_expired"},
    {"client-wrong-eku", Side::server, "bad_purpose", "unsupported_certificate"},
    {"client-revoked", Side::server, "revoked", "certificate_revoked"},
};

INSTANTIATE_TEST_SUITE_P(Captured, JavaRejections,
                         ::testing::Combine(::testing::ValuesIn(rejections),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

TEST(JavaClassifier, MissingClientCertificateIsTheServersRejection) {
  for (const char* tls : {"1.2", "1.3"}) {
    const auto server = observe("mtls-no-client-cert", tls, Side::server);
    EXPECT_EQ(server.outcome, Outcome::rejected) << server.error_text;
    EXPECT_EQ(server.reason, "no_client_cert");
  }
  // docs/peers.md#tls13-client-cert-rejection-after-handshake: in TLS 1.3 the Java client learns of
  // it only on its read after the request.
  const auto c13 = observe("mtls-no-client-cert", "1.3", Side::client);
  EXPECT_EQ(c13.outcome, Outcome::error);
  EXPECT_EQ(c13.phase, Phase::first_read);
  EXPECT_EQ(first_fatal_alert(c13, false), "certificate_required");
  const auto c12 = observe("mtls-no-client-cert", "1.2", Side::client);
  EXPECT_EQ(c12.phase, Phase::handshake);
  EXPECT_EQ(first_fatal_alert(c12, false), "handshake_failure");
}

TEST(JavaClassifier, ClientWithholdsACertificateTheServerDoesNotAskFor) {
  // docs/peers.md#client-withholds-certificate-not-in-ca-list: the client certificate of an
  // untrusted root is not sent, so our server reports a missing certificate, and Java's client
  // hears of that.
  const auto c12 = observe("client-untrusted-root", "1.2", Side::client);
  EXPECT_EQ(first_fatal_alert(c12, false), "handshake_failure");
  const auto c13 = observe("client-untrusted-root", "1.3", Side::client);
  EXPECT_EQ(first_fatal_alert(c13, false), "certificate_required");
  // Java's server, given that certificate by our client, cannot build a path to its anchors.
  const auto s = observe("client-untrusted-root", "1.3", Side::server);
  EXPECT_EQ(s.outcome, Outcome::rejected);
  EXPECT_EQ(s.reason, "unknown_ca");
}

TEST(JavaClassifier, CompletedCasesOnBothSides) {
  for (const char* tls : {"1.2", "1.3"}) {
    for (const char* name : {"one-way", "mutual", "request-no-client-cert"}) {
      for (Side side : {Side::client, Side::server}) {
        const auto o = observe(name, tls, side);
        EXPECT_EQ(o.outcome, Outcome::completed) << name << " " << tls << ": " << o.error_text;
        EXPECT_EQ(o.phase, Phase::done);
      }
    }
  }
  EXPECT_EQ(observe("mutual", "1.3", Side::server).peer_identity,
            "/O=tlsmatrix/CN=tlsmatrix client");
  EXPECT_EQ(observe("one-way", "1.2", Side::client).peer_identity, "/O=tlsmatrix/CN=localhost");
}

TEST(JavaClassifier, NoVerifyClientCompletesAgainstAnExpiredServer) {
  for (const char* tls : {"1.2", "1.3"})
    EXPECT_EQ(observe("no-verify-control", tls, Side::client, false).outcome, Outcome::completed);
}

TEST(JavaClassifier, UnknownValidatorReasonIsRejectedButUnmapped) {
  harness::ProcessResult r;
  r.out = "VERIFY SOMETHING_NEW java.security.cert.CertPathValidatorException: a future check\n"
          "ERROR handshake SSLHandshakeException PKIX path validation failed\n";
  r.exit_code = 1;
  const auto o = harness::classify_peer_output(
      testing_support::source_dir() / "harness/peers/java.json", Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::rejected);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_NE(o.error_text.find("a future check"), std::string::npos);
}

} // namespace

// The catalog's defects (tests/data/defect-scenarios, captured by tests/data/capture-java.sh
// against our endpoints, TLS 1.2 and 1.3): each side of our Java peer program over JSSE that
// rejected the other's certificate or refused its own, and what its own words say.
namespace {

class JavaDefects : public ::testing::TestWithParam<testing_support::DefectCapture> {};

TEST_P(JavaDefects, ClassifiedFromItsOwnWords) {
  testing_support::expect_defect_classified("java", GetParam());
}

const testing_support::DefectCapture java_defects[] = {
    {"defect-server-ip-not-in-san", "1.2", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
    {"defect-server-ip-not-in-san", "1.3", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
    {"defect-client-bad-signature", "1.2", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-bad-signature", "1.3", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-not-yet-valid", "1.2", harness::Side::server, harness::Outcome::rejected,
     "not_yet_valid"},
    {"defect-client-not-yet-valid", "1.3", harness::Side::server, harness::Outcome::rejected,
     "not_yet_valid"},
    {"defect-client-self-signed", "1.2", harness::Side::server, harness::Outcome::rejected,
     "unknown_ca"},
    {"defect-client-self-signed", "1.3", harness::Side::server, harness::Outcome::rejected,
     "unknown_ca"},
    {"defect-server-bad-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-bad-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-expired-intermediate", "1.2", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-expired-intermediate", "1.3", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-issuer-no-basic-constraints", "1.2", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-issuer-no-basic-constraints", "1.3", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-issuer-no-keycertsign", "1.2", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-issuer-no-keycertsign", "1.3", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-issuer-not-ca", "1.2", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-issuer-not-ca", "1.3", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-name-constraints-violation", "1.2", harness::Side::client,
     harness::Outcome::rejected, "name_constraints"},
    {"defect-server-name-constraints-violation", "1.3", harness::Side::client,
     harness::Outcome::rejected, "name_constraints"},
    {"defect-server-pathlen-exceeded", "1.2", harness::Side::client, harness::Outcome::rejected,
     "path_length"},
    {"defect-server-pathlen-exceeded", "1.3", harness::Side::client, harness::Outcome::rejected,
     "path_length"},
    {"defect-server-unknown-critical-extension", "1.2", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-unknown-critical-extension", "1.3", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-v1-issuer", "1.2", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-v1-issuer", "1.3", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    // A key that does not match its certificate, presented by gnutls (ours refuses to present it).
    {"defect-server-key-mismatch-vs-botan", "1.2", harness::Side::client,
     harness::Outcome::rejected, "bad_signature"},
    {"defect-client-key-mismatch-vs-gnutls", "1.2", harness::Side::server,
     harness::Outcome::rejected, "bad_signature"},
    {"defect-client-key-mismatch-vs-gnutls", "1.3", harness::Side::server,
     harness::Outcome::rejected, "bad_signature"},
};

INSTANTIATE_TEST_SUITE_P(Captured, JavaDefects, ::testing::ValuesIn(java_defects),
                         [](const auto& param_info) {
                           return testing_support::defect_case_name(param_info.param);
                         });

} // namespace
