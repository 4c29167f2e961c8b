// TLS record protection for the wire decoder: the TLS 1.3 key schedule (HKDF), the TLS 1.2 key
// block (PRF), and AEAD record opening and sealing on OpenSSL EVP.
#include "harness/wire/tls_decrypt.hpp"

#include <algorithm>
#include <array>
#include <limits>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "common/error.hpp"
#include "pki/ossl.hpp"

namespace harness::wire {

namespace {

using KdfPtr = pki::ossl::Ptr<EVP_KDF, &EVP_KDF_free>;
using KdfCtxPtr = pki::ossl::Ptr<EVP_KDF_CTX, &EVP_KDF_CTX_free>;
using CipherCtxPtr = pki::ossl::Ptr<EVP_CIPHER_CTX, &EVP_CIPHER_CTX_free>;

constexpr std::size_t tag_length = 16;        // every AEAD here has a 16-byte tag
constexpr std::size_t nonce_length = 12;      // and a 12-byte nonce
constexpr std::size_t gcm_explicit_nonce = 8; // TLS 1.2 AES-GCM, RFC 5288 §3
constexpr std::size_t header_length = 5;
constexpr std::uint8_t tls13_outer_type = 23; // application_data, RFC 8446 §5.2

std::string_view digest_name(Hash h) {
  return h == Hash::sha384 ? "SHA384" : "SHA256";
}
std::size_t hash_length(Hash h) {
  return h == Hash::sha384 ? 48 : 32;
}
std::size_t key_length(Aead a) {
  return a == Aead::aes_128_gcm ? 16 : 32;
}

using CipherPtr = pki::ossl::Ptr<EVP_CIPHER, &EVP_CIPHER_free>;

// Explicit fetches, once per process (here and in derive()): an implicit fetch on every record
// or derivation costs more than the small operation itself (crypto(7), "Performance").
const EVP_CIPHER* cipher(Aead a) {
  auto fetch = [](const char* name) {
    return CipherPtr(pki::ossl::check_ptr(EVP_CIPHER_fetch(nullptr, name, nullptr), name));
  };
  switch (a) {
  case Aead::aes_128_gcm: {
    static const CipherPtr c = fetch("AES-128-GCM");
    return c.get();
  }
  case Aead::aes_256_gcm: {
    static const CipherPtr c = fetch("AES-256-GCM");
    return c.get();
  }
  case Aead::chacha20_poly1305: {
    static const CipherPtr c = fetch("ChaCha20-Poly1305");
    return c.get();
  }
  }
  throw tlsmatrix::Error(tlsmatrix::Errc::internal, "unknown AEAD");
}

enum class Kdf { hkdf, tls1_prf };

// Runs an EVP_KDF with the given parameters into `length` bytes.
Bytes derive(Kdf which, const OSSL_PARAM* params, std::size_t length) {
  auto fetch = [](const char* name) {
    return KdfPtr(pki::ossl::check_ptr(EVP_KDF_fetch(nullptr, name, nullptr), name));
  };
  static const KdfPtr hkdf = fetch("HKDF");
  static const KdfPtr tls1_prf = fetch("TLS1-PRF");
  const KdfCtxPtr ctx(pki::ossl::check_ptr(
      EVP_KDF_CTX_new(which == Kdf::hkdf ? hkdf.get() : tls1_prf.get()), "EVP_KDF_CTX_new"));
  Bytes out(length);
  pki::ossl::check(EVP_KDF_derive(ctx.get(), out.data(), out.size(), params),
                   which == Kdf::hkdf ? "HKDF" : "TLS1-PRF");
  return out;
}

// OSSL_PARAM wants non-const pointers for inputs it only reads.
OSSL_PARAM octets(const char* name, ByteView bytes) {
  return OSSL_PARAM_construct_octet_string(name, const_cast<std::uint8_t*>(bytes.data()),
                                           bytes.size()); // read only
}
OSSL_PARAM utf8(const char* name, std::string_view text) {
  return OSSL_PARAM_construct_utf8_string(name, const_cast<char*>(text.data()), text.size());
}

// RFC 8446 §5.3 (and RFC 7905 for TLS 1.2 ChaCha20-Poly1305): the 64-bit sequence number,
// left-padded to the IV length, XORed with the IV.
std::array<std::uint8_t, nonce_length> xor_nonce(const Bytes& iv, std::uint64_t seq) {
  std::array<std::uint8_t, nonce_length> nonce{};
  std::copy_n(iv.begin(), std::min(iv.size(), nonce.size()), nonce.begin());
  for (std::size_t i = 0; i < 8; ++i)
    nonce[nonce_length - 1 - i] ^= static_cast<std::uint8_t>(seq >> (8 * i));
  return nonce;
}

bool keys_usable(const RecordKeys& keys, std::size_t iv_length) {
  return keys.key.size() == key_length(keys.aead) && keys.iv.size() == iv_length;
}

// One AEAD operation. Decryption: `in` is ciphertext followed by the tag, returns nullopt when
// the tag does not verify. Encryption: returns ciphertext followed by the tag.
std::optional<Bytes> aead(bool encrypt, const RecordKeys& keys, ByteView nonce, ByteView aad,
                          ByteView in) {
  if (!encrypt && in.size() < tag_length)
    return std::nullopt;
  const std::size_t text_length = encrypt ? in.size() : in.size() - tag_length;
  if (text_length > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      aad.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    return std::nullopt;
  const CipherCtxPtr ctx(pki::ossl::check_ptr(EVP_CIPHER_CTX_new(), "EVP_CIPHER_CTX_new"));
  const int enc = encrypt ? 1 : 0;
  pki::ossl::check(EVP_CipherInit_ex(ctx.get(), cipher(keys.aead), nullptr, nullptr, nullptr, enc),
                   "initialising an AEAD");
  pki::ossl::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                                       static_cast<int>(nonce.size()), nullptr),
                   "setting the AEAD nonce length");
  pki::ossl::check(
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, keys.key.data(), nonce.data(), enc),
      "setting the AEAD key");
  int n = 0;
  pki::ossl::check(
      EVP_CipherUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())),
      "AEAD additional data");
  Bytes out(text_length + (encrypt ? tag_length : 0));
  // An empty text still needs a valid output pointer for some providers.
  std::uint8_t empty = 0;
  std::uint8_t* dst = out.empty() ? &empty : out.data();
  if (text_length > 0 &&
      EVP_CipherUpdate(ctx.get(), dst, &n, in.data(), static_cast<int>(text_length)) != 1) {
    pki::ossl::clear_errors();
    return std::nullopt;
  }
  if (!encrypt) {
    Bytes tag(in.end() - static_cast<std::ptrdiff_t>(tag_length), in.end());
    pki::ossl::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG,
                                         static_cast<int>(tag_length), tag.data()),
                     "setting the AEAD tag");
  }
  int final_length = 0;
  std::uint8_t final_block[32];
  if (EVP_CipherFinal_ex(ctx.get(), final_block, &final_length) != 1) {
    pki::ossl::clear_errors(); // the tag did not verify: an answer, not an error
    return std::nullopt;
  }
  if (encrypt)
    pki::ossl::check(EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG,
                                         static_cast<int>(tag_length), out.data() + text_length),
                     "reading the AEAD tag");
  return out;
}

} // namespace

