// Names of the observation vocabulary (also the strings of results.json) and canonical reasons.
#include "harness/observation.hpp"

#include <string>

#include "harness/reasons.hpp"
#include "harness/tls_config.hpp"

namespace harness {

std::string_view to_string(TlsVersion v) {
  switch (v) {
  case TlsVersion::tls12:
    return "1.2";
  case TlsVersion::tls13:
    return "1.3";
  case TlsVersion::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Side s) {
  switch (s) {
  case Side::client:
    return "client";
  case Side::server:
    return "server";
  case Side::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Outcome o) {
  switch (o) {
  case Outcome::completed:
    return "completed";
  case Outcome::rejected:
    return "rejected";
  case Outcome::error:
    return "error";
  case Outcome::timeout:
    return "timeout";
  case Outcome::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(Phase p) {
  switch (p) {
  case Phase::tcp:
    return "tcp";
  case Phase::handshake:
    return "handshake";
  case Phase::first_read:
    return "first_read";
  case Phase::application_data:
    return "application_data";
  case Phase::done:
    return "done";
  case Phase::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(ClientAuth a) {
  switch (a) {
  case ClientAuth::none:
    return "none";
  case ClientAuth::request:
    return "request";
  case ClientAuth::require:
    return "require";
  case ClientAuth::invalid:
    break;
  }
  return "invalid";
}

std::string alert_name(int d) {
  switch (d) {
  case 0:
    return "close_notify";
  case 10:
    return "unexpected_message";
  case 20:
    return "bad_record_mac";
  case 22:
    return "record_overflow";
  case 40:
    return "handshake_failure";
  case 42:
    return "bad_certificate";
  case 43:
    return "unsupported_certificate";
  case 44:
    return "certificate_revoked";
  case 45:
    return "certificate_expired";
  case 46:
    return "certificate_unknown";
  case 47:
    return "illegal_parameter";
  case 48:
    return "unknown_ca";
  case 49:
    return "access_denied";
  case 50:
    return "decode_error";
  case 51:
    return "decrypt_error";
  case 70:
    return "protocol_version";
  case 71:
    return "insufficient_security";
  case 80:
    return "internal_error";
  case 86:
    return "inappropriate_fallback";
  case 90:
    return "user_canceled";
  case 109:
    return "missing_extension";
  case 110:
    return "unsupported_extension";
  case 112:
    return "unrecognized_name";
  case 113:
    return "bad_certificate_status_response";
  case 115:
    return "unknown_psk_identity";
  case 116:
    return "certificate_required";
  case 120:
    return "no_application_protocol";
  default:
    return "alert_" + std::to_string(d);
  }
}

std::string AlertEvent::name() const {
  return alert_name(description);
}

std::string_view reason_for_verify_error(int e) {
  switch (e) {
  case 9:
    return "not_yet_valid"; // X509_V_ERR_CERT_NOT_YET_VALID
  case 10:
    return "expired"; // X509_V_ERR_CERT_HAS_EXPIRED
  case 2:             // UNABLE_TO_GET_ISSUER_CERT
  case 19:            // SELF_SIGNED_CERT_IN_CHAIN
  case 20:            // UNABLE_TO_GET_ISSUER_CERT_LOCALLY
  case 21:
    return "unknown_ca"; // UNABLE_TO_VERIFY_LEAF_SIGNATURE
  case 18:
    return "self_signed"; // DEPTH_ZERO_SELF_SIGNED_CERT
  case 62:                // HOSTNAME_MISMATCH
  case 63:                // EMAIL_MISMATCH
  case 64:
    return "hostname_mismatch"; // IP_ADDRESS_MISMATCH
  case 26:
    return "bad_purpose"; // INVALID_PURPOSE
  case 24:                // INVALID_CA (pre-3.0 number)
  case 79:                // INVALID_CA
  case 32:
    return "invalid_ca"; // KEYUSAGE_NO_CERTSIGN
  case 25:
    return "path_length"; // PATH_LENGTH_EXCEEDED
  case 4:                 // UNABLE_TO_DECRYPT_CERT_SIGNATURE
  case 7:
    return "bad_signature"; // CERT_SIGNATURE_FAILURE
  case 66:                  // EE_KEY_TOO_SMALL
  case 67:
    return "weak_key"; // CA_KEY_TOO_SMALL
  case 68:
    return "weak_digest"; // CA_MD_TOO_WEAK
  case 34:
    return "unhandled_critical_extension";
  case 23:
    return "revoked"; // CERT_REVOKED
  case 47:            // PERMITTED_VIOLATION
  case 48:
    return "name_constraints"; // EXCLUDED_VIOLATION
  case 3:                      // UNABLE_TO_GET_CRL
  case 8:                      // CRL_SIGNATURE_FAILURE
  case 11:                     // CRL_NOT_YET_VALID
  case 12:
    return "crl_problem"; // CRL_HAS_EXPIRED
  default:
    return "unmapped";
  }
}

std::string_view reason_for_alert(int d) {
  switch (d) {
  case 42:
    return "bad_certificate";
  case 43:
    return "bad_purpose"; // unsupported_certificate: OpenSSL's answer to a wrong EKU
  case 44:
    return "revoked";
  case 45:
    return "expired"; // also not-yet-valid in OpenSSL (certificate_expired)
  case 48:
    return "unknown_ca";
  case 116:
    return "no_client_cert"; // certificate_required (TLS 1.3)
  case 40:
    return "handshake_failure"; // TLS 1.2's answer to a missing client certificate
  case 70:
    return "protocol_version";
  case 51:
    return "bad_signature"; // decrypt_error
  default:
    return "unmapped";
  }
}

} // namespace harness
