// Decryption in the wire decoder: the TLS 1.3 key schedule and record protection against the
// RFC 8448 "Simple 1-RTT Handshake" vectors, the decoder's key epochs on records sealed here, and
// real TLS 1.2 / 1.3 traffic between OpenSSL endpoints recorded through a loopback forwarder and
// decrypted with the key log OpenSSL wrote.
#include "harness/wire/trace.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include "harness/endpoint/local_endpoint.hpp"
#include "harness/wire/key_log.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/tls_decrypt.hpp"
#include "pki_fixture.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace harness::wire;
using namespace std::chrono_literals;
using harness::ClientAuth;
using harness::TlsConfig;
using harness::TlsVersion;

constexpr auto C = Direction::client_to_server;
constexpr auto S = Direction::server_to_client;

// "17 03 03 …" (any whitespace) to bytes.
Bytes hex(std::string_view text) {
  Bytes out;
  int high = -1;
  for (char c : text) {
    int v = -1;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high * 16 + v));
      high = -1;
    }
  }
  EXPECT_EQ(high, -1) << "odd number of hex digits";
  return out;
}

std::string to_hex(ByteView bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// "C ClientHello" for every event (or only handshake messages and ChangeCipherSpec).
std::vector<std::string> ladder(const std::vector<TraceEvent>& events, bool flow_only = false) {
  std::vector<std::string> out;
  for (const auto& e : events)
    if (!flow_only || e.kind == EventKind::handshake || e.kind == EventKind::change_cipher_spec)
      out.push_back((e.direction == C ? "C " : "S ") + e.name);
  return out;
}

std::string dump(const std::vector<TraceEvent>& events) {
  std::string out;
  for (const auto& e : events)
    out += std::string(to_string(e.direction)) + " " + std::string(to_string(e.kind)) + " " +
           e.name + (e.decrypted ? " (decrypted)" : "") + " [" + e.detail + "]\n";
  return out;
}

// With TLSMATRIX_TEST_VERBOSE set, the traces of real traffic are printed.
void report(const Trace& trace) {
  if (std::getenv("TLSMATRIX_TEST_VERBOSE") == nullptr)
    return;
  std::cout << "[trace] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << "\n"
            << dump(trace.events);
}

const TraceEvent* find_event(const std::vector<TraceEvent>& events, Direction d,
                             const std::string& name) {
  for (const auto& e : events)
    if (e.direction == d && e.name == name)
      return &e;
  return nullptr;
}

// --- RFC 8448 §3, Simple 1-RTT Handshake (TLS_AES_128_GCM_SHA256) ---------------------------

namespace rfc8448 {

// {server} derive secret "tls13 s hs traffic": PRK = handshake secret, hash = transcript hash
const char* handshake_secret =
    "1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e"
    "d2 21 a9 f0 ca 04 3f be ac";
const char* handshake_hash = "86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9"
                             "5f 02 ed 06 3c f0 e1 ca d8";
const char* client_hs_secret = "b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5"
                               "2e 96 00 74 6a 0e 27 a5 5a 21";
const char* server_hs_secret = "b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9"
                               "10 5d 42 be fd 59 d3 91 ad 38";
// {server} derive secret "tls13 c ap traffic": PRK = master secret, hash = transcript hash
const char* master_secret = "18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79"
                            "84 d5 a4 1d a8 d0 40 29 19";
const char* application_hash = "96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa"
                               "e4 77 7a 76 86 c9 ff 83 df 13";
const char* client_ap_secret = "9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df"
                               "00 87 f7 92 eb b7 c1 75 04 a5";
const char* server_ap_secret = "a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb"
                               "6b 3a 4b 4f 1f 3f cb 63 16 43";
// {server} derive secret for handshake "tls13 derived": PRK = early secret, hash = empty hash
const char* early_secret = "33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26"
                           "60 e1 b2 2e 10 f1 70 f9 2a";
const char* empty_hash = "e3 b0 c4 42 98 fc 1c 14 9a fb f4 c8 99 6f b9 24 27 ae 41 e4 64 9b 93 4c"
                         "a4 95 99 1b 78 52 b8 55";
const char* derived_early = "6f 26 15 a1 08 c7 02 c5 67 8f 54 fc 9d ba b6 97 16 c0 76 18 9c 48 25"
                            "0c eb ea c3 57 6c 36 11 ba";

const char* server_hs_key = "3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc";
const char* server_hs_iv = "5d 31 3e b2 67 12 76 ee 13 00 0b 30";
const char* client_hs_key = "db fa a6 93 d1 76 2c 5b 66 6a f5 d9 50 25 8d 01";
const char* client_hs_iv = "5b d3 c7 1b 83 6e 0b 76 bb 73 26 5f";
const char* server_ap_key = "9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56";
const char* server_ap_iv = "cf 78 2b 88 dd 83 54 9a ad f1 e9 84";
const char* client_ap_key = "17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51";
const char* client_ap_iv = "5b 78 92 3d ee 08 57 90 33 e5 23 d9";

// {client} construct a ClientHello handshake message (196 octets); its record header is
// "16 03 01 00 c4".
const char* client_hello =
    "01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2"
    "ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65"
    "72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03"
    "01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba"
    "fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04"
    "03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d"
    "00 02 01 01 00 1c 00 02 40 01";
// {server} send handshake record: the ServerHello (95 octets)
const char* server_hello_record =
    "16 03 03 00 5a 02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5"
    "cb 14 34 da c1 55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11"
    "20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02"
    "03 04";
// {server} send handshake record: EncryptedExtensions, Certificate, CertificateVerify, Finished
// protected with the server handshake keys (679 octets)
const char* server_flight_record =
    "17 03 03 02 a2 d1 ff 33 4a 56 f5 bf f6 59 4a 07 cc 87 b5 80 23 3f 50 0f 45 e4 89 e7 f3 3a f3"
    "5e df 78 69 fc f4 0a a4 0a a2 b8 ea 73 f8 48 a7 ca 07 61 2e f9 f9 45 cb 96 0b 40 68 90 51 23"
    "ea 78 b1 11 b4 29 ba 91 91 cd 05 d2 a3 89 28 0f 52 61 34 aa dc 7f c7 8c 4b 72 9d f8 28 b5 ec"
    "f7 b1 3b d9 ae fb 0e 57 f2 71 58 5b 8e a9 bb 35 5c 7c 79 02 07 16 cf b9 b1 18 3e f3 ab 20 e3"
    "7d 57 a6 b9 d7 47 76 09 ae e6 e1 22 a4 cf 51 42 73 25 25 0c 7d 0e 50 92 89 44 4c 9b 3a 64 8f"
    "1d 71 03 5d 2e d6 5b 0e 3c dd 0c ba e8 bf 2d 0b 22 78 12 cb b3 60 98 72 55 cc 74 41 10 c4 53"
    "ba a4 fc d6 10 92 8d 80 98 10 e4 b7 ed 1a 8f d9 91 f0 6a a6 24 82 04 79 7e 36 a6 a7 3b 70 a2"
    "55 9c 09 ea d6 86 94 5b a2 46 ab 66 e5 ed d8 04 4b 4c 6d e3 fc f2 a8 94 41 ac 66 27 2f d8 fb"
    "33 0e f8 19 05 79 b3 68 45 96 c9 60 bd 59 6e ea 52 0a 56 a8 d6 50 f5 63 aa d2 74 09 96 0d ca"
    "63 d3 e6 88 61 1e a5 e2 2f 44 15 cf 95 38 d5 1a 20 0c 27 03 42 72 96 8a 26 4e d6 54 0c 84 83"
    "8d 89 f7 2c 24 46 1a ad 6d 26 f5 9e ca ba 9a cb bb 31 7b 66 d9 02 f4 f2 92 a3 6a c1 b6 39 c6"
    "37 ce 34 31 17 b6 59 62 22 45 31 7b 49 ee da 0c 62 58 f1 00 d7 d9 61 ff b1 38 64 7e 92 ea 33"
    "0f ae ea 6d fa 31 c7 a8 4d c3 bd 7e 1b 7a 6c 71 78 af 36 87 90 18 e3 f2 52 10 7f 24 3d 24 3d"
    "c7 33 9d 56 84 c8 b0 37 8b f3 02 44 da 8c 87 c8 43 f5 e5 6e b4 c5 e8 28 0a 2b 48 05 2c f9 3b"
    "16 49 9a 66 db 7c ca 71 e4 59 94 26 f7 d4 61 e6 6f 99 88 2b d8 9f c5 08 00 be cc a6 2d 6c 74"
    "11 6d bd 29 72 fd a1 fa 80 f8 5d f8 81 ed be 5a 37 66 89 36 b3 35 58 3b 59 91 86 dc 5c 69 18"
    "a3 96 fa 48 a1 81 d6 b6 fa 4f 9d 62 d5 13 af bb 99 2f 2b 99 2f 67 f8 af e6 7f 76 91 3f a3 88"
    "cb 56 30 c8 ca 01 e0 c6 5d 11 c6 6a 1e 2a c4 c8 59 77 b7 c7 a6 99 9b bf 10 dc 35 ae 69 f5 51"
    "56 14 63 6c 0b 9b 68 c1 9e d2 e3 1c 0b 3b 66 76 30 38 eb ba 42 f3 b3 8e dc 03 99 f3 a9 f2 3f"
    "aa 63 97 8c 31 7f c9 fa 66 a7 3f 60 f0 50 4d e9 3b 5b 84 5e 27 55 92 c1 23 35 ee 34 0b bc 4f"
    "dd d5 02 78 40 16 e4 b3 be 7e f0 4d da 49 f4 b4 40 a3 0c b5 d2 af 93 98 28 fd 4a e3 79 4e 44"
    "f9 4d f5 a6 31 ed e4 2c 17 19 bf da bf 02 53 fe 51 75 be 89 8e 75 0e dc 53 37 0d 2b";
// {client} send handshake record: the client Finished (58 octets)
const char* client_finished_record =
    "17 03 03 00 35 75 ec 4d c2 38 cc e6 0b 29 80 44 a7 1e 21 9c 56 cc 77 b0 51 7f e9 b9 3c 7a 4b"
    "fc 44 d8 7f 38 f8 03 38 ac 98 fc 46 de b3 84 bd 1c ae ac ab 68 67 d7 26 c4 05 46";
// {server} send handshake record: NewSessionTicket (227 octets)
const char* new_session_ticket_record =
    "17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5 13 4a 2b 24 0e 6c ff ac 11 6e 95"
    "d4 1d 6a f8 f6 b5 80 dc f3 d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e 07 88"
    "91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0"
    "3f 75 e0 9c 30 ba 1e 62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15 13 98 91 d5"
    "e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25 db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f"
    "69 23 2c 86 51 9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02 3e 70 e9 52 ca 49"
    "fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46 d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b"
    "6c 67 79 b3 7b f1 59 85 68 4f";
// {client} / {server} send application_data record: the 50 octets 00 01 … 31 (72 octets)
const char* client_data_record =
    "17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55 cb ef ac ea 42 f9 14 aa 66 bc ab"
    "3f 2b 98 19 a8 a5 b4 6b 39 5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd 1e 3d"
    "ea e6 3a ee bb 21 69 49 15 e4";
const char* server_data_record =
    "17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4 a4 69 32 fc 32 25 d0 5f 82 aa 1b"
    "36 e3 0e fa f9 7d 90 e6 df fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2 ab f3"
    "32 54 0d d0 32 e1 67 c2 95 5d";
// {client} / {server} send alert record (24 octets)
const char* client_alert_record =
    "17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d b6 d0 b0 e3";
const char* server_alert_record =
    "17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa 7a 88 64 a9";

Bytes client_random() {
  const Bytes hello = hex(client_hello);
  return Bytes(hello.begin() + 6, hello.begin() + 38); // after type, length, legacy_version
}

Bytes payload() {
  Bytes p;
  for (std::uint8_t i = 0; i < 50; ++i)
    p.push_back(i);
  return p;
}

const SuiteCrypto suite{Aead::aes_128_gcm, Hash::sha256, true};

} // namespace rfc8448

TEST(Rfc8448, HkdfExpandLabelDerivesTheTrafficSecrets) {
  using namespace rfc8448;
  EXPECT_EQ(to_hex(hkdf_expand_label(Hash::sha256, hex(handshake_secret), "s hs traffic",
                                     hex(handshake_hash), 32)),
            to_hex(hex(server_hs_secret)));
  EXPECT_EQ(to_hex(hkdf_expand_label(Hash::sha256, hex(handshake_secret), "c hs traffic",
                                     hex(handshake_hash), 32)),
            to_hex(hex(client_hs_secret)));
  EXPECT_EQ(to_hex(hkdf_expand_label(Hash::sha256, hex(master_secret), "c ap traffic",
                                     hex(application_hash), 32)),
            to_hex(hex(client_ap_secret)));
  EXPECT_EQ(to_hex(hkdf_expand_label(Hash::sha256, hex(master_secret), "s ap traffic",
                                     hex(application_hash), 32)),
            to_hex(hex(server_ap_secret)));
  EXPECT_EQ(
      to_hex(hkdf_expand_label(Hash::sha256, hex(early_secret), "derived", hex(empty_hash), 32)),
      to_hex(hex(derived_early)));
}

TEST(Rfc8448, TrafficKeysAndIvs) {
  using namespace rfc8448;
  struct Case {
    const char* secret;
    const char* key;
    const char* iv;
  };
  for (const auto& c : {Case{server_hs_secret, server_hs_key, server_hs_iv},
                        Case{client_hs_secret, client_hs_key, client_hs_iv},
                        Case{server_ap_secret, server_ap_key, server_ap_iv},
                        Case{client_ap_secret, client_ap_key, client_ap_iv}}) {
    const auto keys = tls13_traffic_keys(suite, hex(c.secret));
    EXPECT_EQ(to_hex(keys.key), to_hex(hex(c.key))) << c.secret;
    EXPECT_EQ(to_hex(keys.iv), to_hex(hex(c.iv))) << c.secret;
    EXPECT_EQ(keys.aead, Aead::aes_128_gcm);
  }
}

TEST(Rfc8448, ServerHandshakeFlightOpensToItsFourMessages) {
  using namespace rfc8448;
  const RecordKeys keys{Aead::aes_128_gcm, hex(server_hs_key), hex(server_hs_iv)};
  const Bytes record = hex(server_flight_record);
  ASSERT_EQ(record.size(), 679u);
  const auto opened = tls13_open(keys, 0, record);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->content_type, 22); // handshake
  ASSERT_EQ(opened->content.size(), 657u);
  // Walk the handshake headers: EncryptedExtensions, Certificate, CertificateVerify, Finished.
  std::vector<int> types;
  for (std::size_t pos = 0; pos + 4 <= opened->content.size();) {
    const auto& m = opened->content;
    types.push_back(m[pos]);
    pos += 4 + (std::size_t{m[pos + 1]} << 16 | std::size_t{m[pos + 2]} << 8 | m[pos + 3]);
  }
  EXPECT_EQ(types, (std::vector<int>{8, 11, 15, 20}));
  // Sealing the plaintext again gives the RFC's bytes.
  EXPECT_EQ(to_hex(tls13_seal(keys, 0, 22, opened->content)), to_hex(record));
  // The sequence number is part of the nonce, and the tag covers every byte.
  EXPECT_FALSE(tls13_open(keys, 1, record).has_value());
  Bytes tampered = record;
  tampered[100] ^= 1;
  EXPECT_FALSE(tls13_open(keys, 0, tampered).has_value());
}

