// Our own TLS server and client on OpenSSL's libssl, configurable for everything a scenario says,
// observing themselves exactly (verify result, alerts sent and received, phase).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "harness/observation.hpp"
#include "harness/tls_config.hpp"

namespace harness {

// The protected resource: the client sends this request after the handshake …
inline constexpr std::string_view resource_request = "GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\n";
// … and the server answers 200 with a body naming the authenticated client ("anonymous" if none):
// "tlsmatrix-ok client=<subject of the client certificate>\n", then close_notify and close.
inline constexpr std::string_view resource_marker = "tlsmatrix-ok client=";

class LocalServer {
public:
  // Binds 127.0.0.1:port (0 = any free port). Throws tlsmatrix::Error on bad config/files.
  LocalServer(const TlsConfig& config, std::uint16_t port = 0);
  ~LocalServer();
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  // Accepts one connection and serves it to the end (or config.timeout).
  [[nodiscard]] SideObservation serve_one();
  // Serves connections until `stop` becomes true (checked at least every 100 ms);
  // `on_connection` is called with each connection's observation.
  void serve_forever(const std::atomic<bool>& stop,
                     const std::function<void(const SideObservation&)>& on_connection);

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// Connects to host:port, handshakes, sends resource_request, reads the response to the end.
[[nodiscard]] SideObservation run_local_client(const TlsConfig& config, const std::string& host,
                                               std::uint16_t port);

} // namespace harness
