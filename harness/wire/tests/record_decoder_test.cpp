// The wire decoder on hand-built TLS records: reassembly across chunks and records, several
// messages per record, ChangeCipherSpec, alerts, SSLv2 hellos, TLS 1.3 protection without keys,
// and malformed input of every kind (truncated, garbage, huge lengths), never a crash.
#include "harness/wire/key_log.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/trace.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace harness::wire;
using namespace std::chrono_literals;

constexpr auto C = Direction::client_to_server;
constexpr auto S = Direction::server_to_client;

// --- building records ----------------------------------------------------------------------

void append(Bytes& out, std::initializer_list<Bytes> parts) {
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
}
Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  append(out, parts);
  return out;
}
Bytes u16(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
Bytes u24(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v)};
}
Bytes vec8(const Bytes& b) {
  return cat({{static_cast<std::uint8_t>(b.size())}, b});
}
Bytes vec16(const Bytes& b) {
  return cat({u16(b.size()), b});
}
Bytes vec24(const Bytes& b) {
  return cat({u24(b.size()), b});
}
Bytes text(std::string_view s) {
  return Bytes(s.begin(), s.end());
}
Bytes filled(std::size_t n, std::uint8_t v) {
  return Bytes(n, v);
}

Bytes record(std::uint8_t type, const Bytes& body, std::uint16_t version = 0x0303) {
  return cat({{type}, u16(version), u16(body.size()), body});
}
Bytes handshake(std::uint8_t type, const Bytes& body) {
  return cat({{type}, u24(body.size()), body});
}
Bytes extension(std::uint16_t type, const Bytes& data) {
  return cat({u16(type), vec16(data)});
}

Bytes client_hello_body(const Bytes& random, const std::string& sni,
                        const std::vector<std::uint16_t>& versions) {
  Bytes exts;
  if (!sni.empty())
    append(exts, {extension(0, vec16(cat({{0}, vec16(text(sni))})))});
  if (!versions.empty()) {
    Bytes list;
    for (auto v : versions)
      append(list, {u16(v)});
    append(exts, {extension(43, vec8(list))});
  }
  return cat({u16(0x0303), random, vec8({}), vec16(cat({u16(0x1301), u16(0xc02f), u16(0x009c)})),
              vec8({0}), vec16(exts)});
}
Bytes client_hello(const Bytes& random = filled(32, 0xaa), const std::string& sni = "localhost",
                   const std::vector<std::uint16_t>& versions = {}) {
  return handshake(1, client_hello_body(random, sni, versions));
}

Bytes server_hello(std::uint16_t suite, std::optional<std::uint16_t> supported_version = {},
                   const Bytes& random = filled(32, 0xbb)) {
  Bytes exts;
  if (supported_version)
    append(exts, {extension(43, u16(*supported_version))});
  return handshake(2, cat({u16(0x0303), random, vec8({}), u16(suite), {0}, vec16(exts)}));
}

// A TLS 1.2 Certificate message; its "certificates" need not be DER for counting.
Bytes certificate12(const std::vector<Bytes>& certs) {
  Bytes list;
  for (const auto& c : certs)
    append(list, {vec24(c)});
  return handshake(11, vec24(list));
}

Bytes ccs() {
  return record(20, {1});
}
Bytes alert(std::uint8_t level, std::uint8_t description) {
  return record(21, {level, description});
}

// The textbook TLS 1.2 1-way flight of each side, without keys for the protected Finished.
struct Flights {
  Bytes c_hello = record(22, client_hello());
  Bytes s_flight =
      record(22, cat({server_hello(0x009c), certificate12({filled(300, 0x30), filled(200, 0x30)}),
                      handshake(14, {})}));
  Bytes c_flight = cat(
      {record(22, handshake(16, vec16(filled(256, 0x11)))), ccs(), record(22, filled(40, 0x77))});
  Bytes s_finish = cat({ccs(), record(22, filled(40, 0x66))});
};

std::vector<Chunk> whole(const Flights& f) {
  return {{C, 1ms, f.c_hello}, {S, 2ms, f.s_flight}, {C, 3ms, f.c_flight}, {S, 4ms, f.s_finish}};
}