TEST(Rfc8448, ApplicationDataAtSequenceZeroAndOne) {
  using namespace rfc8448;
  const RecordKeys client_keys{Aead::aes_128_gcm, hex(client_ap_key), hex(client_ap_iv)};
  const RecordKeys server_keys{Aead::aes_128_gcm, hex(server_ap_key), hex(server_ap_iv)};
  const auto c = tls13_open(client_keys, 0, hex(client_data_record));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->content_type, 23);
  EXPECT_EQ(c->content, payload());
  // The server's first application-key record is the NewSessionTicket: its data is sequence 1.
  EXPECT_FALSE(tls13_open(server_keys, 0, hex(server_data_record)).has_value());
  const auto s = tls13_open(server_keys, 1, hex(server_data_record));
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->content, payload());
  const auto finished = tls13_open({Aead::aes_128_gcm, hex(client_hs_key), hex(client_hs_iv)}, 0,
                                   hex(client_finished_record));
  ASSERT_TRUE(finished.has_value());
  EXPECT_EQ(finished->content_type, 22);
  EXPECT_EQ(finished->content.size(), 36u); // Finished: 4-byte header + 32 bytes verify_data
}

TEST(Rfc8448, WholeTraceDecodesWithAKeyLog) {
  using namespace rfc8448;
  const std::string random = to_hex(client_random());
  const auto keylog = parse_key_log(
      "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + random + " " + to_hex(hex(client_hs_secret)) + "\n" +
      "SERVER_HANDSHAKE_TRAFFIC_SECRET " + random + " " + to_hex(hex(server_hs_secret)) + "\n" +
      "CLIENT_TRAFFIC_SECRET_0 " + random + " " + to_hex(hex(client_ap_secret)) + "\n" +
      "SERVER_TRAFFIC_SECRET_0 " + random + " " + to_hex(hex(server_ap_secret)) + "\n");
  ASSERT_EQ(keylog.entries.size(), 4u);
  const Bytes hello = hex(client_hello);
  const std::vector<Chunk> chunks = {
      {C, 1ms, cat({hex("16 03 01 00 c4"), hello})},
      {S, 2ms, cat({hex(server_hello_record), hex(server_flight_record)})},
      {C, 3ms, hex(client_finished_record)},
      {S, 4ms, hex(new_session_ticket_record)},
      {C, 5ms, hex(client_data_record)},
      {S, 6ms, hex(server_data_record)},
      {C, 7ms, hex(client_alert_record)},
      {S, 8ms, hex(server_alert_record)},
  };
  const auto trace = decode_trace(chunks, keylog);
  EXPECT_EQ(
      ladder(trace.events),
      (std::vector<std::string>{"C ClientHello", "S ServerHello", "S EncryptedExtensions",
                                "S Certificate", "S CertificateVerify", "S Finished", "C Finished",
                                "S NewSessionTicket", "C ApplicationData", "S ApplicationData",
                                "C warning close_notify", "S warning close_notify"}))
      << dump(trace.events);
  for (std::size_t i = 2; i < trace.events.size(); ++i)
    EXPECT_TRUE(trace.events[i].decrypted) << trace.events[i].name;
  EXPECT_FALSE(trace.events[1].decrypted);
  const auto* data = find_event(trace.events, C, "ApplicationData");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->message_length, 50u);
  EXPECT_EQ(data->record_length, 0x43u);
  EXPECT_EQ(trace.summary.server_name, "server");
  EXPECT_EQ(trace.summary.offered_versions, std::vector<std::uint16_t>{0x0304});
  EXPECT_EQ(trace.summary.version, 0x0304);
  EXPECT_EQ(trace.summary.cipher_suite, 0x1301);
  EXPECT_EQ(trace.summary.server_certificates, 1u);
  EXPECT_TRUE(trace.summary.keys_found);

  // Without the key log everything after the ServerHello is an encrypted record.
  const auto dark = decode_trace(chunks);
  EXPECT_EQ(
      ladder(dark.events),
      (std::vector<std::string>{"C ClientHello", "S ServerHello", "S EncryptedRecord",
                                "C EncryptedRecord", "S EncryptedRecord", "C EncryptedRecord",
                                "S EncryptedRecord", "C EncryptedRecord", "S EncryptedRecord"}));
  // With only the application secrets the handshake stays dark and the rest opens.
  const auto app_only = parse_key_log(
      "CLIENT_TRAFFIC_SECRET_0 " + random + " " + to_hex(hex(client_ap_secret)) + "\n" +
      "SERVER_TRAFFIC_SECRET_0 " + random + " " + to_hex(hex(server_ap_secret)) + "\n");
  const auto partial = decode_trace(chunks, app_only);
  EXPECT_EQ(ladder(partial.events),
            (std::vector<std::string>{"C ClientHello", "S ServerHello", "S EncryptedRecord",
                                      "C EncryptedRecord", "S NewSessionTicket",
                                      "C ApplicationData", "S ApplicationData",
                                      "C warning close_notify", "S warning close_notify"}))
      << dump(partial.events);
}

