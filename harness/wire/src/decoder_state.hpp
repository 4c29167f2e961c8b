// Private to the wire decoder: the state TraceDecoder::Impl keeps per connection and per
// direction, shared by the record layer (record_decoder.cpp) and the handshake layer
// (handshake_decoder.cpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/wire/record_decoder.hpp"
#include "harness/wire/tls_decrypt.hpp"

namespace harness::wire {
namespace detail {

using std::chrono::microseconds;

// Where one record's events came from.
struct RecordContext {
  microseconds time{0};
  std::size_t record_length = 0;
  bool decrypted = false;
};

// One direction of the connection.
struct Stream {
  explicit Stream(Direction d) : dir(d) {}

  Direction dir;
  Bytes pending;        // the bytes of a record not yet complete
  bool started = false; // its first bytes were classified (SSLv2 hello or TLS record)
  bool lost = false;    // record framing lost: the rest of this direction is skipped
  std::size_t lost_event = 0;
  std::size_t skipped = 0;
  microseconds last_time{0};

  Bytes handshake; // a handshake message being reassembled across records
  bool handshake_decrypted = false;

  // Record protection. TLS 1.2: `protected12` after this side's ChangeCipherSpec. TLS 1.3:
  // `epoch13` 1 after the ServerHello (handshake keys), 2 after this side's Finished
  // (application keys), and each KeyUpdate starts the next.
  bool protected12 = false;
  int epoch13 = 0;
  std::optional<RecordKeys> keys;     // what this side's records are decrypted with now
  std::uint64_t seq = 0;              // their sequence number (RFC 8446 §5.3, RFC 5246 §6.1)
  std::optional<RecordKeys> app_keys; // TLS 1.3: the application keys, before they apply
  Bytes app_secret;                   // TLS 1.3: current application traffic secret
  std::string no_keys;                // why records are not decrypted
};

// "16 03 03 …": the first `max` bytes of a message as hex, for a malformed event's detail.
[[nodiscard]] std::string hex_bytes(ByteView bytes, std::size_t max);

} // namespace detail

struct TraceDecoder::Impl {
  using Stream = detail::Stream;
  using RecordContext = detail::RecordContext;
  using microseconds = std::chrono::microseconds;

  KeyLog keylog;
  std::vector<TraceEvent> events;
  HandshakeSummary summary;
  Stream client{Direction::client_to_server};
  Stream server{Direction::server_to_client};
  bool finished = false;

  Bytes client_random;
  Bytes server_random;
  bool saw_server_hello = false; // even one whose body did not parse
  std::uint16_t version = 0;
  std::optional<SuiteCrypto> suite;
  std::optional<Tls12Keys> keys12; // from the latest ServerHello, applied at ChangeCipherSpec
  std::string no_keys12;

  explicit Impl(KeyLog k) : keylog(std::move(k)) {}

  [[nodiscard]] bool tls13() const { return version == 0x0304; }
  Stream& stream(Direction d) { return d == Direction::client_to_server ? client : server; }

  TraceEvent& emit(const Stream& s, const RecordContext& rc, EventKind kind, std::string name,
                   std::string detail = {}) {
    TraceEvent e;
    e.direction = s.dir;
    e.time = rc.time;
    e.kind = kind;
    e.name = std::move(name);
    e.record_length = rc.record_length;
    e.decrypted = rc.decrypted;
    e.detail = std::move(detail);
    events.push_back(std::move(e));
    return events.back();
  }

  // The rest of this direction cannot be framed: one malformed event, then skip.
  void lose(Stream& s, microseconds t, std::string why, std::size_t skipped) {
    emit(s, {t, 0, false}, EventKind::malformed, "Malformed", std::move(why));
    s.lost = true;
    s.lost_event = events.size() - 1;
    s.skipped = skipped;
    s.pending.clear();
    s.handshake.clear();
  }

  void feed(Direction dir, microseconds t, ByteView bytes);
  void finish();
  void set_client_random(const Bytes& random);
  bool take_sslv2_hello(Stream& s, microseconds t, ByteView rest, std::size_t& used);
  void record(Stream& s, microseconds t, ByteView rec);
  void open13(Stream& s, const RecordContext& rc, ByteView rec);
  void open12(Stream& s, const RecordContext& rc, ByteView rec);
  void content(Stream& s, const RecordContext& rc, std::uint8_t type, ByteView body);
  void change_cipher_spec(Stream& s, const RecordContext& rc, ByteView body);
  void handshake_fragment(Stream& s, const RecordContext& rc, ByteView body);
  bool handshake_message(Stream& s, const RecordContext& rc, int type, ByteView body);
  void client_hello(Stream& s, const RecordContext& rc, ByteView body, TraceEvent& e);
  bool server_hello(Stream& s, const RecordContext& rc, ByteView body, TraceEvent& e);
  void start_tls13();
};

} // namespace harness::wire
