// The NSS adapter's classification, fed with real selfserv/tstclnt outputs captured by
// tests/data/capture-nss.sh (the default PKI, TLS 1.2 and 1.3, one file set per case).
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

const fs::path data = testing_support::source_dir() / "harness/tests/data/nss";
const fs::path definition = testing_support::source_dir() / "harness/peers/nss.json";

harness::SideObservation observe(const std::string& name, const std::string& tls, Side side,
                                 bool verify = true) {
  return testing_support::observe_captured("nss", name, tls, side, verify);
}

// NSS never says which alert it sent, only which it received.
std::string received_alert(const harness::SideObservation& o) {
  return testing_support::first_fatal_alert(o, false);
}

struct Expected {
  const char* name;
  Side rejecting;
  const char* reason; // the rejecting side's canonical reason
  const char* alert;  // the alert the other side received, by NSS's error name for it
};

class NssRejections : public ::testing::TestWithParam<std::tuple<Expected, const char*>> {};

TEST_P(NssRejections, RejectingSideReasonAndAlert) {
  const auto& [e, tls] = GetParam();
  const auto rejecting = observe(e.name, tls, e.rejecting);
  const Side other_side = e.rejecting == Side::client ? Side::server : Side::client;
  const auto other = observe(e.name, tls, other_side);
  EXPECT_EQ(rejecting.outcome, Outcome::rejected) << rejecting.error_text;
  EXPECT_EQ(rejecting.reason, e.reason) << rejecting.error_text;
  EXPECT_EQ(other.outcome, Outcome::error) << "only one side judged: " << other.error_text;
  EXPECT_EQ(received_alert(other), e.alert) << other.error_text;
}

const Expected rejections[] = {
    {"server-expired", Side::client, "expired", "certificate_expired"},
    // NSS reports a certificate that is not yet valid as expired
    // (docs/peers.md#nss-not-yet-valid-is-expired), and says so in the alert too: a known
    // difference, recorded as observed.
    {"server-not-yet-valid", Side::client, "expired", "certificate_expired"},
    {"server-untrusted-root", Side::client, "unknown_ca", "unknown_ca"},
    {"server-hostname-mismatch", Side::client, "hostname_mismatch", "bad_certificate"},
    {"server-wrong-eku", Side::client, "bad_purpose", "certificate_unknown"},
    // NSS takes a self-signed leaf for its own issuer, a CA that is not one:
    // SEC_ERROR_CA_CERT_INVALID (vfychain says the same). A known difference.
    {"server-self-signed", Side::client, "invalid_ca", "bad_certificate"},
    {"client-expired", Side::server, "expired", "certificate_expired"},
    {"client-untrusted-root", Side::server, "unknown_ca", "unknown_ca"},
    {"client-revoked", Side::server, "revoked", "certificate_revoked"},
};