// --- the decoder's key epochs on records sealed with made-up secrets --------------------------

Bytes u16(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}
Bytes u24(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 8),
          static_cast<std::uint8_t>(v)};
}
Bytes handshake(std::uint8_t type, const Bytes& body) {
  return cat({{type}, u24(body.size()), body});
}
Bytes record(std::uint8_t type, const Bytes& body) {
  return cat({{type, 3, 3}, u16(body.size()), body});
}
Bytes client_hello(const Bytes& random) {
  return handshake(1, cat({u16(0x0303), random, {0}, u16(2), u16(0x1301), {1, 0}}));
}
Bytes server_hello(const Bytes& random, std::uint16_t suite, bool tls13) {
  const Bytes exts = tls13 ? cat({u16(43), u16(2), u16(0x0304)}) : Bytes{};
  return handshake(2, cat({u16(0x0303), random, {0}, u16(suite), {0}, u16(exts.size()), exts}));
}

class SealedTls12 : public ::testing::TestWithParam<std::uint16_t> {};

TEST_P(SealedTls12, FinishedDataAndAlertsAreDecryptedWithTheMasterSecret) {
  const std::uint16_t suite_id = GetParam();
  const auto suite = suite_crypto(suite_id);
  ASSERT_TRUE(suite.has_value());
  const Bytes client_random(32, 0x11);
  const Bytes server_random(32, 0x22);
  const Bytes master(48, 0x42);
  const auto keys = tls12_keys(*suite, master, client_random, server_random);
  const auto keylog =
      parse_key_log("CLIENT_RANDOM " + to_hex(client_random) + " " + to_hex(master));
  const Bytes finished = handshake(20, Bytes(12, 0xf1));
  const std::vector<Chunk> chunks = {
      {C, 1ms, record(22, client_hello(client_random))},
      {S, 2ms, record(22, cat({server_hello(server_random, suite_id, false), handshake(14, {})}))},
      {C, 3ms,
       cat({record(22, handshake(16, Bytes(34, 5))), record(20, {1}),
            tls12_seal(keys.client_write, 0, 22, finished)})},
      {S, 4ms, cat({record(20, {1}), tls12_seal(keys.server_write, 0, 22, finished)})},
      {C, 5ms, tls12_seal(keys.client_write, 1, 23, Bytes(20, 'a'))},
      {S, 6ms, tls12_seal(keys.server_write, 1, 23, Bytes(30, 'b'))},
      {C, 7ms, tls12_seal(keys.client_write, 2, 21, Bytes{1, 0})},
      {S, 8ms, tls12_seal(keys.server_write, 2, 21, Bytes{2, 80})},
  };
  const auto trace = decode_trace(chunks, keylog);
  ASSERT_EQ(ladder(trace.events),
            (std::vector<std::string>{"C ClientHello", "S ServerHello", "S ServerHelloDone",
                                      "C ClientKeyExchange", "C ChangeCipherSpec", "C Finished",
                                      "S ChangeCipherSpec", "S Finished", "C ApplicationData",
                                      "S ApplicationData", "C warning close_notify",
                                      "S fatal internal_error"}))
      << dump(trace.events);
  for (std::size_t i = 5; i < trace.events.size(); ++i)
    EXPECT_EQ(trace.events[i].decrypted, trace.events[i].kind != EventKind::change_cipher_spec)
        << i;
  EXPECT_EQ(trace.events[8].message_length, 20u);
  EXPECT_EQ(trace.events[9].message_length, 30u);

  // A key log for another connection: the same records stay encrypted, and a wrong master secret
  // is reported as not authenticating.
  const auto wrong =
      parse_key_log("CLIENT_RANDOM " + to_hex(client_random) + " " + to_hex(Bytes(48, 0x43)));
  const auto dark = decode_trace(chunks, wrong);
  const auto* fin = find_event(dark.events, C, "EncryptedHandshakeMessage");
  ASSERT_NE(fin, nullptr) << dump(dark.events);
  EXPECT_EQ(fin->detail, "does not authenticate with the logged keys (sequence 0)");
  EXPECT_NE(find_event(dark.events, S, "EncryptedAlert"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Suites, SealedTls12, ::testing::Values(0x009c, 0x009d, 0xcca8),
                         [](const auto& p) { return cipher_suite_name(p.param).substr(4); });

TEST(SealedTls13, PaddingKeyUpdateAndEpochs) {
  const auto suite = suite_crypto(0x1303);
  ASSERT_TRUE(suite.has_value());
  const Bytes client_random(32, 0x33);
  const Bytes c_hs(32, 1), s_hs(32, 2), c_ap(32, 3), s_ap(32, 4);
  const std::string r = to_hex(client_random);
  const auto keylog = parse_key_log("CLIENT_HANDSHAKE_TRAFFIC_SECRET " + r + " " + to_hex(c_hs) +
                                    "\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + r + " " + to_hex(s_hs) +
                                    "\nCLIENT_TRAFFIC_SECRET_0 " + r + " " + to_hex(c_ap) +
                                    "\nSERVER_TRAFFIC_SECRET_0 " + r + " " + to_hex(s_ap) + "\n");
  const auto keys = [&](const Bytes& secret) { return tls13_traffic_keys(*suite, secret); };
  const Bytes s_ap1 = tls13_next_traffic_secret(*suite, s_ap);
  const Bytes flight = cat({handshake(8, u16(0)), handshake(13, cat({{0}, u16(0)})),
                            handshake(11, cat({{0}, u24(0)})), handshake(15, Bytes(8, 0)),
                            handshake(20, Bytes(32, 0))});
  // Padding (RFC 8446 §5.4): content, real type, zeros — sealed as "type 0" over the rest.
  const Bytes padded_data = cat({Bytes(7, 'x'), {23}, Bytes(99, 0)});
  const std::vector<Chunk> chunks = {
      {C, 1ms, record(22, client_hello(client_random))},
      {S, 2ms,
       cat({record(22, server_hello(Bytes(32, 0x44), 0x1303, true)),
            tls13_seal(keys(s_hs), 0, 22, flight)})},
      {C, 3ms,
       cat({tls13_seal(keys(c_hs), 0, 22, handshake(11, cat({{0}, u24(0)}))),
            tls13_seal(keys(c_hs), 1, 22, handshake(20, Bytes(32, 0))),
            tls13_seal(keys(c_ap), 0, 0, padded_data)})},
      {S, 4ms,
       cat({tls13_seal(keys(s_ap), 0, 22, handshake(24, {0})),
            tls13_seal(keys(s_ap1), 0, 23, Bytes(5, 'y')),
            tls13_seal(keys(s_ap1), 1, 21, Bytes{2, 116})})},
      {C, 5ms, tls13_seal(keys(c_ap), 1, 21, Bytes{1, 0})},
  };
  const auto trace = decode_trace(chunks, keylog);
  ASSERT_EQ(ladder(trace.events),
            (std::vector<std::string>{
                "C ClientHello", "S ServerHello", "S EncryptedExtensions", "S CertificateRequest",
                "S Certificate", "S CertificateVerify", "S Finished", "C Certificate", "C Finished",
                "C ApplicationData", "S KeyUpdate", "S ApplicationData",
                "S fatal certificate_required", "C warning close_notify"}))
      << dump(trace.events);
  EXPECT_EQ(trace.events[7].detail, "empty (no certificate)");
  EXPECT_EQ(trace.events[9].message_length, 7u);
  EXPECT_EQ(trace.events[10].detail, "update_not_requested");
  EXPECT_TRUE(trace.summary.certificate_request);
  EXPECT_EQ(trace.summary.client_certificates, 0u);
  for (std::size_t i = 2; i < trace.events.size(); ++i)
    EXPECT_TRUE(trace.events[i].decrypted) << i;
}

TEST(SealedTls13, UnsupportedSuiteStaysEncryptedWithAReason) {
  const Bytes client_random(32, 0x33);
  const auto keylog = parse_key_log("SERVER_HANDSHAKE_TRAFFIC_SECRET " + to_hex(client_random) +
                                    " " + to_hex(Bytes(32, 2)));
  const auto trace =
      decode_trace(std::vector<Chunk>{{C, 1ms, record(22, client_hello(client_random))},
                                      {S, 2ms,
                                       cat({record(22, server_hello(Bytes(32, 0x44), 0x1304, true)),
                                            record(23, Bytes(40, 0))})}},
                   keylog);
  ASSERT_EQ(trace.events.size(), 3u);
  EXPECT_EQ(trace.events[2].kind, EventKind::encrypted);
  EXPECT_EQ(trace.events[2].detail, "cipher suite TLS_AES_128_CCM_SHA256 is not decrypted");
}

// --- real traffic: OpenSSL endpoints through a recording loopback forwarder -------------------

// Forwards one TCP connection from a loopback port to `upstream` and records both directions as
// chunks in arrival order (one thread polling both sockets; half-close passed on).
class Recorder {
public:
  explicit Recorder(std::uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 1) != 0)
      throw std::runtime_error("recorder: cannot listen");
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    start_ = std::chrono::steady_clock::now();
    thread_ = std::thread([this] { run(); });
  }
  ~Recorder() {
    if (thread_.joinable())
      thread_.join();
    ::close(listen_fd_);
  }
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; }
  // Waits for the connection to end (both directions closed, or the deadline).
  std::vector<Chunk> chunks() {
    if (thread_.joinable())
      thread_.join();
    EXPECT_TRUE(error_.empty()) << error_;
    return chunks_;
  }

