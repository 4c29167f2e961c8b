// Canonical reasons: one vocabulary for why a side refused, whatever stack said it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace harness {

// Every canonical reason (the strings scenarios' expect.reasons use and results.json reports):
//  - what a verifier found wrong with a certificate: expired, not_yet_valid, unknown_ca,
//    self_signed, hostname_mismatch, bad_purpose, invalid_ca, path_length, bad_signature,
//    weak_key, weak_digest, unhandled_critical_extension, revoked, name_constraints,
//    crl_problem, leaf_is_ca, no_client_cert;
//  - what only a fatal alert said (the stack printed nothing more specific): bad_certificate,
//    certificate_unknown, unsupported_certificate, handshake_failure, protocol_version,
//    illegal_parameter, decode_error, decrypt_error, access_denied, insufficient_security,
//    internal_error, unexpected_message, …: the alert's own RFC 8446 name;
//  - why a side refused its own configuration at setup (outcome refused): key_mismatch,
//    unsupported_key, unsupported_option (and weak_key, weak_digest);
//  - how a connection ended without an alert: peer_closed, reset;
//  - unmapped: neither the side's output nor the wire explains it (an adapter's defect).
[[nodiscard]] const std::set<std::string>& canonical_reasons();
// The reasons a side may give for refusing its own configuration at setup.
[[nodiscard]] const std::set<std::string>& refusal_reasons();

// An X509_V_ERR_* code as the side that verified reports it; "unmapped" for codes we do not know.
[[nodiscard]] std::string_view reason_for_verify_error(int x509_error);

// A stack's own meaning of the alerts it sends, where it is narrower than the alert's name
// (OpenSSL sends unsupported_certificate for a wrong extended key usage): alert name -> reason.
// It comes from the peer's definition ("alert_reasons"), as data.
using AlertReasons = std::map<std::string, std::string, std::less<>>;

// What a fatal alert says about why its sender refused: the sender's own mapping if it has one for
// this alert, else the alert's general meaning (its RFC name for the generic ones). "unmapped"
// only for an alert outside RFC 8446.
[[nodiscard]] std::string reason_for_alert(int description, const AlertReasons* sender = nullptr);

// Where a side's reason came from (results.json "reason_source").
enum class ReasonSource {
  none,         // no reason (completed), or nothing explained it (reason "unmapped")
  output,       // a line of the side's own output, matched by its classifier
  verify_error, // the X509 verify error the side reported
  alert,        // the fatal alert this side sent (the wire or its own record)
  peer_alert,   // the fatal alert this side received (it did not judge; the peer did)
  transport,    // how the connection ended: closed or reset without an alert
};
[[nodiscard]] std::string_view to_string(ReasonSource s);

} // namespace harness
