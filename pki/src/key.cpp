// Key generation and encoding over EVP_PKEY, plus the on-disk key cache.
//
// Speed, OpenSSL 3.0: a provider-native EVP_PKEY goes through the encoder/decoder machinery in
// X509_set_pubkey (which encodes the SubjectPublicKeyInfo and decodes it again), in PKCS#8
// encoding and in PEM decoding, and setting up those chains costs 1-4 million instructions a call:
// twenty times an ECDSA signature. RSA and EC keys are therefore held as legacy-backed EVP_PKEYs
// (an RSA or EC_KEY inside), which those functions encode through the key's ASN.1 method with the
// same DER; signing exports them to the provider once per key. That API is deprecated in 3.0,
// hence the suppression, which stays in this file.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "pki/key.hpp"

#include <array>

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/error.hpp"
#include "common/files.hpp"
#include "pki/ossl.hpp"

namespace pki {
using common::private_mode;
using common::read_file;
using common::write_file_atomic;
namespace {

struct KeyTypeInfo {
  KeyType type;
  std::string_view name;
  std::string_view description;
};
constexpr std::array key_types{
    KeyTypeInfo{KeyType::rsa1024, "rsa-1024", "RSA 1024"},
    KeyTypeInfo{KeyType::rsa2048, "rsa-2048", "RSA 2048"},
    KeyTypeInfo{KeyType::rsa3072, "rsa-3072", "RSA 3072"},
    KeyTypeInfo{KeyType::rsa4096, "rsa-4096", "RSA 4096"},
    KeyTypeInfo{KeyType::p256, "ec-p256", "ECDSA P-256"},
    KeyTypeInfo{KeyType::p384, "ec-p384", "ECDSA P-384"},
    KeyTypeInfo{KeyType::p521, "ec-p521", "ECDSA P-521"},
    KeyTypeInfo{KeyType::ed25519, "ed25519", "Ed25519"},
    KeyTypeInfo{KeyType::ed448, "ed448", "Ed448"},
};

const KeyTypeInfo& info(KeyType type) {
  for (const auto& i : key_types)
    if (i.type == type)
      return i;
  throw tlsmatrix::Error(tlsmatrix::Errc::internal, "unknown key type");
}

KeyType type_of(EVP_PKEY& pkey) {
  switch (EVP_PKEY_get_base_id(&pkey)) {
  case EVP_PKEY_RSA:
    switch (EVP_PKEY_get_bits(&pkey)) {
    case 1024:
      return KeyType::rsa1024;
    case 2048:
      return KeyType::rsa2048;
    case 3072:
      return KeyType::rsa3072;
    case 4096:
      return KeyType::rsa4096;
    default:
      return KeyType::invalid;
    }
  case EVP_PKEY_EC: {
    if (const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(&pkey)) { // legacy-backed
      switch (EC_GROUP_get_curve_name(EC_KEY_get0_group(ec))) {
      case NID_X9_62_prime256v1:
        return KeyType::p256;
      case NID_secp384r1:
        return KeyType::p384;
      case NID_secp521r1:
        return KeyType::p521;
      default:
        return KeyType::invalid;
      }
    }
    char group[64] = {};
    size_t len = 0;
    EVP_PKEY_get_utf8_string_param(&pkey, "group", group, sizeof group, &len);
    const std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256")
      return KeyType::p256;
    if (g == "secp384r1" || g == "P-384")
      return KeyType::p384;
    if (g == "secp521r1" || g == "P-521")
      return KeyType::p521;
    return KeyType::invalid;
  }
  case EVP_PKEY_ED25519:
    return KeyType::ed25519;
  case EVP_PKEY_ED448:
    return KeyType::ed448;
  default:
    return KeyType::invalid;
  }
}

std::shared_ptr<EVP_PKEY> share(EVP_PKEY* p) {
  return {p, &EVP_PKEY_free};
}

// The same RSA or EC key in a legacy-backed EVP_PKEY (see the top of the file); other key types
// are returned as they are.
ossl::PkeyPtr legacy_backed(ossl::PkeyPtr pkey) {
  ossl::PkeyPtr legacy;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
  case EVP_PKEY_RSA:
    if (RSA* rsa = EVP_PKEY_get1_RSA(pkey.get())) {
      legacy.reset(EVP_PKEY_new());
      if (!legacy || EVP_PKEY_assign_RSA(legacy.get(), rsa) != 1) { // owns rsa on success
        RSA_free(rsa);
        legacy.reset();
      }
    }
    break;
  case EVP_PKEY_EC:
    if (EC_KEY* ec = EVP_PKEY_get1_EC_KEY(pkey.get())) {
      legacy.reset(EVP_PKEY_new());
      if (!legacy || EVP_PKEY_assign_EC_KEY(legacy.get(), ec) != 1) { // owns ec on success
        EC_KEY_free(ec);
        legacy.reset();
      }
    }
    break;
  default:
    return pkey;
  }
  if (!legacy)
    ossl::throw_last_error("converting a key");
  return legacy;
}

// A PrivateKeyInfo decoded without OpenSSL 3's decoders: RSA and named-curve EC keys through the
// legacy parsers, Ed25519/Ed448 from their raw bytes. Null for anything else (or malformed).
ossl::PkeyPtr from_pkcs8(const PKCS8_PRIV_KEY_INFO& p8) {
  const ASN1_OBJECT* algorithm = nullptr;
  const unsigned char* der = nullptr;
  int len = 0;
  const X509_ALGOR* algor = nullptr;
  if (PKCS8_pkey_get0(&algorithm, &der, &len, &algor, &p8) != 1)
    return {};
  ossl::PkeyPtr pkey;
  switch (const int nid = OBJ_obj2nid(algorithm)) {
  case NID_rsaEncryption:
    if (RSA* rsa = d2i_RSAPrivateKey(nullptr, &der, len)) {
      pkey.reset(EVP_PKEY_new());
      if (!pkey || EVP_PKEY_assign_RSA(pkey.get(), rsa) != 1) {
        RSA_free(rsa);
        return {};
      }
    }
    break;
  case NID_X9_62_id_ecPublicKey: {
    // The curve is in the AlgorithmIdentifier; the ECPrivateKey itself carries no parameters.
    int ptype = 0;
    const void* pval = nullptr;
    X509_ALGOR_get0(nullptr, &ptype, &pval, algor);
    if (ptype != V_ASN1_OBJECT)
      return {};
    EC_KEY* ec = EC_KEY_new_by_curve_name(OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval)));
    if (ec == nullptr)
      return {};
    if (d2i_ECPrivateKey(&ec, &der, len) == nullptr) { // keeps ec on failure
      EC_KEY_free(ec);
      return {};
    }
    pkey.reset(EVP_PKEY_new());
    if (!pkey || EVP_PKEY_assign_EC_KEY(pkey.get(), ec) != 1) {
      EC_KEY_free(ec);
      return {};
    }
    break;
  }
  case NID_ED25519:
  case NID_ED448: {
    // RFC 8410 §7: privateKey holds a CurvePrivateKey, an OCTET STRING of the raw key.
    ossl::Asn1OctetStringPtr raw(d2i_ASN1_OCTET_STRING(nullptr, &der, len));
    if (!raw)
      return {};
    pkey.reset(
        EVP_PKEY_new_raw_private_key(nid, nullptr, ASN1_STRING_get0_data(raw.get()),
                                     static_cast<std::size_t>(ASN1_STRING_length(raw.get()))));
    break;
  }
  default:
    break;
  }
  return pkey;
}

} // namespace

