// The trace's vocabulary: names of directions, event kinds, versions, cipher suites, handshake
// messages and alerts (also the strings of results.json and of `expect.flow`).
#include "harness/wire/trace.hpp"

#include "handshake_parse.hpp"

namespace harness::wire {

using detail::hex16;

std::string_view to_string(Direction d) {
  return d == Direction::client_to_server ? "client->server" : "server->client";
}

std::string_view to_string(EventKind k) {
  switch (k) {
  case EventKind::handshake:
    return "handshake";
  case EventKind::change_cipher_spec:
    return "change_cipher_spec";
  case EventKind::alert:
    return "alert";
  case EventKind::application_data:
    return "application_data";
  case EventKind::heartbeat:
    return "heartbeat";
  case EventKind::encrypted:
    return "encrypted";
  case EventKind::sslv2_client_hello:
    return "sslv2_client_hello";
  case EventKind::malformed:
    return "malformed";
  }
  return "invalid";
}

std::string version_name(std::uint16_t version) {
  switch (version) {
  case 0x0002:
    return "SSL 2.0";
  case 0x0300:
    return "SSL 3.0";
  case 0x0301:
    return "TLS 1.0";
  case 0x0302:
    return "TLS 1.1";
  case 0x0303:
    return "TLS 1.2";
  case 0x0304:
    return "TLS 1.3";
  default:
    return hex16(version);
  }
}

std::string cipher_suite_name(std::uint16_t suite) {
  switch (suite) {
  case 0x002f:
    return "TLS_RSA_WITH_AES_128_CBC_SHA";
  case 0x0035:
    return "TLS_RSA_WITH_AES_256_CBC_SHA";
  case 0x003c:
    return "TLS_RSA_WITH_AES_128_CBC_SHA256";
  case 0x003d:
    return "TLS_RSA_WITH_AES_256_CBC_SHA256";
  case 0x009c:
    return "TLS_RSA_WITH_AES_128_GCM_SHA256";
  case 0x009d:
    return "TLS_RSA_WITH_AES_256_GCM_SHA384";
  case 0x009e:
    return "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256";
  case 0x009f:
    return "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384";
  case 0xc009:
    return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA";
  case 0xc00a:
    return "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA";
  case 0xc013:
    return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA";
  case 0xc014:
    return "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA";
  case 0xc023:
    return "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256";
  case 0xc027:
    return "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256";
  case 0xc02b:
    return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
  case 0xc02c:
    return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
  case 0xc02f:
    return "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256";
  case 0xc030:
    return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
  case 0xcca8:
    return "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
  case 0xcca9:
    return "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256";
  case 0xccaa:
    return "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256";
  case 0x1301:
    return "TLS_AES_128_GCM_SHA256";
  case 0x1302:
    return "TLS_AES_256_GCM_SHA384";
  case 0x1303:
    return "TLS_CHACHA20_POLY1305_SHA256";
  case 0x1304:
    return "TLS_AES_128_CCM_SHA256";
  case 0x1305:
    return "TLS_AES_128_CCM_8_SHA256";
  default:
    return hex16(suite);
  }
}

std::string handshake_name(int type) {
  switch (type) {
  case 0:
    return "HelloRequest";
  case 1:
    return "ClientHello";
  case 2:
    return "ServerHello";
  case 3:
    return "HelloVerifyRequest";
  case 4:
    return "NewSessionTicket";
  case 5:
    return "EndOfEarlyData";
  case 8:
    return "EncryptedExtensions";
  case 11:
    return "Certificate";
  case 12:
    return "ServerKeyExchange";
  case 13:
    return "CertificateRequest";
  case 14:
    return "ServerHelloDone";
  case 15:
    return "CertificateVerify";
  case 16:
    return "ClientKeyExchange";
  case 20:
    return "Finished";
  case 22:
    return "CertificateStatus";
  case 24:
    return "KeyUpdate";
  case 25:
    return "CompressedCertificate";
  case 254:
    return "MessageHash";
  default:
    return "HandshakeType(" + std::to_string(type) + ")";
  }
}

std::string alert_name(int d) {
  switch (d) {
  case 0:
    return "close_notify";
  case 10:
    return "unexpected_message";
  case 20:
    return "bad_record_mac";
  case 22:
    return "record_overflow";
  case 40:
    return "handshake_failure";
  case 42:
    return "bad_certificate";
  case 43:
    return "unsupported_certificate";
  case 44:
    return "certificate_revoked";
  case 45:
    return "certificate_expired";
  case 46:
    return "certificate_unknown";
  case 47:
    return "illegal_parameter";
  case 48:
    return "unknown_ca";
  case 49:
    return "access_denied";
  case 50:
    return "decode_error";
  case 51:
    return "decrypt_error";
  case 70:
    return "protocol_version";
  case 71:
    return "insufficient_security";
  case 80:
    return "internal_error";
  case 86:
    return "inappropriate_fallback";
  case 90:
    return "user_canceled";
  case 109:
    return "missing_extension";
  case 110:
    return "unsupported_extension";
  case 112:
    return "unrecognized_name";
  case 113:
    return "bad_certificate_status_response";
  case 115:
    return "unknown_psk_identity";
  case 116:
    return "certificate_required";
  case 120:
    return "no_application_protocol";
  default:
    return "alert_" + std::to_string(d);
  }
}

} // namespace harness::wire
