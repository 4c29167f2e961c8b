// Field extraction from ClientHello, ServerHello, Certificate and SSLv2 CLIENT-HELLO bodies for the
// wire trace; every length is checked against the bytes that are really there.
#include "handshake_parse.hpp"

#include <algorithm>
#include <array>
#include <climits>

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "pki/ossl.hpp"

namespace harness::wire::detail {

namespace {

constexpr std::uint16_t ext_server_name = 0;         // RFC 6066 §3
constexpr std::uint16_t ext_supported_versions = 43; // RFC 8446 §4.2.1

// RFC 8446 §4.1.3: a HelloRetryRequest is a ServerHello whose random is SHA-256 of
// "HelloRetryRequest".
constexpr std::array<std::uint8_t, 32> hello_retry_request_random = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

// Walks an extensions block, calling f(type, data) for each; false when it does not parse.
template <class F> bool for_each_extension(ByteView block, F&& f) {
  Reader r(block);
  while (r.remaining() > 0) {
    const std::uint16_t type = r.u16();
    const ByteView data = r.vec16();
    if (!r.ok())
      return false;
    f(type, data);
  }
  return r.ok();
}

// The host_name of a server_name extension ("" if it has none).
std::optional<std::string> host_name(ByteView data) {
  Reader r(data);
  Reader list(r.vec16());
  if (!r.at_end())
    return std::nullopt;
  std::string name;
  while (list.remaining() > 0) {
    const std::uint8_t type = list.u8();
    const ByteView value = list.vec16();
    if (!list.ok())
      return std::nullopt;
    if (type == 0 && name.empty()) // host_name
      name.assign(value.begin(), value.end());
  }
  return name;
}

// The subject commonName of a DER certificate, "" when it has none or does not parse.
std::string common_name(ByteView der) {
  if (der.size() > static_cast<std::size_t>(LONG_MAX))
    return {};
  const unsigned char* p = der.data();
  const pki::ossl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    pki::ossl::clear_errors();
    return {};
  }
  const X509_NAME* subject = X509_get_subject_name(cert.get()); // borrowed
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0)
    return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    pki::ossl::clear_errors();
    return {};
  }
  std::string name(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return name;
}

} // namespace

std::uint32_t Reader::number(std::size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return 0;
  }
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v = (v << 8) | data_[pos_ + i];
  pos_ += n;
  return v;
}

ByteView Reader::take(std::size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return {};
  }
  const ByteView out = data_.subspan(pos_, n);
  pos_ += n;
  return out;
}

ClientHelloFields parse_client_hello(ByteView body) {
  // RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2: a TLS 1.2 ClientHello may end before its extensions)
  ClientHelloFields f;
  Reader r(body);
  const std::uint16_t legacy_version = r.u16();
  const ByteView random = r.take(32);
  const ByteView session_id = r.vec8();
  const ByteView suites = r.vec16();
  const ByteView compression = r.vec8();
  if (!r.ok() || session_id.size() > 32 || suites.size() < 2 || suites.size() % 2 != 0 ||
      compression.empty()) {
    f.error = "ClientHello does not parse";
    return f;
  }
  f.random.assign(random.begin(), random.end());
  f.cipher_suites = suites.size() / 2;
  if (r.remaining() > 0) {
    const ByteView extensions = r.vec16();
    bool fields_ok = true;
    const bool framed =
        r.at_end() && for_each_extension(extensions, [&](std::uint16_t type, ByteView data) {
          if (type == ext_server_name) {
            auto name = host_name(data);
            fields_ok = fields_ok && name.has_value();
            if (name)
              f.server_name = *name;
          } else if (type == ext_supported_versions) {
            Reader v(data);
            Reader list(v.vec8());
            if (!v.at_end() || list.remaining() < 2 || list.remaining() % 2 != 0) {
              fields_ok = false;
              return;
            }
            while (list.remaining() > 0)
              f.versions.push_back(list.u16());
          }
        });
    if (!framed || !fields_ok) {
      f.error = "ClientHello extensions do not parse";
      return f;
    }
  }
  if (f.versions.empty())
    f.versions.push_back(legacy_version);
  return f;
}

ServerHelloFields parse_server_hello(ByteView body) {
  // RFC 8446 §4.1.3; a TLS 1.3 server says its version in supported_versions only (§4.2.1)
  ServerHelloFields f;
  Reader r(body);
  f.legacy_version = r.u16();
  const ByteView random = r.take(32);
  const ByteView session_id = r.vec8();
  f.cipher_suite = r.u16();
  r.u8(); // legacy_compression_method
  if (!r.ok() || session_id.size() > 32) {
    f.error = "ServerHello does not parse";
    return f;
  }
  f.random.assign(random.begin(), random.end());
  f.hello_retry_request = std::ranges::equal(random, hello_retry_request_random);
  f.version = f.legacy_version;
  if (r.remaining() > 0) {
    const ByteView extensions = r.vec16();
    bool fields_ok = true;
    const bool framed =
        r.at_end() && for_each_extension(extensions, [&](std::uint16_t type, ByteView data) {
          if (type == ext_supported_versions) {
            Reader v(data);
            f.version = v.u16();
            fields_ok = fields_ok && v.at_end();
          }
        });
    if (!framed || !fields_ok) {
      f.error = "ServerHello extensions do not parse";
      return f;
    }
  }
  return f;
}

CertificateFields parse_certificate(ByteView body, bool tls13) {
  // TLS 1.2: ASN.1Cert certificate_list<0..2^24-1> (RFC 5246 §7.4.2); TLS 1.3: opaque
  // certificate_request_context<0..2^8-1>, CertificateEntry certificate_list<0..2^24-1> with
  // CertificateEntry = cert_data<1..2^24-1>, extensions<0..2^16-1> (RFC 8446 §4.4.2).
  CertificateFields f;
  Reader r(body);
  if (tls13)
    r.vec8();
  Reader list(r.vec24());
  if (!r.at_end()) {
    f.error = "Certificate does not parse";
    return f;
  }
  while (list.remaining() > 0) {
    const ByteView der = list.vec24();
    if (tls13)
      list.vec16();
    if (!list.ok() || der.empty()) {
      f.error = "Certificate list does not parse";
      return f;
    }
    if (f.count < CertificateFields::max_named)
      f.names.push_back(common_name(der));
    ++f.count;
  }
  return f;
}

Sslv2HelloFields parse_sslv2_client_hello(ByteView message) {
  Sslv2HelloFields f;
  Reader r(message);
  const std::uint8_t type = r.u8();
  f.version = r.u16();
  const std::uint16_t specs_length = r.u16();
  const std::uint16_t session_id_length = r.u16();
  const std::uint16_t challenge_length = r.u16();
  r.take(specs_length);
  r.take(session_id_length);
  const ByteView challenge = r.take(challenge_length);
  if (!r.at_end() || type != 1) {
    f.error = "SSLv2 CLIENT-HELLO does not parse";
    return f;
  }
  // RFC 5246 E.2: cipher specs are 3 bytes each; the challenge is 16 to 32 bytes.
  if (specs_length % 3 != 0 || challenge_length < 16 || challenge_length > 32) {
    f.error = "SSLv2 CLIENT-HELLO with invalid lengths";
    return f;
  }
  f.cipher_specs = specs_length / 3;
  f.random.assign(32 - challenge.size(), 0);
  f.random.insert(f.random.end(), challenge.begin(), challenge.end());
  return f;
}

} // namespace harness::wire::detail