private:
  void run() {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    auto remaining_ms = [&] {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      return static_cast<int>(std::max<std::int64_t>(0, left.count()));
    };
    pollfd lp{listen_fd_, POLLIN, 0};
    if (::poll(&lp, 1, remaining_ms()) != 1) {
      error_ = "recorder: no connection";
      return;
    }
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(upstream_);
    if (client < 0 || server < 0 ||
        ::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      error_ = "recorder: cannot connect upstream";
      ::close(client);
      ::close(server);
      return;
    }
    int fds[2] = {client, server};
    bool open[2] = {true, true};
    std::vector<std::uint8_t> buf(65536);
    while ((open[0] || open[1]) && remaining_ms() > 0) {
      pollfd p[2] = {{open[0] ? fds[0] : -1, POLLIN, 0}, {open[1] ? fds[1] : -1, POLLIN, 0}};
      if (::poll(p, 2, remaining_ms()) <= 0)
        continue;
      for (int i = 0; i < 2; ++i) {
        if (!open[i] || p[i].revents == 0)
          continue;
        const ssize_t n = ::recv(fds[i], buf.data(), buf.size(), 0);
        if (n <= 0) { // EOF or reset: pass the half-close on
          open[i] = false;
          ::shutdown(fds[1 - i], SHUT_WR);
          continue;
        }
        chunks_.push_back({i == 0 ? C : S,
                           std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now() - start_),
                           Bytes(buf.begin(), buf.begin() + n)});
        for (ssize_t sent = 0; sent < n;) {
          const ssize_t m = ::send(fds[1 - i], buf.data() + sent,
                                   static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
          if (m <= 0)
            break;
          sent += m;
        }
      }
    }
    ::close(client);
    ::close(server);
  }

  std::uint16_t upstream_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::thread thread_;
  std::vector<Chunk> chunks_;
  std::string error_;
};

