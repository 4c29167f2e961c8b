// The curl adapter's classification (harness/peers/curl.json), fed with real curl outputs
// captured by tests/data/capture-curl.sh (the default suite against our server, TLS 1.2 and 1.3).
// curl's exit codes are ambiguous (docs/peers.md#curl-exit-codes-are-ambiguous): its error text and
// --verbose alert lines decide.
#include <gtest/gtest.h>

#include "captured_output.hpp"
#include "common/error.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

using harness::Outcome;
using harness::Phase;
using harness::Side;
using testing_support::first_fatal_alert;

harness::SideObservation observe(const std::string& name, const std::string& tls,
                                 bool verify = true) {
  return testing_support::observe_captured("curl", name, tls, Side::client, verify);
}

struct Expected {
  const char* name;
  const char* reason;
};

class CurlRejections : public ::testing::TestWithParam<std::tuple<Expected, const char*>> {};

TEST_P(CurlRejections, ClientVerificationText) {
  const auto& [e, tls] = GetParam();
  const auto o = observe(e.name, tls);
  EXPECT_EQ(o.exit_code, 60);
  EXPECT_EQ(o.outcome, Outcome::rejected) << o.error_text;
  EXPECT_EQ(o.reason, e.reason) << o.error_text;
}

const Expected rejections[] = {
    {"server-expired", "expired"},
    {"server-not-yet-valid", "not_yet_valid"},
    {"server-untrusted-root", "unknown_ca"},
    {"server-hostname-mismatch", "hostname_mismatch"},
    {"server-wrong-eku", "bad_purpose"},
    {"server-self-signed", "self_signed"},
    {"server-missing-intermediate", "unknown_ca"},
};

INSTANTIATE_TEST_SUITE_P(Captured, CurlRejections,
                         ::testing::Combine(::testing::ValuesIn(rejections),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

struct Refused {
  const char* name;
  const char* alert; // what our server sent, as curl heard it
};

class CurlRefusedByServer : public ::testing::TestWithParam<std::tuple<Refused, const char*>> {};

TEST_P(CurlRefusedByServer, AnErrorWithTheAlertNotAVerification) {
  const auto& [e, tls] = GetParam();
  const auto o = observe(e.name, tls);
  EXPECT_EQ(o.outcome, Outcome::error) << o.error_text;
  EXPECT_EQ(first_fatal_alert(o, false), e.alert) << o.error_text;
  // TLS 1.3: the refusal arrives on the read after curl's handshake
  // (docs/peers.md#tls13-client-cert-rejection-after-handshake), exit 56.
  if (std::string(tls) == "1.3") {
    EXPECT_EQ(o.phase, Phase::first_read);
    EXPECT_EQ(o.exit_code, 56);
  }
}

const Refused refused[] = {
    {"client-expired", "certificate_expired"},
    {"client-untrusted-root", "unknown_ca"},
    {"client-wrong-eku", "unsupported_certificate"},
    {"client-revoked", "certificate_revoked"},
};

INSTANTIATE_TEST_SUITE_P(Captured, CurlRefusedByServer,
                         ::testing::Combine(::testing::ValuesIn(refused),
                                            ::testing::Values("1.2", "1.3")),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(
                               std::get<0>(param_info.param).name, std::get<1>(param_info.param));
                         });

TEST(CurlClassifier, ExitSixtyIsAlsoTheServersRefusal) {
  // Trap 12: in TLS 1.2 a server refusing curl's expired certificate makes curl exit 60, the code
  // of its own verification failure; the text ("verification failed", no "certificate problem")
  // and the alert it received tell them apart.
  const auto o = observe("client-expired", "1.2");
  EXPECT_EQ(o.exit_code, 60);
  EXPECT_EQ(o.outcome, Outcome::error);
  EXPECT_EQ(o.reason, "expired"); // what the certificate_expired it received means
}

TEST(CurlClassifier, MissingClientCertificate) {
  EXPECT_EQ(first_fatal_alert(observe("mtls-no-client-cert", "1.2"), false), "handshake_failure");
  const auto o = observe("mtls-no-client-cert", "1.3");
  EXPECT_EQ(first_fatal_alert(o, false), "certificate_required");
  EXPECT_EQ(o.reason, "no_client_cert");
}

TEST(CurlClassifier, CompletedCases) {
  for (const char* tls : {"1.2", "1.3"}) {
    for (const char* name : {"one-way", "mutual", "request-no-client-cert"}) {
      const auto o = observe(name, tls);
      EXPECT_EQ(o.outcome, Outcome::completed) << name << " " << tls << ": " << o.error_text;
      EXPECT_TRUE(o.alerts.empty()) << name << " " << tls << ": close notify is no failure";
    }
    EXPECT_EQ(observe("no-verify-control", tls, false).outcome, Outcome::completed);
  }
}

TEST(CurlClassifier, UnknownVerificationTextIsRejectedButUnmapped) {
  harness::ProcessResult r;
  r.err = "curl: (60) SSL certificate problem: a text curl 9 may print\n";
  r.exit_code = 60;
  const auto o = harness::classify_peer_output(
      testing_support::source_dir() / "harness/peers/curl.json", Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::rejected);
  EXPECT_EQ(o.reason, "unmapped");
}

TEST(CurlClassifier, NeedsFromServerNamesOnlyKnownCapabilities) {
  // The definition key that makes curl's cells against non-HTTP servers not_applicable is parsed
  // strictly: a typo is an error naming the file and the JSON pointer.
  testing_support::ScratchDir dir;
  std::string text =
      testing_support::read_text(testing_support::source_dir() / "harness/peers/curl.json");
  const std::string key = "\"needs_from_server\": [\"http\"]";
  ASSERT_NE(text.find(key), std::string::npos);
  text.replace(text.find(key), key.size(), "\"needs_from_server\": [\"htpp\"]");
  testing_support::write_text(dir / "curl.json", text);
  try {
    (void)harness::classify_peer_output(dir / "curl.json", Side::client, {});
    FAIL() << "a definition needing an unknown capability was accepted";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/needs_from_server/0"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("htpp"), std::string::npos) << e.what();
  }
}

} // namespace

// The catalog's defects (tests/data/defect-scenarios, captured by tests/data/capture-curl.sh
// against our endpoints, TLS 1.2 and 1.3): each side of curl that rejected the other's certificate
// or refused its own, and what its own words say.
namespace {

class CurlDefects : public ::testing::TestWithParam<testing_support::DefectCapture> {};

TEST_P(CurlDefects, ClassifiedFromItsOwnWords) {
  testing_support::expect_defect_classified("curl", GetParam());
}

const testing_support::DefectCapture curl_defects[] = {
    {"defect-server-ip-not-in-san", "1.2", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
    {"defect-server-ip-not-in-san", "1.3", harness::Side::client, harness::Outcome::rejected,
     "hostname_mismatch"},
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
    {"defect-server-weak-key-rsa1024", "1.2", harness::Side::client, harness::Outcome::rejected,
     "weak_key"},
    {"defect-server-weak-key-rsa1024", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_key"},
    // A key that does not match its certificate, presented by java (ours refuses to present it).
    {"defect-server-key-mismatch-vs-java", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-key-mismatch-vs-java", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
};

INSTANTIATE_TEST_SUITE_P(Captured, CurlDefects, ::testing::ValuesIn(curl_defects),
                         [](const auto& param_info) {
                           return testing_support::defect_case_name(param_info.param);
                         });

} // namespace