// --- cipher suites ---------------------------------------------------------------------------

std::optional<SuiteCrypto> suite_crypto(std::uint16_t suite) {
  switch (suite) {
  // TLS 1.3, RFC 8446 §B.4
  case 0x1301:
    return SuiteCrypto{Aead::aes_128_gcm, Hash::sha256, true};
  case 0x1302:
    return SuiteCrypto{Aead::aes_256_gcm, Hash::sha384, true};
  case 0x1303:
    return SuiteCrypto{Aead::chacha20_poly1305, Hash::sha256, true};
  // TLS 1.2 AES-GCM, RFC 5288 and RFC 5289: the PRF hash is the suite's
  case 0x009c: // TLS_RSA_WITH_AES_128_GCM_SHA256
  case 0x009e: // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
  case 0xc02b: // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  case 0xc02f: // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    return SuiteCrypto{Aead::aes_128_gcm, Hash::sha256, false};
  case 0x009d: // TLS_RSA_WITH_AES_256_GCM_SHA384
  case 0x009f: // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
  case 0xc02c: // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  case 0xc030: // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    return SuiteCrypto{Aead::aes_256_gcm, Hash::sha384, false};
  // TLS 1.2 ChaCha20-Poly1305, RFC 7905
  case 0xcca8: // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  case 0xcca9: // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  case 0xccaa: // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
    return SuiteCrypto{Aead::chacha20_poly1305, Hash::sha256, false};
  default:
    return std::nullopt;
  }
}

// --- TLS 1.3 key schedule ----------------------------------------------------------------------

