// Record protection: TLS 1.3 and TLS 1.2 AEAD record keys, opening and sealing records (the
// decoder's building blocks, public for tests and the fuzzer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "harness/wire/trace.hpp"

namespace harness::wire {

enum class Aead { aes_128_gcm, aes_256_gcm, chacha20_poly1305 };
enum class Hash { sha256, sha384 };

// The AEAD and the key schedule hash of a cipher suite we can decrypt (nullopt otherwise).
struct SuiteCrypto {
  Aead aead = Aead::aes_128_gcm;
  Hash hash = Hash::sha256;
  bool tls13 = false;
};
[[nodiscard]] std::optional<SuiteCrypto> suite_crypto(std::uint16_t suite);

// One direction's record protection keys. TLS 1.3 and TLS 1.2 ChaCha20-Poly1305: iv is the
// 12-byte per-connection IV; TLS 1.2 AES-GCM: iv is the 4-byte implicit salt (RFC 5288 §3).
struct RecordKeys {
  Aead aead = Aead::aes_128_gcm;
  Bytes key;
  Bytes iv;
};

// HKDF-Expand-Label(secret, label, context, length), RFC 8446 §7.1 ("tls13 " is prepended).
[[nodiscard]] Bytes hkdf_expand_label(Hash hash, ByteView secret, std::string_view label,
                                      ByteView context, std::size_t length);
// Traffic keys from a TLS 1.3 traffic secret: key = HKDF-Expand-Label(secret, "key", "", key
// length), iv = HKDF-Expand-Label(secret, "iv", "", 12) (RFC 8446 §7.3).
[[nodiscard]] RecordKeys tls13_traffic_keys(const SuiteCrypto& suite, ByteView traffic_secret);
// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length)
// (RFC 8446 §7.2).
[[nodiscard]] Bytes tls13_next_traffic_secret(const SuiteCrypto& suite, ByteView secret);

// TLS 1.2 key block (RFC 5246 §6.3) cut into the client and server write keys of an AEAD suite.
struct Tls12Keys {
  RecordKeys client_write;
  RecordKeys server_write;
};
[[nodiscard]] Tls12Keys tls12_keys(const SuiteCrypto& suite, ByteView master_secret,
                                   ByteView client_random, ByteView server_random);

// A decrypted record: its (inner, for TLS 1.3) content type and content.
struct OpenedRecord {
  std::uint8_t content_type = 0;
  Bytes content;
};
// Decrypts one whole record (5-byte header + body) at sequence number `seq`; nullopt when it does
// not authenticate. TLS 1.3 (RFC 8446 §5.2-5.3): nonce = iv XOR seq, the header is the AAD, the
// zero padding is stripped and the inner content type taken from the end (a record of zeros
// only does not open). TLS 1.2 (RFC 5246 §6.2.3.3): AAD = seq, type, version, plaintext length;
// AES-GCM nonce = salt + the record's 8-byte explicit part (RFC 5288), ChaCha20-Poly1305 nonce
// = iv XOR seq (RFC 7905).
[[nodiscard]] std::optional<OpenedRecord> tls13_open(const RecordKeys& keys, std::uint64_t seq,
                                                     ByteView record);
[[nodiscard]] std::optional<OpenedRecord> tls12_open(const RecordKeys& keys, std::uint64_t seq,
                                                     ByteView record);
// The inverse operations, producing a whole record; for tests and the fuzzer (TLS 1.2 AES-GCM
// uses seq as its explicit nonce, as OpenSSL does).
[[nodiscard]] Bytes tls13_seal(const RecordKeys& keys, std::uint64_t seq, std::uint8_t content_type,
                               ByteView content);
[[nodiscard]] Bytes tls12_seal(const RecordKeys& keys, std::uint64_t seq, std::uint8_t content_type,
                               ByteView content);

} // namespace harness::wire
