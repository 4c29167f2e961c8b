// The wire decoder: TLS records reassembled from TCP chunks, handshake messages from records,
// record protection followed (and undone with a key log) per direction, as an ordered trace.
#include <algorithm>
#include <cstdio>
#include <utility>

#include "common/error.hpp"
#include "handshake_parse.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/tls_decrypt.hpp"

namespace harness::wire {

namespace {

using detail::hex16;
using detail::Reader;
using std::chrono::microseconds;

// RFC 5246 §6.2.1 / RFC 8446 §5.1 content types
constexpr std::uint8_t ct_change_cipher_spec = 20;
constexpr std::uint8_t ct_alert = 21;
constexpr std::uint8_t ct_handshake = 22;
constexpr std::uint8_t ct_application_data = 23;
constexpr std::uint8_t ct_heartbeat = 24;

// RFC 8446 §4 HandshakeType (and RFC 5246 §7.4 for the TLS 1.2 ones)
constexpr int hs_client_hello = 1;
constexpr int hs_server_hello = 2;
constexpr int hs_certificate = 11;
constexpr int hs_certificate_request = 13;
constexpr int hs_finished = 20;
constexpr int hs_key_update = 24;

constexpr std::size_t header_length = 5;
// TLSCiphertext.length may exceed 2^14 by at most 2048 (RFC 5246 §6.2.3); TLS 1.3 allows less
// (2^14 + 256, RFC 8446 §5.2), so this bound holds for both.
constexpr std::size_t max_record_body = (std::size_t{1} << 14) + 2048;
constexpr std::size_t max_preview = 32;

std::string hex_bytes(ByteView bytes, std::size_t max) {
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

std::string version_list(const std::vector<std::uint16_t>& versions) {
  std::string out;
  for (auto v : versions) {
    // GREASE values (RFC 8701) are noise in a trace.
    if ((v & 0x0f0f) == 0x0a0a)
      continue;
    if (!out.empty())
      out += ',';
    out += version_name(v);
  }
  return out;
}

std::string certificate_detail(const detail::CertificateFields& f) {
  if (f.count == 0)
    return "empty (no certificate)";
  std::string out = std::to_string(f.count) + (f.count == 1 ? " certificate" : " certificates");
  for (std::size_t i = 0; i < f.names.size(); ++i)
    out += (i == 0 ? ": " : ", ") + (f.names[i].empty() ? std::string("?") : f.names[i]);
  return out;
}

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

} // namespace

struct TraceDecoder::Impl {
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
  // some stacks send unprotected (OpenSSL 3.0 as a client, see PEERS.md trap 8).
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

// Emits one handshake message and follows what it changes; true when it changes this side's keys.
bool TraceDecoder::Impl::handshake_message(Stream& s, const RecordContext& rc, int type,
                                           ByteView body) {
  auto& e = emit(s, rc, EventKind::handshake, handshake_name(type));
  e.handshake_type = type;
  e.message_length = body.size();
  auto fail = [&e](const std::string& why) {
    e.kind = EventKind::malformed;
    e.detail = why;
  };

  switch (type) {
  case hs_client_hello:
    client_hello(s, rc, body, e);
    return false;
  case hs_server_hello:
    saw_server_hello = true;
    return server_hello(s, rc, body, e);
  case hs_certificate: {
    const auto f = detail::parse_certificate(body, tls13());
    if (!f.error.empty()) {
      fail(f.error);
      return false;
    }
    e.detail = certificate_detail(f);
    if (s.dir == Direction::server_to_client) {
      summary.server_certificates = f.count;
      summary.server_certificate_names = f.names;
    } else {
      summary.client_certificates = f.count;
      summary.client_certificate_names = f.names;
    }
    return false;
  }
  case hs_certificate_request:
    if (s.dir == Direction::server_to_client)
      summary.certificate_request = true;
    return false;
  case hs_finished:
    // TLS 1.3: after its Finished a side sends with the application traffic keys (§7.1).
    if (tls13() && s.epoch13 == 1) {
      s.epoch13 = 2;
      s.keys = std::move(s.app_keys);
      s.app_keys.reset();
      s.seq = 0;
      return true;
    }
    return false;
  case hs_key_update:
    if (body.size() != 1 || body[0] > 1) {
      fail("KeyUpdate with body " + hex_bytes(body, 8));
      return false;
    }
    e.detail = body[0] == 1 ? "update_requested" : "update_not_requested";
    // RFC 8446 §4.6.3: the sender's next records use the next application traffic secret.
    if (tls13() && s.epoch13 >= 2) {
      ++s.epoch13;
      s.seq = 0;
      s.keys.reset();
      if (!s.app_secret.empty() && suite) {
        try {
          s.app_secret = tls13_next_traffic_secret(*suite, s.app_secret);
          s.keys = tls13_traffic_keys(*suite, s.app_secret);
        } catch (const tlsmatrix::Error& error) {
          s.app_secret.clear();
          s.no_keys = std::string("key derivation failed: ") + error.what();
        }
      }
      return true;
    }
    return false;
  default:
    return false;
  }
}

void TraceDecoder::Impl::client_hello(Stream& s, const RecordContext&, ByteView body,
                                      TraceEvent& e) {
  const auto f = detail::parse_client_hello(body);
  if (!f.error.empty()) {
    e.kind = EventKind::malformed;
    e.detail = f.error;
    return;
  }
  if (s.dir != Direction::client_to_server)
    e.detail = "sent by the server; ";
  // A second ClientHello (after a HelloRetryRequest) keeps the random (RFC 8446 §4.1.2).
  set_client_random(f.random);
  summary.server_name = f.server_name;
  summary.offered_versions = f.versions;
  e.detail += "sni=" + (f.server_name.empty() ? std::string("(none)") : f.server_name) +
              " versions=" + version_list(f.versions) +
              " suites=" + std::to_string(f.cipher_suites);
}

// The key log is matched by the ClientHello's random.
void TraceDecoder::Impl::set_client_random(const Bytes& random) {
  client_random = random;
  summary.keys_found = false;
  for (const char* label :
       {"CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"})
    summary.keys_found = summary.keys_found || keylog.find(label, client_random) != nullptr;
}

// True when it starts TLS 1.3 protection: the ServerHello is the server's last plaintext
// message (RFC 8446 §2).
bool TraceDecoder::Impl::server_hello(Stream& s, const RecordContext&, ByteView body,
                                      TraceEvent& e) {
  const auto f = detail::parse_server_hello(body);
  if (!f.error.empty()) {
    e.kind = EventKind::malformed;
    e.detail = f.error;
    return false;
  }
  if (s.dir != Direction::server_to_client)
    e.detail = "sent by the client; ";
  if (f.hello_retry_request) {
    e.name = "HelloRetryRequest";
    summary.hello_retry_request = true;
    // Only TLS 1.3 has it (RFC 8446 §4.1.4); the keys come with the next ServerHello.
    version = f.version;
    summary.version = f.version;
    e.detail += version_name(f.version) + " " + cipher_suite_name(f.cipher_suite);
    return false;
  }
  server_random = f.random;
  version = f.version;
  summary.version = f.version;
  summary.cipher_suite = f.cipher_suite;
  suite = suite_crypto(f.cipher_suite);
  e.detail += version_name(f.version) + " " + cipher_suite_name(f.cipher_suite);
  if (tls13()) {
    start_tls13();
    return true;
  }
  keys12.reset();
  if (!suite || suite->tls13) {
    no_keys12 = "cipher suite " + cipher_suite_name(f.cipher_suite) +
                " is not decrypted (AEAD suites only)";
    return false;
  }
  const Bytes* master =
      client_random.empty() ? nullptr : keylog.find("CLIENT_RANDOM", client_random);
  if (!master) {
    no_keys12 = "no CLIENT_RANDOM for this connection in the key log";
    return false;
  }
  try {
    keys12 = tls12_keys(*suite, *master, client_random, server_random);
  } catch (const tlsmatrix::Error& error) {
    no_keys12 = std::string("key derivation failed: ") + error.what();
  }
  return false;
}

// TLS 1.3 after the ServerHello: both sides use handshake traffic keys, then application keys
// (RFC 8446 §7.1, §7.3), from the key log's secrets for this ClientHello's random.
void TraceDecoder::Impl::start_tls13() {
  struct Labels {
    Stream* stream;
    const char* handshake;
    const char* application;
  };
  for (const Labels& l :
       {Labels{&client, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"},
        Labels{&server, "SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"}}) {
    Stream& s = *l.stream;
    s.epoch13 = 1;
    s.seq = 0;
    s.keys.reset();
    s.app_keys.reset();
    s.app_secret.clear();
    if (!suite || !suite->tls13) {
      s.no_keys = "cipher suite " + cipher_suite_name(summary.cipher_suite) + " is not decrypted";
      continue;
    }
    const Bytes* hs = keylog.find(l.handshake, client_random);
    const Bytes* app = keylog.find(l.application, client_random);
    if (!hs && !app) {
      s.no_keys = "no secrets for this connection in the key log";
      continue;
    }
    s.no_keys = "the key log lacks this epoch's secret";
    try {
      if (hs)
        s.keys = tls13_traffic_keys(*suite, *hs);
      if (app) {
        s.app_secret = *app;
        s.app_keys = tls13_traffic_keys(*suite, *app);
      }
    } catch (const tlsmatrix::Error& error) {
      s.keys.reset();
      s.app_keys.reset();
      s.no_keys = std::string("key derivation failed: ") + error.what();
    }
  }
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