INSTANTIATE_TEST_SUITE_P(Captured, NssRejections,
                         ::testing::Combine(::testing::ValuesIn(rejections),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

TEST(NssClassifier, MissingClientCertificateIsTheServersRejection) {
  for (const char* tls : {"1.2", "1.3"}) {
    const auto server = observe("mtls-no-client-cert", tls, Side::server);
    EXPECT_EQ(server.outcome, Outcome::rejected) << tls << ": " << server.error_text;
    EXPECT_EQ(server.reason, "no_client_cert") << tls;
  }
  const auto c12 = observe("mtls-no-client-cert", "1.2", Side::client);
  EXPECT_EQ(c12.outcome, Outcome::error);
  EXPECT_EQ(c12.phase, Phase::handshake);
  EXPECT_EQ(received_alert(c12), "bad_certificate"); // NSS's TLS 1.2 answer
  // docs/peers.md#tls13-client-cert-rejection-after-handshake: the TLS 1.3 client finished its
  // handshake before the server judged it; tstclnt reads after sending, so the rejection reaches
  // it.
  const auto c13 = observe("mtls-no-client-cert", "1.3", Side::client);
  EXPECT_EQ(c13.outcome, Outcome::error);
  EXPECT_EQ(c13.phase, Phase::first_read);
  EXPECT_EQ(received_alert(c13), "certificate_required");
  EXPECT_EQ(c13.reason, "no_client_cert");
}

TEST(NssClassifier, ServerRejectsAClientCertificateForTheWrongPurpose) {
  // Presented by openssl s_client: tstclnt would not present it at all (next test).
  for (const char* tls : {"1.2", "1.3"}) {
    const auto server = observe("client-wrong-eku-from-openssl", tls, Side::server);
    EXPECT_EQ(server.outcome, Outcome::rejected) << tls << ": " << server.error_text;
    EXPECT_EQ(server.reason, "bad_purpose") << tls;
    EXPECT_EQ(server.peer_identity, "/O=tlsmatrix/CN=tlsmatrix client");
  }
}

TEST(NssClassifier, ClientWithholdsACertificateUnfitForClientAuth) {
  // A known difference, recorded as observed: NSS picks client certificates by usage, so the
  // serverAuth-only one is not sent and the server sees no certificate.
  for (const char* tls : {"1.2", "1.3"}) {
    const auto server = observe("client-wrong-eku", tls, Side::server);
    EXPECT_EQ(server.outcome, Outcome::rejected) << tls;
    EXPECT_EQ(server.reason, "no_client_cert") << tls;
    EXPECT_EQ(server.peer_identity, "") << tls << ": selfserv saw a certificate";
  }
}

TEST(NssClassifier, CompletedCasesOnBothSides) {
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
  EXPECT_EQ(observe("mutual", "1.3", Side::server).peer_identity,
            "/O=tlsmatrix/CN=tlsmatrix client");
}

TEST(NssClassifier, OverriddenClientCompletesDespiteTheBadCertificate) {
  for (const char* tls : {"1.2", "1.3"}) {
    const auto client = observe("no-verify-control", tls, Side::client, /*verify=*/false);
    EXPECT_EQ(client.outcome, Outcome::completed) << tls << ": " << client.error_text;
    EXPECT_NE(
        testing_support::read_text(data / ("no-verify-control." + std::string(tls) + ".client.err"))
            .find("Bad server certificate: -8181"),
        std::string::npos)
        << "tstclnt -o still saw the expired certificate";
  }
}

TEST(NssClassifier, UnknownErrorIsAnUnmappedError) {
  harness::ProcessResult r;
  r.err = "tstclnt: read from socket failed: SEC_ERROR_SOMETHING_NEW: Nobody has seen this.\n";
  r.exit_code = 1;
  const auto o = harness::classify_peer_output(definition, Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::error);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_NE(o.error_text.find("Nobody has seen this"), std::string::npos);
}

} // namespace

// The catalog's defects (tests/data/defect-scenarios, captured by tests/data/capture-nss.sh against
// our endpoints, TLS 1.2 and 1.3): each side of NSS (selfserv, tstclnt, and the prepare steps that
// build its database) that rejected the other's certificate or refused its own, and what its own
// words say.
namespace {

class NssDefects : public ::testing::TestWithParam<testing_support::DefectCapture> {};

TEST_P(NssDefects, ClassifiedFromItsOwnWords) {
  testing_support::expect_defect_classified("nss", GetParam());
}

const testing_support::DefectCapture nss_defects[] = {
    {"defect-server-ip-not-in-san", "1.2", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
    {"defect-server-ip-not-in-san", "1.3", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
    {"defect-client-bad-signature", "1.2", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-bad-signature", "1.3", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-key-mismatch", "1.2", harness::Side::client, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-client-key-mismatch", "1.3", harness::Side::client, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-client-not-yet-valid", "1.2", harness::Side::server, harness::Outcome::rejected,
     "expired"},
    {"defect-client-not-yet-valid", "1.3", harness::Side::server, harness::Outcome::rejected,
     "expired"},
    {"defect-client-self-signed", "1.2", harness::Side::server, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-client-self-signed", "1.3", harness::Side::server, harness::Outcome::rejected,
     "invalid_ca"},
    {"defect-server-bad-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-bad-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-ed25519", "1.2", harness::Side::server, harness::Outcome::refused,
     "unsupported_key"},
    {"defect-server-ed25519", "1.3", harness::Side::server, harness::Outcome::refused,
     "unsupported_key"},
    {"defect-server-expired-intermediate", "1.2", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-expired-intermediate", "1.3", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-expired-root", "1.2", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-expired-root", "1.3", harness::Side::client, harness::Outcome::rejected,
     "expired"},
    {"defect-server-issuer-no-basic-constraints", "1.2", harness::Side::client,
     harness::Outcome::rejected, "unknown_ca"},
    {"defect-server-issuer-no-basic-constraints", "1.3", harness::Side::client,
     harness::Outcome::rejected, "unknown_ca"},
    {"defect-server-issuer-no-keycertsign", "1.2", harness::Side::client,
     harness::Outcome::rejected, "bad_purpose"},
    {"defect-server-issuer-no-keycertsign", "1.3", harness::Side::client,
     harness::Outcome::rejected, "bad_purpose"},
    {"defect-server-issuer-not-ca", "1.2", harness::Side::client, harness::Outcome::rejected,
     "unknown_ca"},
    {"defect-server-issuer-not-ca", "1.3", harness::Side::client, harness::Outcome::rejected,
     "unknown_ca"},
    {"defect-server-key-mismatch", "1.2", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-key-mismatch", "1.3", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-leaf-is-ca", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_purpose"},
    {"defect-server-leaf-is-ca", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_purpose"},
    {"defect-server-md5-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-md5-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
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
     "unknown_ca"},
    {"defect-server-v1-issuer", "1.3", harness::Side::client, harness::Outcome::rejected,
     "unknown_ca"},
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

INSTANTIATE_TEST_SUITE_P(Captured, NssDefects, ::testing::ValuesIn(nss_defects),
                         [](const auto& param_info) {
                           return testing_support::defect_case_name(param_info.param);
                         });

} // namespace