// `openssl s_server` on a free loopback port, ready once it printed "ACCEPT 127.0.0.1:PORT".
// Killed and reaped on destruction.
class SServer {
public:
  explicit SServer(std::vector<std::string> args) {
    args.insert(args.begin(), {"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1"});
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_fd_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot start openssl s_server");
    }
    // The ready marker, with a deadline (docs/peers.md#s_server-busy-port-exits-0: s_server's exit code says nothing).
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(1, left.count()))) <= 0)
        break;
      char buf[512];
      const ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0)
        break;
      output_.append(buf, static_cast<std::size_t>(n));
      const auto at = output_.find("ACCEPT 127.0.0.1:");
      const auto eol = output_.find('\n', at);
      if (at != std::string::npos && eol != std::string::npos)
        port_ = static_cast<std::uint16_t>(std::stoi(output_.substr(at + 17, eol - at - 17)));
    }
  }
  ~SServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0)
      ::close(out_fd_);
  }
  SServer(const SServer&) = delete;
  SServer& operator=(const SServer&) = delete;

  [[nodiscard]] std::uint16_t port() const { return port_; } // 0: never became ready
  [[nodiscard]] const std::string& output() const { return output_; }

private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string output_;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class RealTraffic : public ::testing::Test {
protected:
  static const testing_support::IssuedDir& pki() { return testing_support::default_pki(); }

  // The subject CN of an entity, as the manifest says ("O=tlsmatrix, CN=localhost").
  static std::string common_name(const std::string& entity) {
    const auto subject = pki().entity(entity).at("subject").get<std::string>();
    const auto at = subject.find("CN=");
    return at == std::string::npos ? "" : subject.substr(at + 3, subject.find(", ", at) - at - 3);
  }

  static TlsConfig config(TlsVersion v, const std::string& entity) {
    TlsConfig c;
    c.version = v;
    if (!entity.empty()) {
      c.cert = pki().file(entity, "cert");
      c.key = pki().file(entity, "key");
      c.chain = pki().file(entity, "chain");
    }
    c.trust = pki().dir / "trust-anchors.pem";
    c.timeout = 10s;
    return c;
  }

  struct Capture {
    std::vector<Chunk> chunks;
    KeyLog keylog;
    harness::SideObservation server;
    harness::SideObservation client;
  };

  // Our server, the recorder, our client (which writes the key log).
  Capture capture(const TlsConfig& server_config, TlsConfig client_config) {
    harness::LocalServer server(server_config);
    Recorder recorder(server.port());
    auto served = std::async(std::launch::async, [&server] { return server.serve_one(); });
    client_config.keylog = scratch_ / "keylog.txt";
    Capture c;
    c.client = harness::run_local_client(client_config, "127.0.0.1", recorder.port());
    c.server = served.get();
    c.chunks = recorder.chunks();
    c.keylog = parse_key_log(read_file(client_config.keylog));
    return c;
  }

  testing_support::ScratchDir scratch_;
};

