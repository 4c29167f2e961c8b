// The manifest.json of a PKI directory (written by writer.cpp) as the rest of tlsmatrix reads it:
// one reader, typed, for the harness's view of a PKI, `pki show`, snapshots, fingerprints and the
// freshness of the default PKI.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pki {

// What an independent RFC 5280 verifier is expected to say about an entity
// (/entities/NAME/expected_verification).
struct ManifestVerification {
  std::string result;                // "ok" or "error"
  std::optional<std::string> reason; // canonical reason; none when ok
  int openssl_error = 0;             // X509_V_ERR_*
  std::string openssl_error_name;
  int openssl_error_depth = 0;
  // A certificate broken by its chain rather than by itself: where the defect is.
  std::optional<std::string> caused_by_entity;
  std::optional<std::string> caused_by_defect;
  std::string note; // "" when none
};

struct ManifestEntity {
  std::string description;           // "" when none
  std::string profile;               // root, intermediate, server, client
  std::optional<std::string> issuer; // none: self-signed
  std::vector<std::string> chain;    // the entity, then its issuers up to the root
  std::optional<bool> trusted;       // roots only
  std::string subject;
  std::string sha256_fingerprint; // of the certificate; "" when the manifest has none
  std::string key_type;
  std::vector<std::string> san;
  std::vector<std::string> defects;
  // Its files by kind (cert, key, chain, fullchain, der, p12, crl): a file name in the PKI
  // directory, or none where the manifest says null (no PKCS#12 for a mismatched key).
  std::map<std::string, std::optional<std::string>> files;
  std::optional<ManifestVerification> expected_verification;

  // The file of that kind, or "" when the manifest has none.
  [[nodiscard]] std::string file(std::string_view kind) const;
};

struct Manifest {
  std::filesystem::path file; // where it was read from
  std::string spec;           // what it was issued from ("<built-in default spec>" or a path)
  std::string now;            // the issuing "now" (RFC 3339); "" when the manifest has none
  std::string server_name;
  std::string p12_password = "tlsmatrix";
  // The directory's own files (trust_anchors, crls), as for entities.
  std::map<std::string, std::optional<std::string>> files;
  std::map<std::string, ManifestEntity> entities; // by name
  std::vector<std::string> entity_order;          // as the file lists them (issuers first)
  // The SHA-256 of every file, by name; empty for a manifest older than it.
  std::map<std::string, std::string> file_sha256;
};

// Parses manifest text; `file` names it in errors. Throws tlsmatrix::Error(Errc::invalid_input):
// "FILE: not valid JSON: …", or "FILE: not a tlsmatrix manifest: POINTER: …" when it is not
// version 1, lacks what every reader needs (per entity its profile, key type, cert and key files),
// holds a value of the wrong type, or names a file outside its directory.
[[nodiscard]] Manifest parse_manifest(std::string_view text, const std::filesystem::path& file);

// Reads DIR/manifest.json. Throws tlsmatrix::Error: Errc::invalid_input "no PKI at DIR: …
// does not exist (run `tlsmatrix pki generate --out DIR`)" when there is none, and as
// parse_manifest; Errc::io when it cannot be read.
[[nodiscard]] Manifest read_manifest(const std::filesystem::path& dir);

} // namespace pki
