// The GnuTLS adapter's classification, fed with real gnutls-serv/gnutls-cli outputs captured by
// tests/data/capture-gnutls.sh (the default PKI, TLS 1.2 and 1.3, one file set per case).
#include <gtest/gtest.h>

#include <filesystem>

#include "captured_output.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using harness::Outcome;
using harness::Phase;
using harness::Side;

const fs::path definition = testing_support::source_dir() / "harness/peers/gnutls.json";

harness::SideObservation observe(const std::string& name, const std::string& tls, Side side,
                                 bool verify = true) {
  return testing_support::observe_captured("gnutls", name, tls, side, verify);
}

using testing_support::first_fatal_alert;
const auto first_alert = first_fatal_alert;

struct Expected {
  const char* name;
  Side rejecting;
  const char* reason; // the rejecting side's canonical reason
  const char* alert;  // the first fatal alert the rejecting side sent, as GnuTLS logs it
};

class GnutlsRejections : public ::testing::TestWithParam<std::tuple<Expected, const char*>> {};

TEST_P(GnutlsRejections, RejectingSideReasonAndAlert) {
  const auto& [e, tls] = GetParam();
  const auto rejecting = observe(e.name, tls, e.rejecting);
  const Side other_side = e.rejecting == Side::client ? Side::server : Side::client;
  const auto other = observe(e.name, tls, other_side);
  EXPECT_EQ(rejecting.outcome, Outcome::rejected) << rejecting.error_text;
  EXPECT_EQ(rejecting.reason, e.reason) << rejecting.error_text;
  EXPECT_EQ(first_alert(rejecting, true), e.alert) << rejecting.error_text;
  EXPECT_EQ(other.outcome, Outcome::error) << "only one side judged: " << other.error_text;
  // The side that did not judge heard the same alert (GnuTLS prints the number it received) —
  // in TLS 1.2. In TLS 1.3 a server may be writing its session ticket to a client that already
  // left: it then reports that write ("Error in the push function"), not the alert.
  const std::string heard = first_alert(other, false);
  if (std::string(tls) == "1.2" || !heard.empty()) {
    EXPECT_EQ(heard, e.alert) << other.error_text;
  }
}

// GnuTLS's own answers: a client sends bad_certificate for any server certificate it refuses; a
// server refusing a client certificate sends access_denied (then bad_certificate, which the
// client never reads); a TLS 1.2 server missing a required certificate sends decode_error.
const Expected rejections[] = {
    {"server-expired", Side::client, "expired", "bad_certificate"},
    {"server-not-yet-valid", Side::client, "not_yet_valid", "bad_certificate"},
    {"server-untrusted-root", Side::client, "unknown_ca", "bad_certificate"},
    {"server-hostname-mismatch", Side::client, "hostname_mismatch", "bad_certificate"},
    {"server-wrong-eku", Side::client, "bad_purpose", "bad_certificate"},
    {"server-self-signed", Side::client, "unknown_ca", "bad_certificate"},
    {"client-expired", Side::server, "expired", "access_denied"},
    {"client-untrusted-root", Side::server, "unknown_ca", "access_denied"},
    {"client-revoked", Side::server, "revoked", "access_denied"},
};