// "C ClientHello", "S fatal unknown_ca", … for every event.
std::vector<std::string> ladder(const std::vector<TraceEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events)
    out.push_back((e.direction == C ? "C " : "S ") + e.name);
  return out;
}
std::vector<std::string> ladder(const Trace& t) {
  return ladder(t.events);
}

int count_kind(const Trace& t, EventKind k) {
  int n = 0;
  for (const auto& e : t.events)
    n += e.kind == k ? 1 : 0;
  return n;
}

std::string dump(const Trace& t) {
  std::string out;
  for (const auto& e : t.events)
    out += std::string(to_string(e.direction)) + " " + std::string(to_string(e.kind)) + " " +
           e.name + " [" + e.detail + "]\n";
  return out;
}

const std::vector<std::string> one_way_without_keys = {"C ClientHello",
                                                       "S ServerHello",
                                                       "S Certificate",
                                                       "S ServerHelloDone",
                                                       "C ClientKeyExchange",
                                                       "C ChangeCipherSpec",
                                                       "C EncryptedHandshakeMessage",
                                                       "S ChangeCipherSpec",
                                                       "S EncryptedHandshakeMessage"};

// --- tests ------------------------------------------------------------------------------------

TEST(RecordDecoder, Tls12OneWayFlowFromWholeRecords) {
  const auto trace = decode_trace(whole(Flights{}));
  EXPECT_EQ(ladder(trace), one_way_without_keys) << dump(trace);
  ASSERT_EQ(trace.events.size(), 9u);
  // Three messages in one record: each has its own length, all carry the record's.
  const auto& sh = trace.events[1];
  EXPECT_EQ(sh.kind, EventKind::handshake);
  EXPECT_EQ(sh.handshake_type, 2);
  EXPECT_EQ(sh.time, 2ms);
  EXPECT_EQ(sh.detail, "TLS 1.2 TLS_RSA_WITH_AES_128_GCM_SHA256");
  const auto& cert = trace.events[2];
  EXPECT_EQ(cert.message_length, 3u + 3 + 300 + 3 + 200);
  EXPECT_EQ(cert.record_length, trace.events[3].record_length);
  EXPECT_EQ(cert.detail, "2 certificates: ?, ?");
  EXPECT_EQ(trace.events[3].message_length, 0u);
  // Protected without keys: encrypted, with the reason.
  EXPECT_EQ(trace.events[6].kind, EventKind::encrypted);
  EXPECT_EQ(trace.events[6].record_length, 40u);
  EXPECT_FALSE(trace.events[6].decrypted);
  EXPECT_NE(trace.events[6].detail.find("no CLIENT_RANDOM"), std::string::npos);
  EXPECT_EQ(trace.summary.server_name, "localhost");
  EXPECT_EQ(trace.summary.version, 0x0303);
  EXPECT_EQ(trace.summary.cipher_suite, 0x009c);
  EXPECT_EQ(trace.summary.server_certificates, 2u);
  EXPECT_FALSE(trace.summary.client_certificates.has_value());
  EXPECT_FALSE(trace.summary.certificate_request);
  EXPECT_FALSE(trace.summary.keys_found);
  EXPECT_EQ(count_kind(trace, EventKind::malformed), 0);
}

TEST(RecordDecoder, ByteByByteChunksGiveTheSameTrace) {
  const Flights f;
  const auto reference = decode_trace(whole(f));
  std::vector<Chunk> tiny;
  for (const auto& c : whole(f))
    for (auto b : c.bytes)
      tiny.push_back({c.dir, c.t, {b}});
  const auto trace = decode_trace(tiny);
  ASSERT_EQ(ladder(trace), ladder(reference));
  for (std::size_t i = 0; i < trace.events.size(); ++i) {
    EXPECT_EQ(trace.events[i].record_length, reference.events[i].record_length) << i;
    EXPECT_EQ(trace.events[i].message_length, reference.events[i].message_length) << i;
  }
}

TEST(RecordDecoder, RandomSplitsGiveTheSameTrace) {
  const Flights f;
  const auto reference = ladder(decode_trace(whole(f)));
  std::mt19937 rng(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<Chunk> chunks;
    for (const auto& c : whole(f)) {
      std::size_t pos = 0;
      while (pos < c.bytes.size()) {
        const std::size_t n = std::min<std::size_t>(1 + rng() % 64, c.bytes.size() - pos);
        chunks.push_back({c.dir, c.t,
                          Bytes(c.bytes.begin() + static_cast<std::ptrdiff_t>(pos),
                                c.bytes.begin() + static_cast<std::ptrdiff_t>(pos + n))});
        pos += n;
      }
    }
    ASSERT_EQ(ladder(decode_trace(chunks)), reference) << "round " << round;
  }
}

