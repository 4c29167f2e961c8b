// Canonical reasons from what a stack reports: X509_V_ERR_* codes and received alerts.
#include "harness/model/reasons.hpp"

namespace harness {

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
