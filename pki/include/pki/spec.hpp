// The PKI spec (versioned JSON) and its resolution into an ordered list of entity plans.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pki/certificate.hpp"
#include "pki/key.hpp"
#include "pki/time.hpp"

namespace pki {

enum class Profile { invalid, root, intermediate, server, client };
[[nodiscard]] std::string_view profile_name(Profile p);
[[nodiscard]] inline bool is_ca(Profile p) {
  return p == Profile::root || p == Profile::intermediate;
}

struct CrlPlan {
  TimePoint this_update{};
  TimePoint next_update{};
  std::uint64_t number = 1;
  std::string digest = "sha256";
};

struct Revocation {
  TimePoint date{};
  std::string reason = "keyCompromise";
};

// One entity after profile defaults, derivation, overrides and defects are applied.
struct EntityPlan {
  std::string name;
  std::string pointer; // JSON pointer of the entity in the spec, for messages
  std::string description;
  Profile profile = Profile::invalid;
  std::optional<std::string> issuer; // nullopt: self-signed
  KeyType key_type = KeyType::invalid;
  // The entity whose key this one reuses (a derived leaf keeps its twin's key), if any.
  std::optional<std::string> key_from;
  bool trusted = false; // roots only: part of the PKI's trust anchors
  CertificateSettings cert;
  bool serial_given = false;
  std::vector<std::string> defects;
  std::optional<Revocation> revocation; // set for "revoked"
  std::optional<CrlPlan> crl;           // CAs
  bool mismatched_key = false;          // key_mismatch: the key file holds another key
};

struct Spec {
  std::string origin; // file name or "<built-in default spec>"
  TimePoint now{};
  std::string p12_password = "tlsmatrix";
  std::string server_name = "localhost"; // the name server certificates are verified against
  std::vector<EntityPlan> entities;      // issuers before the entities they issue

  [[nodiscard]] const EntityPlan* find(std::string_view name) const;
  [[nodiscard]] const EntityPlan& at(std::string_view name) const;
  // The entity, its issuer, …, up to the root.
  [[nodiscard]] std::vector<const EntityPlan*> chain_of(std::string_view name) const;
};

// Parses and resolves a spec. Throws Error(Errc::invalid_input) naming `origin` and a JSON pointer.
[[nodiscard]] Spec parse_spec(std::string_view json_text, std::string_view origin, TimePoint now);
[[nodiscard]] Spec load_spec(const std::filesystem::path& path, TimePoint now);

// The built-in default spec (also shipped as scenarios/pki/default.json).
[[nodiscard]] std::string_view default_spec_json();
[[nodiscard]] Spec default_spec(TimePoint now);

} // namespace pki