TEST(RecordDecoder, TheTimeIsThatOfTheChunkCompletingTheRecord) {
  const Bytes hello = record(22, client_hello());
  const std::vector<Chunk> chunks = {{C, 5ms, Bytes(hello.begin(), hello.begin() + 10)},
                                     {C, 9ms, Bytes(hello.begin() + 10, hello.end())}};
  const auto trace = decode_trace(chunks);
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_EQ(trace.events[0].time, 9ms);
}

TEST(RecordDecoder, OneMessageAcrossSeveralRecords) {
  // A 40 000-byte Certificate message needs three records of at most 2^14 bytes.
  const Bytes message = certificate12({filled(20000, 0x30), filled(19990, 0x30)});
  std::vector<Chunk> chunks = {{C, 1ms, record(22, client_hello())}};
  Bytes server;
  for (std::size_t pos = 0; pos < message.size(); pos += 16384) {
    const std::size_t n = std::min<std::size_t>(16384, message.size() - pos);
    append(server, {record(22, Bytes(message.begin() + static_cast<std::ptrdiff_t>(pos),
                                     message.begin() + static_cast<std::ptrdiff_t>(pos + n)))});
  }
  chunks.push_back({S, 2ms, server});
  const auto trace = decode_trace(chunks);
  ASSERT_EQ(ladder(trace), (std::vector<std::string>{"C ClientHello", "S Certificate"}))
      << dump(trace);
  EXPECT_EQ(trace.events[1].message_length, message.size() - 4);
  EXPECT_EQ(trace.events[1].record_length, message.size() - 2 * 16384); // the last record
  EXPECT_EQ(trace.events[1].detail, "2 certificates: ?, ?");
}

TEST(RecordDecoder, TwoWayMessagesAndRealCertificateNames) {
  // A CertificateRequest and a client Certificate; an empty client Certificate is shown too.
  const Bytes cert_request = handshake(13, cat({vec8({1, 64}), vec16(u16(0x0401)), vec16({})}));
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(22, client_hello())},
      {S, 2ms,
       record(22, cat({server_hello(0xc02f), handshake(12, filled(100, 1)), cert_request,
                       handshake(14, {})}))},
      {C, 3ms, record(22, cat({certificate12({}), handshake(16, vec8(filled(65, 4)))}))}});
  EXPECT_EQ(ladder(trace),
            (std::vector<std::string>{"C ClientHello", "S ServerHello", "S ServerKeyExchange",
                                      "S CertificateRequest", "S ServerHelloDone", "C Certificate",
                                      "C ClientKeyExchange"}))
      << dump(trace);
  EXPECT_TRUE(trace.summary.certificate_request);
  EXPECT_EQ(trace.summary.client_certificates, 0u);
  EXPECT_EQ(trace.events[5].detail, "empty (no certificate)");
}

TEST(RecordDecoder, AlertsByLevelAndDescription) {
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(22, client_hello())},
      {S, 2ms, alert(2, 40)},
      {C, 3ms, record(21, {2, 45, 1, 0})}, // two alerts in one TLS 1.2 record
  });
  ASSERT_EQ(ladder(trace),
            (std::vector<std::string>{"C ClientHello", "S fatal handshake_failure",
                                      "C fatal certificate_expired", "C warning close_notify"}))
      << dump(trace);
  const auto& a = trace.events[1];
  EXPECT_EQ(a.kind, EventKind::alert);
  EXPECT_EQ(a.alert_level, 2);
  EXPECT_EQ(a.alert_description, 40);
  EXPECT_EQ(a.message_length, 2u);
  EXPECT_FALSE(a.decrypted);
}

TEST(RecordDecoder, MalformedAlertAndChangeCipherSpecBodies) {
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(21, {2})}, {C, 2ms, record(20, {2})}, {C, 3ms, record(20, {1, 1})}});
  ASSERT_EQ(trace.events.size(), 3u) << dump(trace);
  EXPECT_EQ(count_kind(trace, EventKind::malformed), 3);
  EXPECT_EQ(trace.events[0].detail, "alert record of 1 bytes");
}