const std::vector<std::string> tls12_one_way = {
    "C ClientHello",     "S ServerHello",       "S Certificate",
    "S ServerHelloDone", "C ClientKeyExchange", "C ChangeCipherSpec",
    "C Finished",        "S ChangeCipherSpec",  "S Finished"};
const std::vector<std::string> tls12_two_way = {
    "C ClientHello",      "S ServerHello", "S Certificate",       "S CertificateRequest",
    "S ServerHelloDone",  "C Certificate", "C ClientKeyExchange", "C CertificateVerify",
    "C ChangeCipherSpec", "C Finished",    "S ChangeCipherSpec",  "S Finished"};

void expect_finished_decrypted(const Trace& trace) {
  for (auto d : {C, S}) {
    const auto* fin = find_event(trace.events, d, "Finished");
    ASSERT_NE(fin, nullptr) << dump(trace.events);
    EXPECT_TRUE(fin->decrypted);
    EXPECT_EQ(fin->kind, EventKind::handshake);
  }
}

TEST_F(RealTraffic, Tls12RsaKeyExchangeOneWay) {
  TlsConfig s = config(TlsVersion::tls12, "server_rsa");
  s.cipher_list = "AES128-GCM-SHA256"; // kRSA: static RSA key exchange, no ServerKeyExchange
  const auto cap = capture(s, config(TlsVersion::tls12, ""));
  ASSERT_EQ(cap.client.outcome, harness::Outcome::completed) << cap.client.error_text;
  const auto trace = decode_trace(cap.chunks, cap.keylog);
  report(trace);
  EXPECT_EQ(ladder(trace.events, true), tls12_one_way) << dump(trace.events);
  expect_finished_decrypted(trace);
  EXPECT_EQ(trace.summary.cipher_suite, 0x009c);
  EXPECT_EQ(trace.summary.server_certificates, 2u); // leaf + RSA intermediate
  EXPECT_EQ(trace.summary.server_certificate_names,
            (std::vector<std::string>{common_name("server_rsa"), common_name("rsa_intermediate")}));
  // The request and the response, then close_notify from both, all decrypted.
  const auto* request = find_event(trace.events, C, "ApplicationData");
  ASSERT_NE(request, nullptr);
  EXPECT_TRUE(request->decrypted);
  EXPECT_EQ(request->message_length, harness::resource_request.size());
  const auto* close = find_event(trace.events, S, "warning close_notify");
  ASSERT_NE(close, nullptr) << dump(trace.events);
  EXPECT_TRUE(close->decrypted);
  EXPECT_EQ(std::count_if(trace.events.begin(), trace.events.end(),
                          [](const auto& e) {
                            return e.kind == EventKind::malformed || e.kind == EventKind::encrypted;
                          }),
            0)
      << dump(trace.events);

  // The same bytes without the key log: the Finished messages are encrypted, nothing else changes.
  const auto dark = decode_trace(cap.chunks);
  auto expected = tls12_one_way;
  expected[6] = "C EncryptedHandshakeMessage";
  expected[8] = "S EncryptedHandshakeMessage";
  std::vector<std::string> flow;
  for (const auto& e : dark.events)
    if (e.kind != EventKind::application_data && e.name != "ApplicationData" &&
        e.name != "EncryptedAlert")
      flow.push_back((e.direction == C ? "C " : "S ") + e.name);
  EXPECT_EQ(flow, expected) << dump(dark.events);
}