std::optional<KeyType> parse_key_type(std::string_view name, bool allow_weak) {
  for (const auto& i : key_types)
    if (i.name == name && (allow_weak || i.type != KeyType::rsa1024))
      return i.type;
  return std::nullopt;
}

std::string_view key_type_name(KeyType type) {
  return info(type).name;
}

bool is_rsa(KeyType type) {
  return type == KeyType::rsa1024 || type == KeyType::rsa2048 || type == KeyType::rsa3072 ||
         type == KeyType::rsa4096;
}

std::string key_type_names() {
  std::string out;
  for (const auto& i : key_types) {
    if (i.type == KeyType::rsa1024)
      continue;
    if (!out.empty())
      out += ", ";
    out += i.name;
  }
  return out;
}

PrivateKey PrivateKey::generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
  case KeyType::rsa1024:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
    break;
  case KeyType::rsa2048:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    break;
  case KeyType::rsa3072:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
    break;
  case KeyType::rsa4096:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096});
    break;
  case KeyType::p256:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    break;
  case KeyType::p384:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    break;
  case KeyType::p521:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
    break;
  case KeyType::ed25519:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    break;
  case KeyType::ed448:
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448");
    break;
  case KeyType::invalid:
    break;
  }
  if (pkey == nullptr)
    ossl::throw_last_error("generating a key");
  return PrivateKey(share(legacy_backed(ossl::PkeyPtr(pkey)).release()), type);
}

