// What happened on the wire: a recorded TCP stream pair decoded into an ordered trace of TLS
// records, handshake messages, alerts and application data, decrypted where a key log allows.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace harness::wire {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

enum class Direction { client_to_server, server_to_client };
[[nodiscard]] std::string_view to_string(Direction d); // "client->server", "server->client"

// One read of one direction of the TCP connection, as the relay recorded it. Chunks of both
// directions are given in arrival order; `t` is the time since the start of the recording.
struct Chunk {
  Direction dir = Direction::client_to_server;
  std::chrono::microseconds t{0};
  Bytes bytes;
};

enum class EventKind {
  handshake,          // a handshake message (name: "ClientHello", "Finished", …)
  change_cipher_spec, // name "ChangeCipherSpec"
  alert,              // name "fatal certificate_expired", "warning close_notify", …
  application_data,   // name "ApplicationData"; message_length = plaintext bytes (when known)
  heartbeat,          // name "Heartbeat" (RFC 6520)
  encrypted,          // a protected record we could not decrypt (no keys, unsupported cipher)
  sslv2_client_hello, // name "SSLv2ClientHello" (RFC 5246 appendix E.2)
  malformed,          // the bytes are not valid TLS; detail says why
};
[[nodiscard]] std::string_view to_string(EventKind k); // "handshake", "change_cipher_spec", …

struct TraceEvent {
  Direction direction = Direction::client_to_server;
  std::chrono::microseconds time{0}; // the chunk that completed it
  EventKind kind = EventKind::malformed;
  // handshake: "ClientHello", "ServerHello", "HelloRetryRequest", "Certificate", … or
  //            "HandshakeType(N)"; alert: "<level> <description>"; encrypted:
  //            "EncryptedHandshakeMessage", "EncryptedAlert", "ApplicationData" (TLS 1.2, whose
  //            outer content type is real) or "EncryptedRecord" (TLS 1.3); malformed: "Malformed",
  //            or the handshake message's name when its framing was right but its body is not.
  std::string name;
  // Length field of the record that carried (completed) it; 0 for malformed events about the
  // stream itself (truncation, lost framing).
  std::size_t record_length = 0;
  std::size_t message_length = 0;       // handshake: body length from its header; alert: 2;
                                        // application data: plaintext bytes (0 when encrypted)
  std::optional<int> handshake_type;    // RFC 8446 §4 HandshakeType
  std::optional<int> alert_level;       // 1 warning, 2 fatal
  std::optional<int> alert_description; // RFC 8446 §6 AlertDescription
  bool decrypted = false;               // it came out of a protected record we decrypted
  std::string detail; // "sni=localhost versions=TLS 1.3,TLS 1.2 suites=4", why malformed, …
};

// Fields of the handshake worth showing and asserting, from the messages the trace could read.
struct HandshakeSummary {
  std::string server_name;                     // ClientHello server_name (SNI), "" if none
  std::vector<std::uint16_t> offered_versions; // supported_versions, else legacy_version
  std::uint16_t version = 0;                   // chosen by the ServerHello (0: none seen)
  std::uint16_t cipher_suite = 0;              // chosen by the ServerHello
  bool hello_retry_request = false;
  bool certificate_request = false; // the server asked for a client certificate
  // Certificate messages: number of certificates (nullopt: no Certificate message seen, e.g. it
  // was encrypted) and the subject CN of each ("" when it has none or does not parse).
  std::optional<std::size_t> server_certificates;
  std::vector<std::string> server_certificate_names;
  std::optional<std::size_t> client_certificates;
  std::vector<std::string> client_certificate_names;
  bool keys_found = false; // the key log held secrets for this connection's client random
};

struct Trace {
  std::vector<TraceEvent> events;
  HandshakeSummary summary;
};

// --- key logs -----------------------------------------------------------------------------

// One line of an NSS key log: "<label> <client_random hex> <secret hex>".
struct KeyLogEntry {
  std::string label; // CLIENT_RANDOM, CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_TRAFFIC_SECRET_0, …
  Bytes client_random;
  Bytes secret;
};

struct KeyLog {
  std::vector<KeyLogEntry> entries;
  std::size_t ignored_lines = 0; // lines that were neither comments nor well-formed entries

  // The secret logged under `label` for `client_random` (the last one if logged twice).
  [[nodiscard]] const Bytes* find(std::string_view label, ByteView client_random) const;
};

// Parses NSS key log text (the format of SSLKEYLOGFILE and `openssl -keylogfile`). Blank and '#'
// lines are skipped; a malformed line is counted in ignored_lines, never an exception.
[[nodiscard]] KeyLog parse_key_log(std::string_view text);

// --- the decoder ----------------------------------------------------------------------------

// Decodes one TCP connection incrementally: feed every chunk in arrival order, then finish().
// Never throws on input and never trusts a length field: malformed input becomes `malformed`
// events; what it keeps between feeds is bounded by one record (2^14 + 2048 bytes, RFC 5246
// §6.2.3) and one handshake message (max_handshake_message) per direction. After a record-layer
// error a direction cannot be resynchronised: one malformed event, the rest of it is counted and
// skipped.
//
// Protection: TLS 1.2 records are protected after that side's ChangeCipherSpec; TLS 1.3 records
// of outer type application_data after the ServerHello (which says 1.3 in supported_versions).
// With the key log's secrets for the ClientHello's random they are decrypted: TLS 1.3 with
// TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256 (handshake keys,
// then application keys after that side's Finished, then KeyUpdate); TLS 1.2 with the AES-GCM
// and ChaCha20-Poly1305 suites from CLIENT_RANDOM. Anything else is an `encrypted` event.
class TraceDecoder {
public:
  static constexpr std::size_t max_handshake_message = std::size_t{1} << 20;

  explicit TraceDecoder(KeyLog keys = {});
  ~TraceDecoder();
  TraceDecoder(TraceDecoder&&) noexcept;
  TraceDecoder& operator=(TraceDecoder&&) noexcept;
  TraceDecoder(const TraceDecoder&) = delete;
  TraceDecoder& operator=(const TraceDecoder&) = delete;

  void feed(Direction dir, std::chrono::microseconds t, ByteView bytes);
  void feed(const Chunk& chunk) { feed(chunk.dir, chunk.t, chunk.bytes); }
  // Reports what the streams left unfinished (a partial record or handshake message) as
  // malformed events. Feeding after finish() is a no-op.
  void finish();

  [[nodiscard]] const std::vector<TraceEvent>& events() const;
  [[nodiscard]] const HandshakeSummary& summary() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// feed() every chunk, finish(), and return the trace.
[[nodiscard]] Trace decode_trace(std::span<const Chunk> chunks, const KeyLog& keys = {});

// "TLS 1.2", "TLS 1.3", "SSL 3.0", or "0x7f1c" for anything else.
[[nodiscard]] std::string version_name(std::uint16_t version);
// IANA name ("TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", …) or "0xc0ff".
[[nodiscard]] std::string cipher_suite_name(std::uint16_t suite);
// "ClientHello", … or "HandshakeType(N)".
[[nodiscard]] std::string handshake_name(int type);

// --- record protection (the decoder's building blocks, public for tests) ---------------------

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