TEST_F(RealTraffic, Tls12RsaKeyExchangeTwoWay) {
  TlsConfig s = config(TlsVersion::tls12, "server_rsa");
  s.cipher_list = "AES128-GCM-SHA256";
  s.client_auth = ClientAuth::require;
  const auto cap = capture(s, config(TlsVersion::tls12, "client_rsa"));
  ASSERT_EQ(cap.server.outcome, harness::Outcome::completed) << cap.server.error_text;
  const auto trace = decode_trace(cap.chunks, cap.keylog);
  report(trace);
  EXPECT_EQ(ladder(trace.events, true), tls12_two_way) << dump(trace.events);
  expect_finished_decrypted(trace);
  EXPECT_TRUE(trace.summary.certificate_request);
  EXPECT_EQ(trace.summary.client_certificates, 2u);
  EXPECT_EQ(trace.summary.client_certificate_names,
            (std::vector<std::string>{common_name("client_rsa"), common_name("rsa_intermediate")}));
}

TEST_F(RealTraffic, Tls12EcdheSuitesAreDecrypted) {
  for (const std::string cipher : {"ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-AES256-GCM-SHA384"}) {
    SCOPED_TRACE(cipher);
    TlsConfig s = config(TlsVersion::tls12, "server_rsa");
    s.cipher_list = cipher;
    const auto cap = capture(s, config(TlsVersion::tls12, ""));
    ASSERT_EQ(cap.client.outcome, harness::Outcome::completed) << cap.client.error_text;
    const auto trace = decode_trace(cap.chunks, cap.keylog);
    report(trace);
    auto expected = tls12_one_way;
    expected.insert(expected.begin() + 3, "S ServerKeyExchange");
    EXPECT_EQ(ladder(trace.events, true), expected) << dump(trace.events);
    expect_finished_decrypted(trace);
  }
}

TEST_F(RealTraffic, Tls13FlightsAreDecryptedForEverySuite) {
  for (const std::string suite :
       {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}) {
    SCOPED_TRACE(suite);
    TlsConfig s = config(TlsVersion::tls13, "server");
    s.ciphersuites = suite;
    s.client_auth = ClientAuth::require;
    const auto cap = capture(s, config(TlsVersion::tls13, "client"));
    ASSERT_EQ(cap.server.outcome, harness::Outcome::completed) << cap.server.error_text;
    const auto trace = decode_trace(cap.chunks, cap.keylog);
    report(trace);
    EXPECT_EQ(cipher_suite_name(trace.summary.cipher_suite), suite);
    // OpenSSL sends the middlebox-compatibility ChangeCipherSpec on both sides (RFC 8446 §D.4).
    EXPECT_EQ(ladder(trace.events, true),
              (std::vector<std::string>{
                  "C ClientHello", "S ServerHello", "S ChangeCipherSpec", "S EncryptedExtensions",
                  "S CertificateRequest", "S Certificate", "S CertificateVerify", "S Finished",
                  "C ChangeCipherSpec", "C Certificate", "C CertificateVerify", "C Finished"}))
        << dump(trace.events);
    for (const auto& e : trace.events) {
      EXPECT_NE(e.kind, EventKind::encrypted) << dump(trace.events);
      EXPECT_NE(e.kind, EventKind::malformed) << dump(trace.events);
      if (e.kind == EventKind::handshake && e.name != "ClientHello" && e.name != "ServerHello") {
        EXPECT_TRUE(e.decrypted) << e.name;
      }
    }
    EXPECT_EQ(trace.summary.client_certificate_names,
              (std::vector<std::string>{common_name("client"), common_name("intermediate")}));
  }
}

