// libFuzzer target of the wire decoder: arbitrary bytes become chunks of both directions (and,
// in the sealed modes, valid TLS 1.3 / 1.2 records around arbitrary plaintext) fed to TraceDecoder.
//
// Input: byte 0 is the mode, the rest a script of steps.
//   mode % 4 == 0  raw: each step is [control][bytes]: control bit 0 = direction, bits 1-7 =
//                  length - 1 (1..128 bytes of the input as one chunk)
//   mode % 4 == 1  raw with a key log holding every secret for the client random 01 01 … 01
//                  (key derivation and failing decryption run on whatever follows a matching
//                  ClientHello)
//   mode % 4 == 2  sealed TLS 1.3: a ClientHello and a TLS 1.3 ServerHello (suite from bits 2-3)
//                  come first; each step is [control][length][plaintext]: control bit 0 =
//                  direction, bits 1-2 = keys (0 handshake, 1 application, 2 after one KeyUpdate,
//                  3 none: a plaintext record), bits 3-7 = content type - 20 (inner type)
//   mode % 4 == 3  sealed TLS 1.2: a ClientHello and a TLS 1.2 ServerHello (AEAD suite from
//                  bits 2-3); control bit 0 = direction, bits 1-2 = 0 plaintext record, 1 sealed
//                  record, 2 ChangeCipherSpec (no payload), bits 3-7 = content type - 20
// Every event must have a name; nothing else is checked beyond the sanitizers and the absence of
// exceptions (an escaping exception aborts, which libFuzzer reports as a crash).
// With TLSMATRIX_FUZZ_PRINT set, each input's trace is printed (`decoder_fuzzer FILE…` to see
// what a seed or a crashing input decodes to).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "harness/wire/key_log.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/tls_decrypt.hpp"
#include "harness/wire/trace.hpp"

