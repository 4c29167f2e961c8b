// Private to the harness: the OpenSSL side of our own TLS endpoints — SSL_CTX built from a
// TlsConfig, and what OpenSSL's callbacks tell about one connection. Raw OpenSSL types stay here
// and in the .cpp files of the endpoint; public headers never include this file.
#pragma once

#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "harness/model/observation.hpp"
#include "harness/model/tls_config.hpp"
#include "pki/ossl.hpp"

namespace harness::tls {

using SslCtxPtr = pki::ossl::Ptr<SSL_CTX, &SSL_CTX_free>;
using SslPtr = pki::ossl::Ptr<SSL, &SSL_free>;

// What OpenSSL's callbacks reported about one connection (attached as the SSL's app data).
struct ConnectionLog {
  std::vector<AlertEvent> alerts;  // from the info callback, in order
  std::optional<int> verify_error; // the first X509_V_ERR_* the verify callback saw
  int verify_depth = -1;
  std::string verify_subject;         // the certificate at verify_depth
  std::string peer_leaf_subject;      // the peer's leaf as the verify callback saw it
  class KeyLogFile* keylog = nullptr; // where this connection's secrets go (none: nullptr)

  [[nodiscard]] const AlertEvent* first_fatal(bool sent) const;
};

// An NSS key log file, possibly shared by several connections; lines are appended whole.
class KeyLogFile {
public:
  explicit KeyLogFile(const std::filesystem::path& path); // throws Error(io) naming the file
  void append(const char* line);

private:
  std::mutex mutex_;
  std::ofstream out_;
};

// One endpoint's OpenSSL configuration (everything of the TlsConfig but the key log, which is
// per connection, and the timeout). Throws tlsmatrix::Error for unreadable or inconsistent files
// (a key that does not match its certificate is Errc::invalid_input naming both files).
class Context {
public:
  Context(const TlsConfig& config, Side side);
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // A new connection whose callbacks write into `log` and its secrets into `keylog` (both must
  // outlive it; keylog may be null). Safe to call from several threads at once.
  [[nodiscard]] SslPtr new_ssl(ConnectionLog& log, KeyLogFile* keylog) const;
  [[nodiscard]] Side side() const { return side_; }
  // True when this side verifies its peer (client: verify; server: client_auth != none).
  [[nodiscard]] bool verifies_peer() const { return verifies_peer_; }

private:
  Side side_;
  bool verifies_peer_ = false;
  SslCtxPtr ctx_;
};

// The Context for this config and side, built once per process and then shared: building one
// costs ~1.5 ms (SSL_CTX_new, parsing the identity and the trust anchors), a case's endpoints
// need one each, and the matrix repeats the same few configurations hundreds of times. The key
// is every setting the Context depends on plus the *contents* of its files, so a file rewritten
// in place gets a new Context. Thread-safe; errors are thrown as by the constructor (and not
// cached).
[[nodiscard]] std::shared_ptr<const Context> shared_context(const TlsConfig& config, Side side);

// The thread's OpenSSL error queue, drained: one "error:…" string per entry, joined by "; ".
struct DrainedErrors {
  std::string text;
  bool no_client_cert = false; // SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE
  bool unexpected_eof = false; // SSL_R_UNEXPECTED_EOF_WHILE_READING (no close_notify)
};
[[nodiscard]] DrainedErrors drain_errors();

// "SSL_ERROR_SSL", "SSL_ERROR_SYSCALL", …
[[nodiscard]] std::string ssl_error_name(int ssl_error);

// "/O=tlsmatrix/CN=localhost" (X509_NAME_oneline) of a certificate's subject.
[[nodiscard]] std::string oneline_subject(const X509& cert);

} // namespace harness::tls
