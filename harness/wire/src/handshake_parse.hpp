// Bounds-checked reading of TLS structures and the fields the trace shows from ClientHello,
// ServerHello, Certificate and the SSLv2-compatible ClientHello (internal to the wire decoder).
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "harness/wire/trace.hpp"

namespace harness::wire::detail {

// "0x0304": a 16-bit protocol number as the trace shows one it has no name for.
inline std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", v);
  return buf;
}

// Reads big-endian integers and length-prefixed vectors (RFC 8446 §3) from a byte view. A read
// past the end latches a failure: it and every later read return 0 or an empty view, and ok()
// turns false, so a parser reads straight through and checks once.
class Reader {
public:
  explicit Reader(ByteView data) : data_(data) {}

  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool at_end() const { return ok_ && pos_ == data_.size(); }
  [[nodiscard]] std::size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }

  std::uint8_t u8() { return static_cast<std::uint8_t>(number(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(number(2)); }
  std::uint32_t u24() { return number(3); }
  ByteView take(std::size_t n);
  ByteView vec8() { return take(u8()); }
  ByteView vec16() { return take(u16()); }
  ByteView vec24() { return take(u24()); }

private:
  std::uint32_t number(std::size_t n);

  ByteView data_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// A parse either gives its fields or says what is wrong (error non-empty).
struct ClientHelloFields {
  std::string error;
  Bytes random;                        // 32 bytes
  std::string server_name;             // server_name extension, host_name entry (RFC 6066 §3)
  std::vector<std::uint16_t> versions; // supported_versions (RFC 8446 §4.2.1), else legacy_version
  std::size_t cipher_suites = 0;
};
[[nodiscard]] ClientHelloFields parse_client_hello(ByteView body);

struct ServerHelloFields {
  std::string error;
  Bytes random;
  std::uint16_t legacy_version = 0;
  std::uint16_t version = 0; // supported_versions if present, else legacy_version
  std::uint16_t cipher_suite = 0;
  bool hello_retry_request = false; // the special random of RFC 8446 §4.1.3
};
[[nodiscard]] ServerHelloFields parse_server_hello(ByteView body);

struct CertificateFields {
  std::string error;
  std::size_t count = 0;
  std::vector<std::string> names; // subject CN of the first max_named certificates
  static constexpr std::size_t max_named = 10;
};
// TLS 1.3 adds a request context and per-certificate extensions (RFC 8446 §4.4.2).
[[nodiscard]] CertificateFields parse_certificate(ByteView body, bool tls13);

// RFC 5246 appendix E.2: a CLIENT-HELLO in an SSL 2.0 record (after its 2-byte header).
struct Sslv2HelloFields {
  std::string error;
  std::uint16_t version = 0;
  std::size_t cipher_specs = 0;
  Bytes random; // the challenge, left-padded with zeros to 32 bytes (it is ClientHello.random)
};
[[nodiscard]] Sslv2HelloFields parse_sslv2_client_hello(ByteView message);

} // namespace harness::wire::detail