TEST(RecordDecoder, ApplicationDataSizeAndPreview) {
  const auto trace =
      decode_trace(std::vector<Chunk>{{C, 1ms, record(23, text("GET / HTTP/1.0\r\n"))}});
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_EQ(trace.events[0].kind, EventKind::application_data);
  EXPECT_EQ(trace.events[0].message_length, 16u);
  EXPECT_EQ(trace.events[0].detail, "\"GET / HTTP/1.0\\r\\n\"");
}

TEST(RecordDecoder, HeartbeatRecord) {
  const auto trace = decode_trace(std::vector<Chunk>{{C, 1ms, record(24, {1, 0, 0})}});
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_EQ(trace.events[0].kind, EventKind::heartbeat);
}

TEST(RecordDecoder, Sslv2CompatibleClientHello) {
  // RFC 5246 E.2: 2-byte header (high bit set), msg_type 1, version 3.1, three 3-byte cipher
  // specs, no session id, a 16-byte challenge.
  const Bytes message = cat({{1},
                             u16(0x0301),
                             u16(9),
                             u16(0),
                             u16(16),
                             {0x00, 0x00, 0x2f, 0x00, 0x00, 0x35, 0x01, 0x00, 0x80},
                             filled(16, 0xcc)});
  const Bytes hello = cat({u16(0x8000 | message.size()), message});
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, Bytes(hello.begin(), hello.begin() + 1)}, // the header arrives in pieces
      {C, 2ms, Bytes(hello.begin() + 1, hello.end())},
      {S, 3ms, record(22, server_hello(0x002f, {}))},
      {C, 4ms, alert(2, 40)}});
  ASSERT_EQ(ladder(trace), (std::vector<std::string>{"C SSLv2ClientHello", "S ServerHello",
                                                     "C fatal handshake_failure"}))
      << dump(trace);
  EXPECT_EQ(trace.events[0].kind, EventKind::sslv2_client_hello);
  EXPECT_EQ(trace.events[0].detail, "version TLS 1.0, 3 cipher specs");
  EXPECT_EQ(trace.events[0].message_length, message.size());
  EXPECT_EQ(trace.summary.offered_versions, std::vector<std::uint16_t>{0x0301});
}

TEST(RecordDecoder, Sslv2HeaderWithAnotherMessageIsMalformed) {
  const auto trace = decode_trace(std::vector<Chunk>{{C, 1ms, {0x80, 0x05, 0x04, 0, 0, 0, 0}}});
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_EQ(trace.events[0].kind, EventKind::malformed);
}

TEST(RecordDecoder, PlaintextThatIsNotTlsIsMalformedOnceAndSkipped) {
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, text("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
      {C, 2ms, record(22, client_hello())}, // too late: the stream's framing is lost
      {S, 3ms, text("HTTP/1.1 400 Bad Request\r\n")}});
  ASSERT_EQ(trace.events.size(), 2u) << dump(trace);
  EXPECT_EQ(trace.events[0].kind, EventKind::malformed);
  EXPECT_EQ(trace.events[0].direction, C);
  EXPECT_NE(trace.events[0].detail.find("not a TLS record: content type 71"), std::string::npos);
  EXPECT_NE(trace.events[0].detail.find("bytes from there on not decoded"), std::string::npos);
  EXPECT_EQ(trace.events[1].direction, S);
}

TEST(RecordDecoder, HugeRecordLengthIsRejectedWithoutWaitingForIt) {
  TraceDecoder d;
  d.feed(C, 1ms, Bytes{22, 3, 3, 0xff, 0xff, 1, 2, 3});
  ASSERT_EQ(d.events().size(), 1u);
  EXPECT_EQ(d.events()[0].kind, EventKind::malformed);
  EXPECT_NE(d.events()[0].detail.find("record_overflow"), std::string::npos);
  d.feed(C, 2ms, filled(100000, 0)); // skipped, not buffered
  d.finish();
  EXPECT_NE(d.events()[0].detail.find("100008 bytes"), std::string::npos) << d.events()[0].detail;
}