Bytes hkdf_expand_label(Hash hash, ByteView secret, std::string_view label, ByteView context,
                        std::size_t length) {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
  const std::string full_label = "tls13 " + std::string(label);
  if (full_label.size() > 255 || context.size() > 255 || length > 0xffff)
    throw tlsmatrix::Error(tlsmatrix::Errc::internal, "HKDF-Expand-Label: oversized input");
  Bytes info;
  info.push_back(static_cast<std::uint8_t>(length >> 8));
  info.push_back(static_cast<std::uint8_t>(length));
  info.push_back(static_cast<std::uint8_t>(full_label.size()));
  info.insert(info.end(), full_label.begin(), full_label.end());
  info.push_back(static_cast<std::uint8_t>(context.size()));
  info.insert(info.end(), context.begin(), context.end());

  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY; // the secret is already a PRK (RFC 5869 §2.3)
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      utf8(OSSL_KDF_PARAM_DIGEST, digest_name(hash)),
      octets(OSSL_KDF_PARAM_KEY, secret),
      octets(OSSL_KDF_PARAM_INFO, info),
      OSSL_PARAM_construct_end(),
  };
  return derive(Kdf::hkdf, params, length);
}

RecordKeys tls13_traffic_keys(const SuiteCrypto& suite, ByteView traffic_secret) {
  return RecordKeys{
      suite.aead, hkdf_expand_label(suite.hash, traffic_secret, "key", {}, key_length(suite.aead)),
      hkdf_expand_label(suite.hash, traffic_secret, "iv", {}, nonce_length)};
}

Bytes tls13_next_traffic_secret(const SuiteCrypto& suite, ByteView secret) {
  return hkdf_expand_label(suite.hash, secret, "traffic upd", {}, hash_length(suite.hash));
}

// --- TLS 1.2 key block -------------------------------------------------------------------------

Tls12Keys tls12_keys(const SuiteCrypto& suite, ByteView master_secret, ByteView client_random,
                     ByteView server_random) {
  // key_block = PRF(master_secret, "key expansion", server_random + client_random), cut into
  // client/server MAC keys (none for AEAD), client/server write keys, client/server IVs
  // (RFC 5246 §6.3). The IV is the 4-byte salt for AES-GCM (RFC 5288 §3), 12 bytes for
  // ChaCha20-Poly1305 (RFC 7905 §2).
  const std::size_t key_len = key_length(suite.aead);
  const std::size_t iv_len = suite.aead == Aead::chacha20_poly1305 ? nonce_length : 4;
  const std::string_view label = "key expansion";
  Bytes seed(label.begin(), label.end());
  seed.insert(seed.end(), server_random.begin(), server_random.end());
  seed.insert(seed.end(), client_random.begin(), client_random.end());
  const OSSL_PARAM params[] = {
      utf8(OSSL_KDF_PARAM_DIGEST, digest_name(suite.hash)),
      octets(OSSL_KDF_PARAM_SECRET, master_secret),
      octets(OSSL_KDF_PARAM_SEED, seed),
      OSSL_PARAM_construct_end(),
  };
  const Bytes block = derive(Kdf::tls1_prf, params, 2 * (key_len + iv_len));
  auto part = [&](std::size_t offset, std::size_t n) {
    return Bytes(block.begin() + static_cast<std::ptrdiff_t>(offset),
                 block.begin() + static_cast<std::ptrdiff_t>(offset + n));
  };
  return Tls12Keys{
      RecordKeys{suite.aead, part(0, key_len), part(2 * key_len, iv_len)},
      RecordKeys{suite.aead, part(key_len, key_len), part(2 * key_len + iv_len, iv_len)},
  };
}

// --- records ---------------------------------------------------------------------------------

std::optional<OpenedRecord> tls13_open(const RecordKeys& keys, std::uint64_t seq, ByteView record) {
  if (record.size() < header_length + tag_length || !keys_usable(keys, nonce_length))
    return std::nullopt;
  const auto nonce = xor_nonce(keys.iv, seq);
  // additional_data = the record header: opaque_type, legacy_record_version, length (§5.2)
  auto plain = aead(false, keys, nonce, record.first(header_length), record.subspan(header_length));
  if (!plain)
    return std::nullopt;
  // TLSInnerPlaintext = content, ContentType type, zeros: the type is the last non-zero byte.
  while (!plain->empty() && plain->back() == 0)
    plain->pop_back();
  if (plain->empty())
    return std::nullopt; // all zeros: no content type (an unexpected_message, §5.4)
  OpenedRecord opened{plain->back(), {}};
  plain->pop_back();
  opened.content = std::move(*plain);
  return opened;
}