namespace {

using namespace harness::wire;

const Bytes client_random(32, 0x01);
const Bytes server_random(32, 0x02);

Bytes u16(std::size_t v) {
  return {static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
}

Bytes record(std::uint8_t type, const Bytes& body) {
  Bytes r{type, 3, 3};
  const Bytes len = u16(body.size());
  r.insert(r.end(), len.begin(), len.end());
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

Bytes handshake(std::uint8_t type, const Bytes& body) {
  Bytes m{type, static_cast<std::uint8_t>(body.size() >> 16),
          static_cast<std::uint8_t>(body.size() >> 8), static_cast<std::uint8_t>(body.size())};
  m.insert(m.end(), body.begin(), body.end());
  return m;
}

Bytes hello(std::uint8_t type, const Bytes& random, std::uint16_t suite, bool tls13) {
  Bytes body = u16(0x0303);
  body.insert(body.end(), random.begin(), random.end());
  body.push_back(0); // session id
  if (type == 1) {   // ClientHello: one suite, null compression, no extensions
    const Bytes suites = u16(2);
    body.insert(body.end(), suites.begin(), suites.end());
  }
  const Bytes s = u16(suite);
  body.insert(body.end(), s.begin(), s.end());
  if (type == 1)
    body.insert(body.end(), {1, 0});
  else
    body.push_back(0);
  if (tls13 && type == 2) // supported_versions = TLS 1.3
    body.insert(body.end(), {0, 6, 0, 43, 0, 2, 3, 4});
  return record(22, handshake(type, body));
}

std::string hex(const Bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto c : b) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

Bytes secret(std::uint8_t fill, std::size_t n = 32) {
  return Bytes(n, fill);
}

const KeyLog& keylog() {
  static const KeyLog log = parse_key_log(
      "CLIENT_RANDOM " + hex(client_random) + " " + hex(secret(0x10, 48)) + "\n" +
      "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + hex(client_random) + " " + hex(secret(0x11)) + "\n" +
      "SERVER_HANDSHAKE_TRAFFIC_SECRET " + hex(client_random) + " " + hex(secret(0x12)) + "\n" +
      "CLIENT_TRAFFIC_SECRET_0 " + hex(client_random) + " " + hex(secret(0x13)) + "\n" +
      "SERVER_TRAFFIC_SECRET_0 " + hex(client_random) + " " + hex(secret(0x14)) + "\n");
  return log;
}

constexpr std::array<std::uint16_t, 4> tls13_suites = {0x1301, 0x1302, 0x1303, 0x1303};
constexpr std::array<std::uint16_t, 4> tls12_suites = {0x009c, 0x009d, 0xc02f, 0xcca8};

// Record keys per (suite, direction, epoch), derived once.
const RecordKeys& keys13(std::uint16_t suite, bool client, int epoch) {
  static std::map<std::tuple<std::uint16_t, bool, int>, RecordKeys> cache;
  const auto key = std::make_tuple(suite, client, epoch);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const auto crypto = *suite_crypto(suite);
    Bytes s = epoch == 0 ? secret(client ? 0x11 : 0x12) : secret(client ? 0x13 : 0x14);
    if (epoch == 2)
      s = tls13_next_traffic_secret(crypto, s);
    it = cache.emplace(key, tls13_traffic_keys(crypto, s)).first;
  }
  return it->second;
}

const Tls12Keys& keys12(std::uint16_t suite) {
  static std::map<std::uint16_t, Tls12Keys> cache;
  auto it = cache.find(suite);
  if (it == cache.end())
    it = cache
             .emplace(suite, tls12_keys(*suite_crypto(suite), secret(0x10, 48), client_random,
                                        server_random))
             .first;
  return it->second;
}

void run_raw(TraceDecoder& d, const std::uint8_t* data, std::size_t size) {
  std::size_t pos = 0;
  std::int64_t t = 0;
  while (pos < size) {
    const std::uint8_t control = data[pos++];
    const std::size_t n = std::min<std::size_t>((control >> 1) + 1u, size - pos);
    d.feed(control & 1 ? Direction::server_to_client : Direction::client_to_server,
           std::chrono::microseconds(t++), ByteView(data + pos, n));
    pos += n;
  }
}

void run_sealed(TraceDecoder& d, bool tls13, std::uint16_t suite, const std::uint8_t* data,
                std::size_t size) {
  d.feed(Direction::client_to_server, std::chrono::microseconds(0),
         hello(1, client_random, suite, tls13));
  d.feed(Direction::server_to_client, std::chrono::microseconds(1),
         hello(2, server_random, suite, tls13));
  std::map<std::pair<bool, int>, std::uint64_t> seq;
  std::size_t pos = 0;
  std::int64_t t = 2;
  while (pos + 2 <= size) {
    const std::uint8_t control = data[pos];
    const std::size_t n = std::min<std::size_t>(data[pos + 1], size - pos - 2);
    const Bytes plain(data + pos + 2, data + pos + 2 + n);
    pos += 2 + n;
    const bool client = (control & 1) == 0;
    const int keys = (control >> 1) & 3;
    const auto type = static_cast<std::uint8_t>(20 + (control >> 3));
    Bytes rec;
    if (tls13 && keys < 3)
      rec = tls13_seal(keys13(suite, client, keys), seq[{client, keys}]++, type, plain);
    else if (!tls13 && keys == 1)
      rec = tls12_seal(client ? keys12(suite).client_write : keys12(suite).server_write,
                       seq[{client, 1}]++, type, plain);
    else if (!tls13 && keys == 2)
      rec = record(20, {1});
    else
      rec = record(type, plain);
    d.feed(client ? Direction::client_to_server : Direction::server_to_client,
           std::chrono::microseconds(t++), rec);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const std::uint8_t mode = data[0];
  const bool with_keys = mode % 4 != 0;
  TraceDecoder decoder(with_keys ? keylog() : KeyLog{});
  switch (mode % 4) {
  case 0:
  case 1:
    run_raw(decoder, data + 1, size - 1);
    break;
  case 2:
    run_sealed(decoder, true, tls13_suites[(mode >> 2) & 3], data + 1, size - 1);
    break;
  case 3:
    run_sealed(decoder, false, tls12_suites[(mode >> 2) & 3], data + 1, size - 1);
    break;
  }
  decoder.finish();
  static const bool print = std::getenv("TLSMATRIX_FUZZ_PRINT") != nullptr;
  for (const auto& e : decoder.events()) {
    if (e.name.empty())
      __builtin_trap();
    if (print)
      std::printf("%s %s %s%s [%s]\n", std::string(to_string(e.direction)).c_str(),
                  std::string(to_string(e.kind)).c_str(), e.name.c_str(),
                  e.decrypted ? " (decrypted)" : "", e.detail.c_str());
  }
  return 0;
}
