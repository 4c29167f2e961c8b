// Our Node peer program over tls: its classification (harness/peers/node.json) fed with
// real outputs captured by tests/data/capture-node.sh.
#include <gtest/gtest.h>

#include "captured_output.hpp"

// The catalog's defects (tests/data/defect-scenarios, captured by tests/data/capture-node.sh
// against our endpoints, TLS 1.2 and 1.3): each side of our Node peer program over tls that
// rejected the other's certificate or refused its own, and what its own words say.
namespace {

class NodeDefects : public ::testing::TestWithParam<testing_support::DefectCapture> {};

TEST_P(NodeDefects, ClassifiedFromItsOwnWords) {
  testing_support::expect_defect_classified("node", GetParam());
}

const testing_support::DefectCapture node_defects[] = {
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
     "not_yet_valid"},
    {"defect-client-not-yet-valid", "1.3", harness::Side::server, harness::Outcome::rejected,
     "not_yet_valid"},
    {"defect-client-self-signed", "1.2", harness::Side::server, harness::Outcome::rejected,
     "self_signed"},
    {"defect-client-self-signed", "1.3", harness::Side::server, harness::Outcome::rejected,
     "self_signed"},
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
     "bad_purpose"},
    {"defect-server-issuer-not-ca", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_purpose"},
    {"defect-server-key-mismatch", "1.2", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-key-mismatch", "1.3", harness::Side::server, harness::Outcome::refused,
     "key_mismatch"},
    {"defect-server-md5-signature", "1.2", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-md5-signature", "1.2", harness::Side::server, harness::Outcome::refused,
     "weak_digest"},
    {"defect-server-md5-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-md5-signature", "1.3", harness::Side::server, harness::Outcome::refused,
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
    {"defect-server-sha1-signature", "1.2", harness::Side::server, harness::Outcome::refused,
     "weak_digest"},
    {"defect-server-sha1-signature", "1.3", harness::Side::client, harness::Outcome::rejected,
     "weak_digest"},
    {"defect-server-sha1-signature", "1.3", harness::Side::server, harness::Outcome::refused,
     "weak_digest"},
    {"defect-server-unknown-critical-extension", "1.2", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-unknown-critical-extension", "1.3", harness::Side::client,
     harness::Outcome::rejected, "unhandled_critical_extension"},
    {"defect-server-v1-issuer", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_purpose"},
    {"defect-server-v1-issuer", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_purpose"},
    // A key that does not match its certificate, presented by java (ours refuses to present it).
    {"defect-client-bad-signature-vs-java", "1.2", harness::Side::server,
     harness::Outcome::rejected, "bad_signature"},
    {"defect-client-bad-signature-vs-java", "1.3", harness::Side::server,
     harness::Outcome::rejected, "bad_signature"},
    {"defect-server-key-mismatch-vs-java", "1.2", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-server-key-mismatch-vs-java", "1.3", harness::Side::client, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-key-mismatch-vs-java", "1.2", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
    {"defect-client-key-mismatch-vs-java", "1.3", harness::Side::server, harness::Outcome::rejected,
     "bad_signature"},
};

INSTANTIATE_TEST_SUITE_P(Captured, NodeDefects, ::testing::ValuesIn(node_defects),
                         [](const auto& param_info) {
                           return testing_support::defect_case_name(param_info.param);
                         });

} // namespace