Bytes tls13_seal(const RecordKeys& keys, std::uint64_t seq, std::uint8_t content_type,
                 ByteView content) {
  if (!keys_usable(keys, nonce_length))
    throw tlsmatrix::Error(tlsmatrix::Errc::internal, "tls13_seal: bad key or IV length");
  Bytes inner(content.begin(), content.end());
  inner.push_back(content_type);
  const std::size_t length = inner.size() + tag_length;
  Bytes record{tls13_outer_type, 0x03, 0x03, static_cast<std::uint8_t>(length >> 8),
               static_cast<std::uint8_t>(length)};
  const auto nonce = xor_nonce(keys.iv, seq);
  const auto sealed = aead(true, keys, nonce, record, inner);
  if (!sealed)
    throw tlsmatrix::Error(tlsmatrix::Errc::crypto, "tls13_seal: encryption failed");
  record.insert(record.end(), sealed->begin(), sealed->end());
  return record;
}

namespace {

// TLS 1.2 AEAD additional_data = seq_num + TLSCompressed.type + version + length (RFC 5246
// §6.2.3.3), where length is that of the plaintext.
Bytes tls12_aad(std::uint64_t seq, std::uint8_t type, std::uint8_t major, std::uint8_t minor,
                std::size_t length) {
  Bytes aad;
  for (int i = 7; i >= 0; --i)
    aad.push_back(static_cast<std::uint8_t>(seq >> (8 * i)));
  aad.insert(aad.end(), {type, major, minor, static_cast<std::uint8_t>(length >> 8),
                         static_cast<std::uint8_t>(length)});
  return aad;
}

bool is_gcm(Aead a) {
  return a != Aead::chacha20_poly1305;
}

} // namespace

std::optional<OpenedRecord> tls12_open(const RecordKeys& keys, std::uint64_t seq, ByteView record) {
  const bool gcm = is_gcm(keys.aead);
  const std::size_t explicit_length = gcm ? gcm_explicit_nonce : 0;
  if (record.size() < header_length + explicit_length + tag_length ||
      !keys_usable(keys, gcm ? 4 : nonce_length))
    return std::nullopt;
  const ByteView body = record.subspan(header_length);
  std::array<std::uint8_t, nonce_length> nonce{};
  if (gcm) {
    // GCMNonce = salt (4, from the key block) + nonce_explicit (8, first bytes of the record)
    std::copy_n(keys.iv.begin(), 4, nonce.begin());
    std::copy_n(body.begin(), gcm_explicit_nonce, nonce.begin() + 4);
  } else {
    nonce = xor_nonce(keys.iv, seq);
  }
  const ByteView sealed = body.subspan(explicit_length);
  const Bytes aad = tls12_aad(seq, record[0], record[1], record[2], sealed.size() - tag_length);
  auto plain = aead(false, keys, nonce, aad, sealed);
  if (!plain)
    return std::nullopt;
  return OpenedRecord{record[0], std::move(*plain)};
}

Bytes tls12_seal(const RecordKeys& keys, std::uint64_t seq, std::uint8_t content_type,
                 ByteView content) {
  const bool gcm = is_gcm(keys.aead);
  if (!keys_usable(keys, gcm ? 4 : nonce_length))
    throw tlsmatrix::Error(tlsmatrix::Errc::internal, "tls12_seal: bad key or IV length");
  std::array<std::uint8_t, nonce_length> nonce{};
  Bytes explicit_part;
  if (gcm) {
    std::copy_n(keys.iv.begin(), 4, nonce.begin());
    for (int i = 7; i >= 0; --i)
      explicit_part.push_back(static_cast<std::uint8_t>(seq >> (8 * i)));
    std::copy(explicit_part.begin(), explicit_part.end(), nonce.begin() + 4);
  } else {
    nonce = xor_nonce(keys.iv, seq);
  }
  const Bytes aad = tls12_aad(seq, content_type, 0x03, 0x03, content.size());
  const auto sealed = aead(true, keys, nonce, aad, content);
  if (!sealed)
    throw tlsmatrix::Error(tlsmatrix::Errc::crypto, "tls12_seal: encryption failed");
  const std::size_t length = explicit_part.size() + sealed->size();
  Bytes record{content_type, 0x03, 0x03, static_cast<std::uint8_t>(length >> 8),
               static_cast<std::uint8_t>(length)};
  record.insert(record.end(), explicit_part.begin(), explicit_part.end());
  record.insert(record.end(), sealed->begin(), sealed->end());
  return record;
}

} // namespace harness::wire
