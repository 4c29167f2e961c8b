// The wire decoder's handshake layer: each reassembled handshake message as a trace event, the
// fields the trace shows (handshake_parse.hpp), and what a message changes — the version and
// suite from the ServerHello, the keys from the key log, KeyUpdate.
#include <algorithm>

#include "common/error.hpp"
#include "decoder_state.hpp"
#include "handshake_parse.hpp"

namespace harness::wire {
namespace {

using detail::hex_bytes;
using detail::RecordContext;
using detail::Stream;

// RFC 8446 §4 HandshakeType (and RFC 5246 §7.4 for the TLS 1.2 ones)
constexpr int hs_client_hello = 1;
constexpr int hs_server_hello = 2;
constexpr int hs_certificate = 11;
constexpr int hs_certificate_request = 13;
constexpr int hs_finished = 20;
constexpr int hs_key_update = 24;

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

} // namespace

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

} // namespace harness::wire