TEST_F(RealTraffic, Tls13ServerRejectionIsAnEncryptedAlertByName) {
  // The client finishes its handshake before the server judges it (DESIGN.md, the TLS 1.3 trap);
  // the server's alert is protected with its application keys.
  TlsConfig s = config(TlsVersion::tls13, "server");
  s.client_auth = ClientAuth::require;
  const auto cap = capture(s, config(TlsVersion::tls13, ""));
  ASSERT_EQ(cap.server.outcome, harness::Outcome::rejected) << cap.server.error_text;
  const auto trace = decode_trace(cap.chunks, cap.keylog);
  report(trace);
  const auto* alert = find_event(trace.events, S, "fatal certificate_required");
  ASSERT_NE(alert, nullptr) << dump(trace.events);
  EXPECT_TRUE(alert->decrypted);
  EXPECT_EQ(alert->alert_description, 116);
  EXPECT_EQ(trace.summary.client_certificates, 0u);
}

TEST_F(RealTraffic, OpensslClientWithItsOwnKeyLog) {
  if (!testing_support::have_program("openssl"))
    GTEST_SKIP() << "openssl CLI not installed";
  for (const bool tls13 : {false, true}) {
    SCOPED_TRACE(tls13 ? "TLS 1.3" : "TLS 1.2");
    TlsConfig s = config(tls13 ? TlsVersion::tls13 : TlsVersion::tls12, "server_rsa");
    if (!tls13)
      s.cipher_list = "AES128-GCM-SHA256";
    harness::LocalServer server(s);
    Recorder recorder(server.port());
    auto served = std::async(std::launch::async, [&server] { return server.serve_one(); });
    const auto keylog_file = scratch_ / (tls13 ? "s_client13.keys" : "s_client12.keys");
    // -ign_eof: send the request, then read until the server closes.
    const auto r = testing_support::run(
        {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(recorder.port()),
         tls13 ? "-tls1_3" : "-tls1_2", "-servername", "localhost", "-CAfile",
         (pki().dir / "trust-anchors.pem").string(), "-verify_return_error", "-keylogfile",
         keylog_file.string(), "-ign_eof", "-quiet"},
        std::string(harness::resource_request), 20s);
    const auto observed = served.get();
    EXPECT_EQ(observed.outcome, harness::Outcome::completed) << observed.error_text << r.err;
    const auto trace = decode_trace(recorder.chunks(), parse_key_log(read_file(keylog_file)));
    report(trace);
    ASSERT_TRUE(trace.summary.keys_found) << read_file(keylog_file);
    if (tls13) {
      EXPECT_EQ(
          ladder(trace.events, true),
          (std::vector<std::string>{"C ClientHello", "S ServerHello", "S ChangeCipherSpec",
                                    "S EncryptedExtensions", "S Certificate", "S CertificateVerify",
                                    "S Finished", "C ChangeCipherSpec", "C Finished"}))
          << dump(trace.events);
    } else {
      EXPECT_EQ(ladder(trace.events, true), tls12_one_way) << dump(trace.events);
      expect_finished_decrypted(trace);
    }
    const auto* response = find_event(trace.events, S, "ApplicationData");
    ASSERT_NE(response, nullptr) << dump(trace.events);
    EXPECT_TRUE(response->decrypted);
    EXPECT_EQ(response->detail.rfind("\"HTTP/1.0 200 OK", 0), 0u) << response->detail;
  }
}

TEST_F(RealTraffic, OpensslServerWithItsOwnKeyLog) {
  if (!testing_support::have_program("openssl"))
    GTEST_SKIP() << "openssl CLI not installed";
  for (const bool tls13 : {false, true}) {
    SCOPED_TRACE(tls13 ? "TLS 1.3" : "TLS 1.2");
    const auto keylog_file = scratch_ / (tls13 ? "s_server13.keys" : "s_server12.keys");
    // 2-way: s_server requires and verifies a client certificate (docs/peers.md#advisory-verification), sends its
    // intermediate with -cert_chain (docs/peers.md#s_server-sends-only-the-leaf) and answers with a status page (-www, docs/peers.md#s_server-exits-at-stdin-eof).
    std::vector<std::string> args = {tls13 ? "-tls1_3" : "-tls1_2",
                                     "-cert",
                                     pki().file("server_rsa", "cert").string(),
                                     "-key",
                                     pki().file("server_rsa", "key").string(),
                                     "-cert_chain",
                                     pki().file("rsa_intermediate", "cert").string(),
                                     "-Verify",
                                     "1",
                                     "-verify_return_error",
                                     "-CAfile",
                                     (pki().dir / "trust-anchors.pem").string(),
                                     "-keylogfile",
                                     keylog_file.string(),
                                     "-www"};
    if (!tls13)
      args.insert(args.end(), {"-cipher", "AES128-GCM-SHA256"});
    SServer server(args);
    ASSERT_NE(server.port(), 0) << server.output();
    Recorder recorder(server.port());
    const auto client = harness::run_local_client(
        config(tls13 ? TlsVersion::tls13 : TlsVersion::tls12, "client_rsa"), "127.0.0.1",
        recorder.port());
    const auto trace = decode_trace(recorder.chunks(), parse_key_log(read_file(keylog_file)));
    report(trace);
    ASSERT_TRUE(trace.summary.keys_found) << read_file(keylog_file) << server.output();
    if (tls13) {
      // After the client's Finished, s_server sends OpenSSL's default of two session tickets
      // under its application keys.
      EXPECT_EQ(ladder(trace.events, true),
                (std::vector<std::string>{
                    "C ClientHello", "S ServerHello", "S ChangeCipherSpec", "S EncryptedExtensions",
                    "S CertificateRequest", "S Certificate", "S CertificateVerify", "S Finished",
                    "C ChangeCipherSpec", "C Certificate", "C CertificateVerify", "C Finished",
                    "S NewSessionTicket", "S NewSessionTicket"}))
          << dump(trace.events);
    } else {
      EXPECT_EQ(ladder(trace.events, true), tls12_two_way) << dump(trace.events);
      expect_finished_decrypted(trace);
    }
    const auto* response = find_event(trace.events, S, "ApplicationData");
    ASSERT_NE(response, nullptr) << dump(trace.events) << client.error_text;
    EXPECT_TRUE(response->decrypted);
    EXPECT_EQ(response->detail.rfind("\"HTTP/1.0 200 ok", 0), 0u) << response->detail;
  }
}

} // namespace
