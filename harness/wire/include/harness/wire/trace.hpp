// What happened on the wire, as the decoder (record_decoder.hpp) reports it: an ordered trace of
// TLS records, handshake messages, alerts and application data, and the names of what they carry.
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

// "TLS 1.2", "TLS 1.3", "SSL 3.0", or "0x7f1c" for anything else.
[[nodiscard]] std::string version_name(std::uint16_t version);
// IANA name ("TLS_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", …) or "0xc0ff".
[[nodiscard]] std::string cipher_suite_name(std::uint16_t suite);
// "ClientHello", … or "HandshakeType(N)".
[[nodiscard]] std::string handshake_name(int type);
// RFC 8446 §6 AlertDescription names ("bad_certificate", …), or "alert_N" for others.
[[nodiscard]] std::string alert_name(int description);

} // namespace harness::wire
