// Canonical reasons: one vocabulary for why a side refused, whatever stack said it.
#pragma once

#include <string_view>

namespace harness {

// Canonical reasons (the strings scenarios' expect.reasons use):
//   expired, not_yet_valid, unknown_ca, self_signed, hostname_mismatch, bad_purpose, invalid_ca,
//   path_length, bad_signature, weak_key, weak_digest, unhandled_critical_extension, revoked,
//   name_constraints, crl_problem, no_client_cert, bad_certificate, handshake_failure,
//   protocol_version, key_mismatch, unmapped.
// An X509_V_ERR_* code as the side that verified reports it; "unmapped" for codes we do not know.
[[nodiscard]] std::string_view reason_for_verify_error(int x509_error);

// What a received fatal alert says about why the peer refused ("unmapped" if it says nothing
// specific). Used for the side that did not judge.
[[nodiscard]] std::string_view reason_for_alert(int description);

} // namespace harness