INSTANTIATE_TEST_SUITE_P(Captured, GnutlsRejections,
                         ::testing::Combine(::testing::ValuesIn(rejections),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

TEST(GnutlsClassifier, MissingClientCertificateIsTheServersRejection) {
  const auto s12 = observe("mtls-no-client-cert", "1.2", Side::server);
  EXPECT_EQ(s12.outcome, Outcome::rejected) << s12.error_text;
  EXPECT_EQ(s12.reason, "no_client_cert");
  EXPECT_EQ(first_alert(s12, true), "decode_error"); // GnuTLS 3.7's TLS 1.2 answer, as it logs it
  const auto c12 = observe("mtls-no-client-cert", "1.2", Side::client);
  EXPECT_EQ(c12.outcome, Outcome::error);
  EXPECT_EQ(c12.phase, Phase::handshake);
  EXPECT_EQ(first_alert(c12, false), "decode_error");

  const auto s13 = observe("mtls-no-client-cert", "1.3", Side::server);
  EXPECT_EQ(s13.outcome, Outcome::rejected) << s13.error_text;
  EXPECT_EQ(s13.reason, "no_client_cert");
  EXPECT_EQ(first_alert(s13, true), "certificate_required");
  // docs/peers.md#tls13-client-cert-rejection-after-handshake: the TLS 1.3 client finished its
  // handshake before the server judged it; gnutls-cli reads after sending, so the rejection reaches
  // it.
  const auto c13 = observe("mtls-no-client-cert", "1.3", Side::client);
  EXPECT_EQ(c13.outcome, Outcome::error);
  EXPECT_EQ(c13.phase, Phase::first_read);
  EXPECT_EQ(c13.reason, "no_client_cert"); // what certificate_required means
}

TEST(GnutlsClassifier, CompletedCasesOnBothSides) {
  for (const char* tls : {"1.2", "1.3"}) {
    for (const char* name : {"one-way", "mutual", "request-no-client-cert"}) {
      const auto client = observe(name, tls, Side::client);
      const auto server = observe(name, tls, Side::server);
      EXPECT_EQ(client.outcome, Outcome::completed)
          << name << " " << tls << ": " << client.error_text;
      EXPECT_EQ(server.outcome, Outcome::completed)
          << name << " " << tls << ": " << server.error_text;
      EXPECT_EQ(client.phase, Phase::done);
    }
  }
  // gnutls-serv prints the whole client chain: the leaf's subject is the identity.
  EXPECT_EQ(observe("mutual", "1.3", Side::server).peer_identity,
            "/O=tlsmatrix/CN=tlsmatrix client");
}

TEST(GnutlsClassifier, InsecureClientPrintsTheStatusButIsNotARejection) {
  for (const char* tls : {"1.2", "1.3"}) {
    const auto client = observe("no-verify-control", tls, Side::client, /*verify=*/false);
    EXPECT_EQ(client.outcome, Outcome::completed) << tls << ": " << client.error_text;
    // The same output read as if verification were on would be a rejection: the rule is real.
    EXPECT_EQ(observe("no-verify-control", tls, Side::client).outcome, Outcome::rejected);
  }
}

TEST(GnutlsClassifier, ServerDoesNotCheckTheClientCertificatesPurpose) {
  // A known difference, recorded as observed: gnutls-serv verifies the client chain without a
  // key purpose, so a serverAuth-only client certificate is accepted.
  for (const char* tls : {"1.2", "1.3"}) {
    EXPECT_EQ(observe("client-wrong-eku", tls, Side::server).outcome, Outcome::completed) << tls;
    EXPECT_EQ(observe("client-wrong-eku", tls, Side::client).outcome, Outcome::completed) << tls;
  }
}

TEST(GnutlsClassifier, AnAlertCountsAsSentOnlyOnceWritten) {
  // gnutls-serv's lines when a TLS 1.3 client (here NSS) had already closed: GnuTLS logs the
  // alert it means to send, then fails to write it. Nothing went out.
  harness::ProcessResult r;
  r.err = "|<2>| WRITE: -1 returned from 0x5, errno: 104\n"
          "Error in handshake: The TLS connection was non-properly terminated.\n"
          "|<5>| REC: Sending Alert[2|10] - Unexpected message\n"
          "|<2>| WRITE: -1 returned from 0x5, errno: 32\n"
          "|<5>| REC[0x55be0aa63f50]: Start of epoch cleanup\n";
  const auto failed = harness::classify_peer_output(definition, Side::server, r);
  EXPECT_EQ(failed.outcome, Outcome::error);
  EXPECT_TRUE(failed.alerts.empty()) << failed.alerts.front().name();
  // The captured client-expired case: the alert was written.
  const auto written = observe("client-expired", "1.2", Side::server);
  EXPECT_EQ(first_alert(written, true), "access_denied");
}

TEST(GnutlsClassifier, UnknownStatusIsRejectedButUnmapped) {
  harness::ProcessResult r;
  r.out = "- Status: The certificate is NOT trusted. Something GnuTLS 4 may say. \n";
  r.err = "*** Fatal error: Error in the certificate.\n";
  r.exit_code = 1;
  const auto o = harness::classify_peer_output(definition, Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::rejected);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_NE(o.error_text.find("Something GnuTLS 4 may say"), std::string::npos);
}

TEST(GnutlsClassifier, UnknownFailureIsAnUnmappedError) {
  harness::ProcessResult r;
  r.err = "*** Fatal error: something nobody has seen before\n";
  r.exit_code = 1;
  const auto o = harness::classify_peer_output(definition, Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::error);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_NE(o.error_text.find("nobody has seen"), std::string::npos);
}

} // namespace

// The catalog's defects (tests/data/defect-scenarios, captured by tests/data/capture-gnutls.sh
// against our endpoints, TLS 1.2 and 1.3): each side of GnuTLS (gnutls-serv, gnutls-cli) that
// rejected the other's certificate or refused its own, and what its own words say.
namespace {

class GnutlsDefects : public ::testing::TestWithParam<testing_support::DefectCapture> {};

TEST_P(GnutlsDefects, ClassifiedFromItsOwnWords) {
  testing_support::expect_defect_classified("gnutls", GetParam());
}

const testing_support::DefectCapture gnutls_defects[] = {
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
    {"defect-server-expired-root", "1.2", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-expired-root", "1.3", harness::Side::client, harness::Outcome::rejected,
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
    {"defect-server-key-mismatch", "1.2", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-key-mismatch", "1.3", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-md5-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-md5-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-name-constraints-violation", "1.2", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-name-constraints-violation", "1.3", harness::Side::client,
     harness::Outcome::rejected, "invalid_ca"},
    {"defect-server-pathlen-exceeded", "1.2", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-pathlen-exceeded", "1.3", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-sha1-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-sha1-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-unknown-critical-extension", "1.2", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-unknown-critical-extension", "1.3", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-v1-issuer", "1.2", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-v1-issuer", "1.3", harness::Side::client, harness::Outcome::rejected,
     "invalid_ca"},
    // A key that does not match its certificate, presented by java (ours refuses to present it).
    {"defect-server-key-mismatch-vs-java", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-key-mismatch-vs-java", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-key-mismatch-vs-java", "1.2", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-key-mismatch-vs-java", "1.3", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
};

INSTANTIATE_TEST_SUITE_P(Captured, GnutlsDefects, ::testing::ValuesIn(gnutls_defects),
                         [](const auto& param_info) {
                           return testing_support::defect_case_name(param_info.param);
                         });

} // namespace
