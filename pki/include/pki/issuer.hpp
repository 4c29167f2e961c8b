// Issues a whole PKI from a resolved spec: keys (in parallel), certificates in issuer order, CRLs.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/spec.hpp"

namespace pki {

struct IssueOptions {
  std::optional<std::string> seed;                // reproducible keys, serials and signatures
  std::optional<std::filesystem::path> key_cache; // reuse keys across runs
  unsigned jobs = 0;                              // worker threads; 0 = one per core
};

struct IssuedEntity {
  const EntityPlan* plan = nullptr;
  PrivateKey key;      // the certified key
  PrivateKey key_file; // what <name>.key.pem holds: `key`, or another one for key_mismatch
  Certificate cert;
  std::vector<Certificate> intermediates; // issuer first, up to (excluding) the root
  std::optional<Certificate> root;        // the chain's self-signed top, if not the entity itself
};

struct IssueStats {
  int keys_generated = 0;
  int keys_from_cache = 0;
  double key_seconds = 0;
  double cert_seconds = 0;
};

struct IssuedPki {
  Spec spec;
  std::optional<std::string> seed;
  std::vector<IssuedEntity> entities; // in spec order (issuers first)
  std::map<std::string, Crl> crls;    // by CA name
  IssueStats stats;

  [[nodiscard]] const IssuedEntity& at(std::string_view name) const;
};

[[nodiscard]] IssuedPki issue_pki(Spec spec, const IssueOptions& options);

} // namespace pki
