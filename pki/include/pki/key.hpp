// Private keys as value types: generation (optionally deterministic), PEM/DER encoding, a disk
// cache.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

namespace pki {

enum class KeyType {
  invalid,
  rsa1024,
  rsa2048,
  rsa3072,
  rsa4096,
  p256,
  p384,
  p521,
  ed25519,
  ed448
};

// "rsa-2048", "ec-p256", "ed25519", … (rsa-1024 is accepted only where `allow_weak` is set).
[[nodiscard]] std::optional<KeyType> parse_key_type(std::string_view name, bool allow_weak = false);
[[nodiscard]] std::string_view key_type_name(KeyType type);
[[nodiscard]] bool is_rsa(KeyType type);
// The names accepted by parse_key_type (without rsa-1024), for messages and --help.
[[nodiscard]] std::string key_type_names();

class PrivateKey {
public:
  // Fresh key; draws from the thread's DeterministicRandom if one is active.
  [[nodiscard]] static PrivateKey generate(KeyType type);
  // PKCS#8 or traditional PEM. Throws Errc::invalid_input when it is not a key.
  [[nodiscard]] static PrivateKey from_pem(std::string_view pem, std::string_view origin);

  [[nodiscard]] KeyType type() const { return type_; }
  [[nodiscard]] EVP_PKEY& get() const { return *pkey_; }
  [[nodiscard]] std::string pkcs8_pem() const;
  [[nodiscard]] std::string public_pem() const;
  [[nodiscard]] std::vector<unsigned char> public_der() const; // SubjectPublicKeyInfo
  [[nodiscard]] std::string description() const;               // "ECDSA P-256", "RSA 2048"

private:
  PrivateKey(std::shared_ptr<EVP_PKEY> pkey, KeyType type) : pkey_(std::move(pkey)), type_(type) {}
  std::shared_ptr<EVP_PKEY> pkey_;
  KeyType type_ = KeyType::invalid;
};

// Keys on disk by (seed, entity, key type): a warm cache makes RSA PKIs as fast as EC ones.
class KeyCache {
public:
  explicit KeyCache(std::filesystem::path dir);
  // The cached key, or generate() one and store it (atomically, mode 0600).
  [[nodiscard]] PrivateKey get_or_generate(std::string_view seed, std::string_view entity,
                                           KeyType type, bool* was_cached = nullptr);

private:
  std::filesystem::path dir_;
};

} // namespace pki
