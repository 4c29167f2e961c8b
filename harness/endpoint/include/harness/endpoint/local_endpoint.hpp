// Our own TLS server and client on OpenSSL's libssl, configurable for everything a scenario says,
// observing themselves exactly (verify result, alerts sent and received, phase).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "harness/model/observation.hpp"
#include "harness/model/resource.hpp"
#include "harness/model/tls_config.hpp"

namespace harness {

// Both endpoints: TLS version min = max = config.version; identity = cert + key + the chain file's
// certificates (a chain file that starts with the leaf itself, like NAME.chain.pem, is accepted:
// the leaf is not sent twice); trust = config.trust only; config.crl_check loads config.crls and
// checks the peer's leaf against them. Configuration problems throw tlsmatrix::Error before any
// connection: an unreadable file (Errc::io), a file that holds no certificate/key/CRL, a key that
// does not match its certificate ("key_mismatch: …", naming both files), an unknown cipher string
// (Errc::invalid_input). Everything that happens on a connection is a SideObservation
// (peer = "local"), never an exception.
// Socket I/O is non-blocking and bounded by config.timeout per connection. SIGPIPE is blocked in
// the calling thread while a connection runs; process signal dispositions are not changed.
//
// How a side's observation is decided:
//   completed  the resource was exchanged (server: response and close_notify sent; client: the
//              response holds resource_marker — a missing close_notify after it is only noted;
//              with config.server_echoes: echo_marker came back, then the client sends
//              close_notify and closes without waiting for the server to close)
//   rejected   this side refused the peer: its own verification failed (verify_error = the first
//              X509_V_ERR_* of the verify callback, reason = reason_for_verify_error, depth and
//              subject in error_text); a required client certificate was missing (no_client_cert);
//              or it sent the first fatal alert for another reason (reason = reason_for_alert of
//              that alert, e.g. protocol_version)
//   error      it received a fatal alert first (reason = reason_for_alert of it), or the
//              connection failed without one (reset, EOF, no marker: reason "unmapped")
//   timeout    config.timeout passed
// alerts holds every alert sent and received, close_notify included, in order; phase is where it
// ended (tcp, handshake, first_read = sending the request / waiting for the first response bytes,
// application_data, done); error_text is SSL_get_error's name, errno and OpenSSL's error queue.

class LocalServer {
public:
  // Binds 127.0.0.1:port (0 = any free port) and listens before returning, so port() can be
  // handed to a client at once. Throws tlsmatrix::Error on bad config/files or a busy port.
  LocalServer(const TlsConfig& config, std::uint16_t port = 0);
  ~LocalServer();
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  [[nodiscard]] std::uint16_t port() const;
  // Accepts one connection and serves it to the end (or config.timeout). No connection within
  // config.timeout: outcome timeout, phase tcp.
  [[nodiscard]] SideObservation serve_one();
  // Makes a serve_one() still waiting for its connection return at once (outcome timeout), from
  // any thread: for a case whose client refused before it connected. A connection already
  // accepted is served to its end.
  void stop_waiting();
  // Serves connections one after the other until `stop` becomes true (checked at least every
  // 100 ms between connections); `on_connection` is called with each connection's observation.
  void serve_forever(const std::atomic<bool>& stop,
                     const std::function<void(const SideObservation&)>& on_connection);

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// Connects to host:port ("localhost" means 127.0.0.1), handshakes with SNI = config.server_name
// (omitted for an IP literal) and, when config.verify, checks the server certificate and its name
// (DNS name or IP address); sends resource_request, reads the response to the end. Completed only
// when the response contains resource_marker (with config.server_echoes: once echo_marker is
// back; the client then closes). `response`, when given, receives the raw response
// (headers and body, possibly partial). Throws tlsmatrix::Error only for configuration problems.
[[nodiscard]] SideObservation run_local_client(const TlsConfig& config, const std::string& host,
                                               std::uint16_t port, std::string* response = nullptr);

} // namespace harness
