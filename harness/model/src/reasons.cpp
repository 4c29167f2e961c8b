// Canonical reasons from what a stack reports: X509_V_ERR_* codes and received alerts.
#include "harness/model/reasons.hpp"

#include "harness/wire/trace.hpp"

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

std::string reason_for_alert(int d, const AlertReasons* sender) {
  const std::string name = wire::alert_name(d);
  if (sender != nullptr)
    if (auto it = sender->find(name); it != sender->end())
      return it->second;
  switch (d) {
  case 44:
    return "revoked"; // certificate_revoked
  case 45:
    return "expired"; // certificate_expired
  case 48:
    return "unknown_ca";
  case 116:
    return "no_client_cert"; // certificate_required (TLS 1.3)
  case 51:
    return "bad_signature"; // decrypt_error: a signature that did not verify
  default:
    // The alert's own name: generic alerts are reported as what they are, never guessed into a
    // certificate reason.
    return name.starts_with("alert_") ? "unmapped" : name;
  }
}

const std::set<std::string>& canonical_reasons() {
  static const std::set<std::string> reasons = [] {
    std::set<std::string> r = {"expired",           "not_yet_valid",
                               "unknown_ca",        "self_signed",
                               "hostname_mismatch", "bad_purpose",
                               "invalid_ca",        "path_length",
                               "bad_signature",     "weak_key",
                               "weak_digest",       "unhandled_critical_extension",
                               "revoked",           "name_constraints",
                               "crl_problem",       "leaf_is_ca",
                               "no_client_cert",    "key_mismatch",
                               "unsupported_key",   "unsupported_option",
                               "peer_closed",       "reset"};
    for (int d = 1; d < 256; ++d)
      if (const std::string why = reason_for_alert(d); why != "unmapped")
        r.insert(why);
    r.erase("close_notify");
    r.erase("user_canceled");
    return r;
  }();
  return reasons;
}

const std::set<std::string>& refusal_reasons() {
  static const std::set<std::string> reasons = {"key_mismatch", "weak_digest", "weak_key",
                                                "unsupported_key", "unsupported_option"};
  return reasons;
}

std::string_view to_string(ReasonSource s) {
  switch (s) {
  case ReasonSource::output:
    return "output";
  case ReasonSource::verify_error:
    return "verify_error";
  case ReasonSource::alert:
    return "alert";
  case ReasonSource::peer_alert:
    return "peer_alert";
  case ReasonSource::transport:
    return "transport";
  case ReasonSource::none:
    break;
  }
  return "none";
}

} // namespace harness