PrivateKey PrivateKey::from_pem(std::string_view pem, std::string_view origin) {
  // PKCS#8, which is what we write, is plain ASN.1; other PEM forms go through the decoders.
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::PkeyPtr pkey;
  if (ossl::Ptr<PKCS8_PRIV_KEY_INFO, &PKCS8_PRIV_KEY_INFO_free> p8{
          PEM_read_bio_PKCS8_PRIV_KEY_INFO(bio.get(), nullptr, nullptr, nullptr)})
    pkey = from_pkcs8(*p8);
  if (!pkey) {
    ossl::clear_errors();
    bio.reset(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!pkey) {
      ossl::clear_errors();
      throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                             std::string(origin) + ": not a PEM private key");
    }
    pkey = legacy_backed(std::move(pkey));
  }
  const KeyType type = type_of(*pkey);
  if (type == KeyType::invalid)
    throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                           std::string(origin) + ": unsupported key type or size");
  return PrivateKey(share(pkey.release()), type);
}

std::string PrivateKey::pkcs8_pem() const {
  // The same PEM as PEM_write_bio_PKCS8PrivateKey, without its encoder set-up (legacy-backed keys
  // encode through their ASN.1 method).
  ossl::Ptr<PKCS8_PRIV_KEY_INFO, &PKCS8_PRIV_KEY_INFO_free> p8(EVP_PKEY2PKCS8(pkey_.get()));
  if (!p8)
    ossl::throw_last_error("encoding a private key");
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ossl::check(PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio.get(), p8.get()), "encoding a private key");
  return ossl::bio_to_string(*bio);
}

std::string PrivateKey::public_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  ossl::check(PEM_write_bio_PUBKEY(bio.get(), pkey_.get()), "encoding a public key");
  return ossl::bio_to_string(*bio);
}

std::vector<unsigned char> PrivateKey::public_der() const {
  const int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0)
    ossl::throw_last_error("encoding a public key");
  std::vector<unsigned char> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_PUBKEY(pkey_.get(), &p);
  return der;
}

std::string PrivateKey::description() const {
  return std::string(info(type_).description);
}

KeyCache::KeyCache(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    throw tlsmatrix::Error(tlsmatrix::Errc::io,
                           "cannot create key cache " + dir_.string() + ": " + ec.message());
}

PrivateKey KeyCache::get_or_generate(std::string_view seed, std::string_view entity, KeyType type,
                                     bool* was_cached) {
  // The file name commits to seed, entity and type; the seed is hashed so it is not revealed.
  std::string material = std::string(seed) + '\0' + std::string(entity);
  unsigned char digest[32];
  unsigned int len = 0;
  ossl::check(EVP_Digest(material.data(), material.size(), digest, &len, EVP_sha256(), nullptr),
              "hashing a key-cache name");
  std::string hex;
  for (int i = 0; i < 8; ++i) {
    static constexpr char digits[] = "0123456789abcdef";
    hex += digits[digest[i] >> 4];
    hex += digits[digest[i] & 15];
  }
  std::string safe_entity;
  for (char c : entity)
    safe_entity += (std::isalnum(static_cast<unsigned char>(c)) || c == '-') ? c : '_';
  const auto path =
      dir_ / (safe_entity + "." + std::string(key_type_name(type)) + "." + hex + ".pem");
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto key = PrivateKey::from_pem(read_file(path), path.string());
    if (key.type() == type) {
      if (was_cached)
        *was_cached = true;
      return key;
    }
  }
  auto key = PrivateKey::generate(type);
  write_file_atomic(path, key.pkcs8_pem(), private_mode);
  if (was_cached)
    *was_cached = false;
  return key;
}

} // namespace pki
