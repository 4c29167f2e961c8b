// Everything a TLS endpoint (ours or an external peer) is told to do for one case, as files.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "harness/model/observation.hpp"

namespace harness {

enum class ClientAuth { invalid, none, request, require };
[[nodiscard]] std::string_view to_string(ClientAuth a);

struct TlsConfig {
  TlsVersion version = TlsVersion::tls13; // min = max = this version
  // Own identity. Empty cert: none (a client that sends no certificate).
  std::filesystem::path cert; // leaf only
  std::filesystem::path key;
  std::filesystem::path chain; // intermediates to send after the leaf (may be empty)
  std::filesystem::path trust; // PEM bundle of trust anchors (empty: trust nothing)
  std::filesystem::path crls;  // PEM CRLs, used when crl_check
  bool crl_check = false;
  ClientAuth client_auth = ClientAuth::none; // server only
  bool verify = true;                        // client only: verify the server certificate
  std::string server_name = "localhost";     // client only: SNI and hostname check (an IP
                                             // literal is checked as an IP and sent as no SNI;
                                             // empty: no SNI, no name check)
  // Client only: the server echoes the request instead of serving the resource, so the exchange
  // is complete once the request's first line (echo_marker) has come back.
  bool server_echoes = false;
  // This side presents the certificate another side is tested on: it runs as permissively as
  // its stack allows (OpenSSL: security level 0), so that its own policy does not decide the case
  // (docs/peers.md, "Permissive presenters"). The verifying side keeps its stack's defaults.
  bool permissive = false;
  std::string cipher_list;      // TLS 1.2 OpenSSL cipher string ("" = default)
  std::string ciphersuites;     // TLS 1.3 suites ("" = default)
  std::filesystem::path keylog; // NSS key log file to write ("" = none)
  std::chrono::milliseconds timeout{5000};
};

// An IPv4 or IPv6 literal ("127.0.0.1", "::1"): a name verified against iPAddress SANs, never
// sent as SNI (RFC 6066 §3).
[[nodiscard]] bool is_ip_literal(const std::string& name);
[[nodiscard]] bool is_ipv6_literal(const std::string& name);

} // namespace harness