TEST(RecordDecoder, BadRecordVersionIsMalformed) {
  const auto trace =
      decode_trace(std::vector<Chunk>{{S, 1ms, record(22, server_hello(0x009c), 0x0203)}});
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_NE(trace.events[0].detail.find("version 0x0203"), std::string::npos);
}

TEST(RecordDecoder, HugeHandshakeLengthIsRejected) {
  // A message that claims 16 MiB: reported at once, not buffered.
  const auto trace =
      decode_trace(std::vector<Chunk>{{S, 1ms, record(22, {11, 0xff, 0xff, 0xff, 0})}});
  ASSERT_EQ(trace.events.size(), 1u) << dump(trace);
  EXPECT_EQ(trace.events[0].kind, EventKind::malformed);
  EXPECT_EQ(trace.events[0].name, "Certificate");
}

TEST(RecordDecoder, TruncatedStreamsAreReported) {
  const Bytes hello = record(22, client_hello());
  const auto header_only =
      decode_trace(std::vector<Chunk>{{C, 1ms, Bytes(hello.begin(), hello.begin() + 3)}});
  ASSERT_EQ(header_only.events.size(), 1u);
  EXPECT_EQ(header_only.events[0].detail,
            "stream ends inside a record: 3 bytes of a record header");

  const auto partial =
      decode_trace(std::vector<Chunk>{{C, 7ms, Bytes(hello.begin(), hello.end() - 1)}});
  ASSERT_EQ(partial.events.size(), 1u);
  EXPECT_EQ(partial.events[0].time, 7ms);
  EXPECT_EQ(partial.events[0].detail,
            "stream ends inside a record: " + std::to_string(hello.size() - 6) + " of " +
                std::to_string(hello.size() - 5) + " bytes");

  // A whole record that holds only part of a handshake message.
  const Bytes message = client_hello();
  const auto cut = decode_trace(
      std::vector<Chunk>{{C, 1ms, record(22, Bytes(message.begin(), message.begin() + 20))}});
  ASSERT_EQ(cut.events.size(), 1u);
  EXPECT_EQ(cut.events[0].detail, "stream ends inside a handshake message (20 bytes)");
}

TEST(RecordDecoder, MalformedHandshakeBodiesKeepTheirName) {
  const auto trace =
      decode_trace(std::vector<Chunk>{{C, 1ms, record(22, handshake(1, filled(10, 0)))},
                                      {S, 2ms, record(22, handshake(2, filled(3, 0)))},
                                      {S, 3ms, record(22, handshake(11, {0, 0, 9, 0}))}});
  ASSERT_EQ(ladder(trace),
            (std::vector<std::string>{"C ClientHello", "S ServerHello", "S Certificate"}))
      << dump(trace);
  EXPECT_EQ(count_kind(trace, EventKind::malformed), 3);
}

TEST(RecordDecoder, EmptyAndInterruptedHandshakeRecords) {
  const Bytes message = client_hello();
  const auto trace = decode_trace(
      std::vector<Chunk>{{C, 1ms, record(22, {})},
                         {C, 2ms, record(22, Bytes(message.begin(), message.begin() + 10))},
                         {C, 3ms, alert(1, 0)}});
  ASSERT_EQ(trace.events.size(), 3u) << dump(trace);
  EXPECT_EQ(trace.events[0].detail, "empty handshake record");
  EXPECT_NE(trace.events[1].detail.find("handshake message cut by a record of content type 21"),
            std::string::npos);
  EXPECT_EQ(trace.events[2].name, "warning close_notify");
}

TEST(RecordDecoder, ClientHelloFields) {
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(22, client_hello(filled(32, 1), "example.test", {0x3a3a, 0x0304, 0x0303}))}});
  ASSERT_EQ(trace.events.size(), 1u);
  EXPECT_EQ(trace.events[0].detail, "sni=example.test versions=TLS 1.3,TLS 1.2 suites=3");
  EXPECT_EQ(trace.summary.offered_versions, (std::vector<std::uint16_t>{0x3a3a, 0x0304, 0x0303}));
  const auto no_sni =
      decode_trace(std::vector<Chunk>{{C, 1ms, record(22, client_hello(filled(32, 1), ""))}});
  EXPECT_EQ(no_sni.events[0].detail, "sni=(none) versions=TLS 1.2 suites=3");
}

