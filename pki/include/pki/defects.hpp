// The defect catalog: each defect is one precise deviation from a good certificate, with the
// verification result an RFC 5280 verifier (and OpenSSL in particular) is expected to report.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/spec.hpp"

namespace pki {

// Extra options a verifier needs for the defect to show (e.g. a hostname, CRL checking).
struct VerifyOptions {
  bool hostname = false; // verify against the spec's server_name
  bool crl_check = false;
  std::optional<int> auth_level;
};

// Where in a chain a defect takes effect.
enum class DefectScope {
  self,          // only when this certificate is the end entity (hostname, EKU, …)
  chain,         // wherever this certificate stands in the chain (expiry, signature, …)
  descendants,   // only on certificates this CA issues (issuer_not_ca, name constraints, …)
  grandchildren, // two levels below (pathlen_exceeded: the sub-CA's own leaves)
  key_file,      // does not affect verification at all (key_mismatch)
};

struct DefectInfo {
  std::string_view name;
  std::string_view summary;
  std::vector<Profile> applies_to;
  DefectScope scope;
  std::string_view reason; // canonical reason (expired, unknown_ca, …)
  int openssl_error;       // X509_V_ERR_* OpenSSL 3.0 reports, 0 if it accepts
  std::string_view openssl_error_name;
  VerifyOptions verify;
  std::string_view note; // where OpenSSL and RFC 5280 part ways, and why
};

[[nodiscard]] const std::vector<DefectInfo>& defect_catalog();
[[nodiscard]] const DefectInfo* find_defect(std::string_view name);

// Applies one defect to a resolved plan (called by the spec parser after overrides).
void apply_defect(const DefectInfo& defect, EntityPlan& plan, const Spec& spec);

// The verification an entity's certificate is expected to get with the PKI's trusted roots.
struct ExpectedVerification {
  bool ok = true;
  std::string reason; // canonical; empty when ok
  int openssl_error = 0;
  std::string openssl_error_name = "X509_V_OK";
  int depth = 0;       // chain depth OpenSSL reports the error at
  std::string purpose; // "sslserver", "sslclient" or "" (CAs)
  VerifyOptions verify;
  std::string caused_by_entity;
  std::string caused_by_defect;
  std::string note;
};

[[nodiscard]] ExpectedVerification expected_verification(const Spec& spec,
                                                         const EntityPlan& entity);

} // namespace pki
