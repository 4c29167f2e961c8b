// The wire decoder: a recorded TCP stream pair decoded into a trace (trace.hpp), decrypted where a
// key log (key_log.hpp) allows.
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

#include "harness/wire/key_log.hpp"
#include "harness/wire/trace.hpp"

namespace harness::wire {

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

} // namespace harness::wire
