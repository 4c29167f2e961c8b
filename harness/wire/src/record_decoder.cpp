// The wire decoder: TLS records reassembled from TCP chunks, handshake messages from records,
// record protection followed (and undone with a key log) per direction, as an ordered trace.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "decoder_state.hpp"
#include "handshake_parse.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/tls_decrypt.hpp"

namespace harness::wire {

namespace {

using detail::hex16;
using detail::hex_bytes;
using detail::Reader;
using detail::RecordContext;
using detail::Stream;
using std::chrono::microseconds;

// RFC 5246 §6.2.1 / RFC 8446 §5.1 content types
constexpr std::uint8_t ct_change_cipher_spec = 20;
constexpr std::uint8_t ct_alert = 21;
constexpr std::uint8_t ct_handshake = 22;
constexpr std::uint8_t ct_application_data = 23;
constexpr std::uint8_t ct_heartbeat = 24;

constexpr std::size_t header_length = 5;
// TLSCiphertext.length may exceed 2^14 by at most 2048 (RFC 5246 §6.2.3); TLS 1.3 allows less
// (2^14 + 256, RFC 8446 §5.2), so this bound holds for both.
constexpr std::size_t max_record_body = (std::size_t{1} << 14) + 2048;
constexpr std::size_t max_preview = 32;

// The first bytes of application data, printable ASCII kept and the rest escaped.
std::string preview(ByteView bytes) {
  std::string out = "\"";
  for (std::size_t i = 0; i < bytes.size() && i < max_preview; ++i) {
    const auto c = bytes[i];
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
      out += static_cast<char>(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  out += bytes.size() > max_preview ? "\"…" : "\"";
  return out;
}

std::string alert_level_name(int level) {
  switch (level) {
  case 1:
    return "warning";
  case 2:
    return "fatal";
  default:
    return "level(" + std::to_string(level) + ")";
  }
}

// Names of records we cannot decrypt, by their outer content type (TLS 1.2 shows it).
std::string encrypted_name(std::uint8_t type, bool tls13) {
  if (tls13)
    return "EncryptedRecord";
  switch (type) {
  case ct_handshake:
    return "EncryptedHandshakeMessage";
  case ct_alert:
    return "EncryptedAlert";
  case ct_application_data:
    return "ApplicationData";
  case ct_change_cipher_spec:
    return "EncryptedChangeCipherSpec";
  default:
    return "EncryptedRecord";
  }
}

} // namespace

std::string detail::hex_bytes(ByteView bytes, std::size_t max) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", bytes[i]);
    if (!out.empty())
      out += ' ';
    out += buf;
  }
  if (bytes.size() > max)
    out += " …";
  return out;
}

void TraceDecoder::Impl::feed(Direction dir, microseconds t, ByteView bytes) {
  if (finished)
    return;
  Stream& s = stream(dir);
  s.last_time = t;
  if (s.lost) {
    s.skipped += bytes.size();
    return;
  }
  s.pending.insert(s.pending.end(), bytes.begin(), bytes.end());
  std::size_t pos = 0;
  while (!s.lost) {
    const ByteView rest = ByteView(s.pending).subspan(pos);
    if (!s.started && dir == Direction::client_to_server && !rest.empty() && (rest[0] & 0x80)) {
      std::size_t used = 0;
      if (!take_sslv2_hello(s, t, rest, used))
        break; // incomplete (or lost)
      pos += used;
      continue;
    }
    if (rest.size() < header_length)
      break;
    s.started = true;
    const std::uint8_t type = rest[0];
    const std::size_t length = std::size_t{rest[3]} << 8 | rest[4];
    if (type < ct_change_cipher_spec || type > ct_heartbeat) {
      lose(s, t,
           "not a TLS record: content type " + std::to_string(type) + ", bytes " +
               hex_bytes(rest, 8),
           rest.size());
      break;
    }
    if (rest[1] != 3) { // every SSL 3.0/TLS record version is 3.x (RFC 5246 appendix E)
      lose(s, t,
           "not a TLS record: version " + hex16(static_cast<std::uint16_t>(rest[1] << 8 | rest[2])),
           rest.size());
      break;
    }
    if (length > max_record_body) {
      lose(s, t,
           "record length " + std::to_string(length) +
               " exceeds 2^14+2048 (record_overflow, RFC 5246 §6.2.3)",
           rest.size());
      break;
    }
    if (rest.size() < header_length + length)
      break;
    record(s, t, rest.first(header_length + length));
    pos += header_length + length;
  }
  if (!s.lost)
    s.pending.erase(s.pending.begin(), s.pending.begin() + static_cast<std::ptrdiff_t>(pos));
}

// RFC 5246 appendix E.2: a client may open with an SSL 2.0 CLIENT-HELLO: a 2-byte header with
// the high bit set and a 15-bit length, then msg_type 1. It is only valid as the first message.
bool TraceDecoder::Impl::take_sslv2_hello(Stream& s, microseconds t, ByteView rest,
                                          std::size_t& used) {
  if (rest.size() < 2)
    return false;
  const std::size_t length = std::size_t{rest[0] & 0x7fu} << 8 | rest[1];
  if (rest.size() >= 3 && rest[2] != 1) {
    lose(s, t, "not a TLS record: first bytes " + hex_bytes(rest, 8), rest.size());
    return false;
  }
  if (rest.size() < 2 + length)
    return false;
  s.started = true;
  const RecordContext rc{t, length, false};
  const auto f = detail::parse_sslv2_client_hello(rest.subspan(2, length));
  if (!f.error.empty()) {
    lose(s, t, f.error, rest.size());
    return false;
  }
  auto& e = emit(s, rc, EventKind::sslv2_client_hello, "SSLv2ClientHello",
                 "version " + version_name(f.version) + ", " + std::to_string(f.cipher_specs) +
                     " cipher specs");
  e.message_length = length;
  set_client_random(f.random);
  summary.offered_versions = {f.version};
  used = 2 + length;
  return true;
}

void TraceDecoder::Impl::record(Stream& s, microseconds t, ByteView rec) {
  const std::uint8_t type = rec[0];
  const RecordContext rc{t, rec.size() - header_length, false};
  if (s.protected12) {
    open12(s, rc, rec);
    return;
  }
  // TLS 1.3 protected records all have the outer type application_data (RFC 8446 §5.2); the
  // other types stay plaintext: ChangeCipherSpec for middlebox compatibility (§D.4), and alerts
  // some stacks send unprotected (OpenSSL 3.0 as a client, see docs/peers.md#openssl-tls13-plaintext-alert).
  if (s.epoch13 > 0 && type == ct_application_data) {
    open13(s, rc, rec);
    return;
  }
  content(s, rc, type, rec.subspan(header_length));
}

void TraceDecoder::Impl::open13(Stream& s, const RecordContext& rc, ByteView rec) {
  std::optional<OpenedRecord> opened;
  if (s.keys)
    opened = tls13_open(*s.keys, s.seq, rec);
  if (opened) {
    ++s.seq;
  } else if (s.app_keys && (opened = tls13_open(*s.app_keys, 0, rec))) {
    // The handshake keys did not open it but the application keys do: this side's Finished was
    // not seen (e.g. lost to a malformed record); the application epoch starts here.
    s.keys = std::move(s.app_keys);
    s.app_keys.reset();
    s.epoch13 = 2;
    s.seq = 1;
  } else {
    std::string why = s.no_keys;
    if (s.keys) {
      why = "does not authenticate with the logged keys (sequence " + std::to_string(s.seq) + ")";
      ++s.seq;
    }
    emit(s, rc, EventKind::encrypted, encrypted_name(ct_application_data, true), why);
    return;
  }
  RecordContext inner = rc;
  inner.decrypted = true;
  content(s, inner, opened->content_type, opened->content);
}

void TraceDecoder::Impl::open12(Stream& s, const RecordContext& rc, ByteView rec) {
  std::optional<OpenedRecord> opened;
  std::string why = s.no_keys;
  if (s.keys) {
    opened = tls12_open(*s.keys, s.seq, rec);
    if (!opened)
      why = "does not authenticate with the logged keys (sequence " + std::to_string(s.seq) + ")";
    ++s.seq;
  }
  if (!opened) {
    emit(s, rc, EventKind::encrypted, encrypted_name(rec[0], false), why);
    return;
  }
  RecordContext inner = rc;
  inner.decrypted = true;
  content(s, inner, opened->content_type, opened->content);
}

void TraceDecoder::Impl::content(Stream& s, const RecordContext& rc, std::uint8_t type,
                                 ByteView body) {
  // Handshake messages may not interleave with other record types (RFC 8446 §5.1).
  if (type != ct_handshake && !s.handshake.empty()) {
    emit(s, rc, EventKind::malformed, "Malformed",
         "handshake message cut by a record of content type " + std::to_string(type) + " (" +
             std::to_string(s.handshake.size()) + " bytes dropped)");
    s.handshake.clear();
  }
  switch (type) {
  case ct_change_cipher_spec:
    change_cipher_spec(s, rc, body);
    return;
  case ct_handshake:
    handshake_fragment(s, rc, body);
    return;
  case ct_alert: {
    // Alerts are two bytes each; RFC 8446 §5.1 forbids fragmenting or coalescing them, TLS 1.2
    // allows several in one record.
    if (body.empty() || body.size() % 2 != 0) {
      emit(s, rc, EventKind::malformed, "Malformed",
           "alert record of " + std::to_string(body.size()) + " bytes");
      return;
    }
    for (std::size_t i = 0; i < body.size(); i += 2) {
      auto& e =
          emit(s, rc, EventKind::alert, alert_level_name(body[i]) + " " + alert_name(body[i + 1]));
      e.message_length = 2;
      e.alert_level = body[i];
      e.alert_description = body[i + 1];
    }
    return;
  }
  case ct_application_data: {
    auto& e = emit(s, rc, EventKind::application_data, "ApplicationData",
                   body.empty() ? std::string() : preview(body));
    e.message_length = body.size();
    return;
  }
  case ct_heartbeat: {
    auto& e = emit(s, rc, EventKind::heartbeat, "Heartbeat");
    e.message_length = body.size();
    return;
  }
  default:
    emit(s, rc, EventKind::malformed, "Malformed",
         "unknown inner content type " + std::to_string(type));
    return;
  }
}

void TraceDecoder::Impl::change_cipher_spec(Stream& s, const RecordContext& rc, ByteView body) {
  // The message is the single byte 1 (RFC 5246 §7.1, RFC 8446 §5).
  if (body.size() != 1 || body[0] != 1) {
    emit(s, rc, EventKind::malformed, "Malformed",
         "ChangeCipherSpec with body " + hex_bytes(body, 8));
    return;
  }
  if (tls13()) {
    // TLS 1.3 sends it only for middlebox compatibility; it changes nothing (RFC 8446 §D.4).
    emit(s, rc, EventKind::change_cipher_spec, "ChangeCipherSpec", "middlebox compatibility");
    return;
  }
  if (!saw_server_hello) {
    // Before any ServerHello there are no pending keys to change to: a TLS 1.3 client with
    // early data sends its compatibility ChangeCipherSpec right after the ClientHello (§D.4).
    emit(s, rc, EventKind::change_cipher_spec, "ChangeCipherSpec", "before any ServerHello");
    return;
  }
  emit(s, rc, EventKind::change_cipher_spec, "ChangeCipherSpec");
  // TLS 1.2: this side's following records are protected with the pending keys, sequence
  // numbers restarting at 0 (RFC 5246 §6.1, §7.1).
  s.protected12 = true;
  s.seq = 0;
  s.keys.reset();
  s.no_keys = no_keys12;
  if (keys12)
    s.keys = s.dir == Direction::client_to_server ? keys12->client_write : keys12->server_write;
}

void TraceDecoder::Impl::handshake_fragment(Stream& s, const RecordContext& rc, ByteView body) {
  if (body.empty()) {
    // RFC 8446 §5.1: zero-length fragments of handshake type MUST NOT be sent.
    emit(s, rc, EventKind::malformed, "Malformed", "empty handshake record");
    return;
  }
  if (s.handshake.empty())
    s.handshake_decrypted = false;
  s.handshake_decrypted = s.handshake_decrypted || rc.decrypted;
  s.handshake.insert(s.handshake.end(), body.begin(), body.end());
  RecordContext mc = rc;
  mc.decrypted = s.handshake_decrypted;
  std::size_t pos = 0;
  while (s.handshake.size() - pos >= 4) {
    const ByteView rest = ByteView(s.handshake).subspan(pos);
    const int type = rest[0];
    const std::size_t length = std::size_t{rest[1]} << 16 | std::size_t{rest[2]} << 8 | rest[3];
    if (length > TraceDecoder::max_handshake_message) {
      emit(s, mc, EventKind::malformed, handshake_name(type),
           "handshake message length " + std::to_string(length) + " exceeds the limit of " +
               std::to_string(TraceDecoder::max_handshake_message) + " bytes");
      pos = s.handshake.size();
      break;
    }
    if (rest.size() < 4 + length)
      break;
    const ByteView message = rest.subspan(4, length);
    pos += 4 + length;
    if (handshake_message(s, mc, type, message) && pos < s.handshake.size()) {
      // RFC 8446 §5.1: a message before a key change must end its record.
      emit(s, mc, EventKind::malformed, "Malformed",
           std::to_string(s.handshake.size() - pos) +
               " bytes of handshake data after a key change in the same record");
      pos = s.handshake.size();
    }
  }
  s.handshake.erase(s.handshake.begin(), s.handshake.begin() + static_cast<std::ptrdiff_t>(pos));
}

void TraceDecoder::Impl::finish() {
  if (finished)
    return;
  finished = true;
  for (Stream* s : {&client, &server}) {
    const RecordContext rc{s->last_time, 0, false};
    if (s->lost) {
      if (s->skipped > 0)
        events[s->lost_event].detail +=
            " (" + std::to_string(s->skipped) + " bytes from there on not decoded)";
      continue;
    }
    if (!s->pending.empty()) {
      std::string why = "stream ends inside a record: ";
      if (s->pending.size() < header_length)
        why += std::to_string(s->pending.size()) + " bytes of a record header";
      else
        why += std::to_string(s->pending.size() - header_length) + " of " +
               std::to_string(std::size_t{s->pending[3]} << 8 | s->pending[4]) + " bytes";
      emit(*s, rc, EventKind::malformed, "Malformed", why);
    }
    if (!s->handshake.empty())
      emit(*s, rc, EventKind::malformed, "Malformed",
           "stream ends inside a handshake message (" + std::to_string(s->handshake.size()) +
               " bytes)");
  }
}

// --- public interface --------------------------------------------------------------------------

TraceDecoder::TraceDecoder(KeyLog keys) : impl_(std::make_unique<Impl>(std::move(keys))) {}
TraceDecoder::~TraceDecoder() = default;
TraceDecoder::TraceDecoder(TraceDecoder&&) noexcept = default;
TraceDecoder& TraceDecoder::operator=(TraceDecoder&&) noexcept = default;

void TraceDecoder::feed(Direction dir, microseconds t, ByteView bytes) {
  impl_->feed(dir, t, bytes);
}
void TraceDecoder::finish() {
  impl_->finish();
}
const std::vector<TraceEvent>& TraceDecoder::events() const {
  return impl_->events;
}
const HandshakeSummary& TraceDecoder::summary() const {
  return impl_->summary;
}

Trace decode_trace(std::span<const Chunk> chunks, const KeyLog& keys) {
  TraceDecoder decoder(keys);
  for (const auto& c : chunks)
    decoder.feed(c);
  decoder.finish();
  return Trace{decoder.events(), decoder.summary()};
}

} // namespace harness::wire