TEST(RecordDecoder, Tls13WithoutKeysIsEncryptedAfterTheServerHello) {
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(22, client_hello(filled(32, 1), "localhost", {0x0304}))},
      {S, 2ms,
       cat({record(22, server_hello(0x1301, 0x0304)), ccs(), record(23, filled(600, 9)),
            record(23, filled(80, 9))})},
      {C, 3ms, cat({ccs(), record(23, filled(53, 9))})},
      {C, 4ms, alert(2, 42)}, // an unprotected alert after the ServerHello is still read
      {S, 5ms, record(23, filled(19, 9))}});
  EXPECT_EQ(ladder(trace),
            (std::vector<std::string>{"C ClientHello", "S ServerHello", "S ChangeCipherSpec",
                                      "S EncryptedRecord", "S EncryptedRecord",
                                      "C ChangeCipherSpec", "C EncryptedRecord",
                                      "C fatal bad_certificate", "S EncryptedRecord"}))
      << dump(trace);
  EXPECT_EQ(trace.events[1].detail, "TLS 1.3 TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(trace.events[2].detail, "middlebox compatibility");
  EXPECT_EQ(trace.events[3].kind, EventKind::encrypted);
  EXPECT_EQ(trace.events[3].record_length, 600u);
  EXPECT_EQ(trace.events[3].detail, "no secrets for this connection in the key log");
  EXPECT_EQ(trace.summary.version, 0x0304);
}

TEST(RecordDecoder, ChangeCipherSpecProtectsOnlyAfterAServerHello) {
  // Before any ServerHello there is nothing to change to (a TLS 1.3 client with early data sends
  // its compatibility ChangeCipherSpec there); after one, even one whose body is malformed, the
  // TLS 1.2 rule holds and the next record is protected.
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, cat({record(22, client_hello()), ccs(), record(22, handshake(20, filled(12, 0)))})},
      {S, 2ms, cat({record(22, handshake(2, filled(5, 0))), ccs(), record(22, filled(40, 1))})}});
  EXPECT_EQ(ladder(trace), (std::vector<std::string>{
                               "C ClientHello", "C ChangeCipherSpec", "C Finished", "S ServerHello",
                               "S ChangeCipherSpec", "S EncryptedHandshakeMessage"}))
      << dump(trace);
  EXPECT_EQ(trace.events[1].detail, "before any ServerHello");
  EXPECT_EQ(trace.events[3].kind, EventKind::malformed);
}

TEST(RecordDecoder, HelloRetryRequestIsNamedAndChangesNoKeys) {
  const Bytes hrr_random = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c,
                            0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb,
                            0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  const auto trace = decode_trace(std::vector<Chunk>{
      {C, 1ms, record(22, client_hello(filled(32, 1), "localhost", {0x0304}))},
      {S, 2ms, cat({record(22, server_hello(0x1301, 0x0304, hrr_random)), ccs()})},
      {C, 3ms, cat({ccs(), record(22, client_hello(filled(32, 1), "localhost", {0x0304}))})},
      {S, 4ms, cat({record(22, server_hello(0x1301, 0x0304)), record(23, filled(30, 0))})}});
  EXPECT_EQ(ladder(trace),
            (std::vector<std::string>{"C ClientHello", "S HelloRetryRequest", "S ChangeCipherSpec",
                                      "C ChangeCipherSpec", "C ClientHello", "S ServerHello",
                                      "S EncryptedRecord"}))
      << dump(trace);
  EXPECT_TRUE(trace.summary.hello_retry_request);
}

TEST(RecordDecoder, DirectionsInterleaveInArrivalOrder) {
  const auto trace = decode_trace(
      std::vector<Chunk>{{S, 1ms, alert(1, 0)}, {C, 2ms, alert(1, 0)}, {S, 3ms, alert(2, 80)}});
  EXPECT_EQ(ladder(trace),
            (std::vector<std::string>{"S warning close_notify", "C warning close_notify",
                                      "S fatal internal_error"}));
}

TEST(RecordDecoder, FeedingAfterFinishChangesNothing) {
  TraceDecoder d;
  d.feed(C, 1ms, record(22, client_hello()));
  d.finish();
  d.feed(C, 2ms, alert(2, 40));
  d.finish();
  EXPECT_EQ(d.events().size(), 1u);
}

TEST(RecordDecoder, RandomGarbageNeverCrashes) {
  // A cheap cousin of the fuzzer (harness/fuzz): random bytes, sometimes after a valid prefix.
  std::mt19937 rng(7);
  const Flights f;
  for (int round = 0; round < 3000; ++round) {
    TraceDecoder d(round % 2 == 0 ? KeyLog{}
                                  : parse_key_log("CLIENT_RANDOM " + std::string(64, 'a') + " " +
                                                  std::string(96, '1')));
    if (round % 3 == 0)
      d.feed(C, 0ms, f.c_hello);
    if (round % 5 == 0)
      d.feed(S, 0ms, f.s_flight);
    const int chunks = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < chunks; ++i) {
      Bytes junk(rng() % 300);
      for (auto& b : junk)
        b = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() % 25 : rng());
      // Often give it a plausible record header so the inner layers get garbage too.
      if (junk.size() > 5 && rng() % 2 == 0) {
        junk[0] = static_cast<std::uint8_t>(20 + rng() % 5);
        junk[1] = 3;
        junk[2] = 3;
        junk[3] = static_cast<std::uint8_t>((junk.size() - 5) >> 8);
        junk[4] = static_cast<std::uint8_t>(junk.size() - 5);
      }
      d.feed(rng() % 2 == 0 ? C : S, std::chrono::microseconds(i), junk);
    }
    d.finish();
    for (const auto& e : d.events())
      ASSERT_FALSE(e.name.empty());
  }
}

// --- key logs ---------------------------------------------------------------------------------

TEST(KeyLog, ParsesNssLinesAndCountsTheRest) {
  const std::string random(64, 'a');
  const auto log = parse_key_log("# a comment\n\n"
                                 "CLIENT_RANDOM " +
                                 random + " " + std::string(96, '0') +
                                 "\n"
                                 "SERVER_HANDSHAKE_TRAFFIC_SECRET " +
                                 random + " " + std::string(64, 'F') +
                                 "\r\n"
                                 "CLIENT_RANDOM tooshort 00\n"
                                 "CLIENT_RANDOM " +
                                 random +
                                 " 0g\n"
                                 "CLIENT_RANDOM " +
                                 random +
                                 " 00 extra\n"
                                 "LONELY_LABEL\n");
  EXPECT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.ignored_lines, 4u);
  const Bytes r(32, 0xaa);
  ASSERT_NE(log.find("CLIENT_RANDOM", r), nullptr);
  EXPECT_EQ(*log.find("CLIENT_RANDOM", r), Bytes(48, 0));
  EXPECT_EQ(*log.find("SERVER_HANDSHAKE_TRAFFIC_SECRET", r), Bytes(32, 0xff));
  EXPECT_EQ(log.find("CLIENT_TRAFFIC_SECRET_0", r), nullptr);
  EXPECT_EQ(log.find("CLIENT_RANDOM", Bytes(32, 0xab)), nullptr);
}

TEST(KeyLog, KeysFoundOnlyForTheMatchingClientRandom) {
  const auto log =
      parse_key_log("CLIENT_RANDOM " + std::string(64, 'a') + " " + std::string(96, '0'));
  const Flights f;
  EXPECT_TRUE(decode_trace(whole(f), log).summary.keys_found); // client_hello() uses 0xaa…
  Flights other;
  other.c_hello = record(22, client_hello(filled(32, 0x01)));
  EXPECT_FALSE(decode_trace(whole(other), log).summary.keys_found);
}

TEST(Names, VersionsSuitesAndHandshakeTypes) {
  EXPECT_EQ(version_name(0x0303), "TLS 1.2");
  EXPECT_EQ(version_name(0x7f1c), "0x7f1c");
  EXPECT_EQ(cipher_suite_name(0x1302), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(cipher_suite_name(0xabcd), "0xabcd");
  EXPECT_EQ(handshake_name(8), "EncryptedExtensions");
  EXPECT_EQ(handshake_name(99), "HandshakeType(99)");
  EXPECT_EQ(to_string(EventKind::sslv2_client_hello), "sslv2_client_hello");
  EXPECT_EQ(to_string(Direction::server_to_client), "server->client");
}

} // namespace
