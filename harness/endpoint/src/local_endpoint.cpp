// Our own TLS server and client: non-blocking sockets bounded by the case's deadline, the
// handshake, the protected resource after it, and an exact observation of each side.
#include "harness/endpoint/local_endpoint.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "harness/model/reasons.hpp"
#include "tls_context.hpp"

namespace harness {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using tlsmatrix::Errc;
using tlsmatrix::Error;

// How long a side waits, after it is done, for the peer to close too (see close_gracefully).
constexpr auto linger_limit = 1000ms;
// … and after an echo server's echo (it closes only after our close_notify, at once).
constexpr auto echo_linger_limit = 250ms;
constexpr std::size_t max_message = 1 << 20;
constexpr std::string_view response_header = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";

std::string errno_text(int e) {
  return std::generic_category().message(e);
}

using common::Fd;

// A write to a socket the peer has closed raises SIGPIPE, which kills the process by default.
// OpenSSL's socket BIO uses write(), not send(MSG_NOSIGNAL), so while a connection runs this
// thread blocks SIGPIPE, and any SIGPIPE it raised is consumed before the mask is restored: the
// process's signal dispositions stay untouched.
class SigpipeBlock {
public:
  SigpipeBlock() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SigpipeBlock() {
    if (!was_pending_) {
      const timespec zero{};
      while (sigtimedwait(&set_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

private:
  sigset_t set_{};
  sigset_t old_{};
  bool was_pending_ = false;
};

long long ms_left(Clock::time_point deadline) {
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

// True when `fd` is ready for `events` (or has an error for the next call to report) before the
// deadline; false when the deadline passed.
bool wait_for(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const long long left = ms_left(deadline);
    if (left <= 0)
      return false;
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, INT_MAX)));
    if (r > 0)
      return true;
    if (r == 0)
      return false;
    if (errno != EINTR)
      return true;
  }
}

void set_nodelay(int fd) {
  // The response and close_notify are two small writes: without this, Nagle + delayed ACK can
  // hold the second one for 40 ms.
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Half-closes, then reads (and discards) until the peer closes or a short linger passes. Closing
// a socket with unread data makes the kernel send RST, and an RST can overtake our alert: the
// peer would see "connection reset" instead of the reason (PEERS.md trap 5).
void close_gracefully(Fd& fd, Clock::time_point deadline) {
  if (!fd.valid())
    return;
  ::shutdown(fd.get(), SHUT_WR);
  const auto until = std::min(deadline, Clock::now() + linger_limit);
  char buf[4096];
  while (wait_for(fd.get(), POLLIN, until)) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0)
      break;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      break;
  }
  fd.reset();
}

// One OpenSSL I/O call driven to completion on a non-blocking socket, bounded by the deadline.
struct Step {
  bool ok = false;
  bool timed_out = false;
  int ret = 0;
  int ssl_error = SSL_ERROR_NONE;
  int sys_errno = 0;
};

template <class Op> Step drive(SSL* ssl, int fd, Clock::time_point deadline, Op op) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = op();
    if (r > 0)
      return {true, false, r, SSL_ERROR_NONE, 0};
    const int saved_errno = errno;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        return {false, true, r, e, 0};
      continue;
    }
    return {false, false, r, e, saved_errno};
  }
}

// Sends close_notify (SSL_shutdown returns 0 once it is sent and the peer's is still to come).
bool send_close_notify(SSL* ssl, int fd, Clock::time_point deadline) {
  for (;;) {
    ERR_clear_error();
    const int r = SSL_shutdown(ssl);
    if (r >= 0)
      return true;
    const int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
      if (wait_for(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        continue;
    }
    ERR_clear_error();
    return false;
  }
}

bool is_ip_literal(const std::string& name) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// Builds the observation of one connection from what the I/O calls and callbacks reported.
class Recorder {
public:
  Recorder(Side side, bool verifies_peer)
      : side_(side), verifies_peer_(verifies_peer), started_(Clock::now()) {
    obs_.peer = "local";
  }

  tls::ConnectionLog& log() { return log_; }
  [[nodiscard]] Clock::time_point started() const { return started_; }
  void note(std::string line) { lines_.push_back(std::move(line)); }

  void tcp_failure(bool timed_out, const std::string& text) {
    obs_.phase = Phase::tcp;
    obs_.outcome = timed_out ? Outcome::timeout : Outcome::error;
    if (!timed_out)
      obs_.reason = "unmapped";
    note(text);
  }

  // An I/O call failed in `phase`: decide the outcome and the reason.
  void failed(SSL* ssl, const Step& step, std::string_view what, Phase phase,
              std::chrono::milliseconds timeout) {
    obs_.phase = phase;
    const auto errors = tls::drain_errors();
    std::string line = std::string(what) + ": ";
    if (step.timed_out) {
      line += "timed out (" + std::to_string(timeout.count()) + " ms for the whole connection)";
    } else {
      line += tls::ssl_error_name(step.ssl_error);
      if (step.ssl_error == SSL_ERROR_SYSCALL)
        line += step.sys_errno != 0 ? ": " + errno_text(step.sys_errno) : ": unexpected EOF";
      if (step.ssl_error == SSL_ERROR_ZERO_RETURN)
        line += ": the peer sent close_notify";
    }
    if (!errors.text.empty())
      line += ": " + errors.text;
    note(line);
    if (step.timed_out) {
      obs_.outcome = Outcome::timeout;
      return;
    }
    classify(ssl, errors.no_client_cert);
  }

  void completed(const std::string& peer_identity) {
    obs_.outcome = Outcome::completed;
    obs_.resource = true; // server: the response was sent; client: it (or the echo) came back
    obs_.phase = Phase::done;
    obs_.reason.clear();
    if (side_ == Side::server)
      obs_.peer_identity = peer_identity;
  }

  // Everything else (resource missing from a response, a request that never came) is an error
  // that no alert explains.
  void plain_error(Phase phase, const std::string& text) {
    obs_.outcome = Outcome::error;
    obs_.phase = phase;
    obs_.reason = "unmapped";
    note(text);
  }

  SideObservation finish(SSL* ssl) {
    obs_.alerts = log_.alerts;
    if (ssl != nullptr) {
      // A cipher exists once the ServerHello is decided: before that the version would only be
      // what this side offered.
      const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
      if (cipher == nullptr)
        cipher = SSL_get_pending_cipher(ssl); // chosen, handshake unfinished
      if (cipher != nullptr) {
        obs_.negotiated_version = SSL_get_version(ssl);
        obs_.cipher = SSL_CIPHER_get_name(cipher);
      }
      if (side_ == Side::server && obs_.peer_identity.empty() && !log_.peer_leaf_subject.empty())
        obs_.peer_identity = log_.peer_leaf_subject;
    }
    std::string text;
    for (const auto& l : lines_)
      text += (text.empty() ? "" : "\n") + l;
    obs_.error_text = std::move(text);
    obs_.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
    return obs_;
  }

private:
  void classify(SSL* ssl, bool no_client_cert) {
    if (verifies_peer_ && log_.verify_error && *log_.verify_error != X509_V_OK) {
      const int code = *log_.verify_error;
      obs_.outcome = Outcome::rejected;
      obs_.verify_error = code;
      obs_.reason = std::string(reason_for_verify_error(code));
      note("verify error " + std::to_string(code) + " (" + X509_verify_cert_error_string(code) +
           ") at depth " + std::to_string(log_.verify_depth) + ": " + log_.verify_subject);
      // The callback saw the first error; OpenSSL's verdict should be that same one.
      const long result = SSL_get_verify_result(ssl);
      if (result != X509_V_OK && result != code)
        note("SSL_get_verify_result: " + std::to_string(result) + " (" +
             X509_verify_cert_error_string(result) + ")");
      return;
    }
    if (no_client_cert) {
      obs_.outcome = Outcome::rejected;
      obs_.reason = "no_client_cert";
      obs_.peer_identity = "anonymous";
      return;
    }
    // Whoever sent the first fatal alert is the side that refused.
    const auto first =
        std::find_if(log_.alerts.begin(), log_.alerts.end(),
                     [](const AlertEvent& a) { return a.fatal && a.description != 0; });
    if (first != log_.alerts.end() && !first->sent) {
      obs_.outcome = Outcome::error;
      obs_.reason = std::string(reason_for_alert(first->description));
    } else if (first != log_.alerts.end() && first->description != 80 /* internal_error: ours */) {
      // This side refused the peer for a reason other than certificate verification: no shared
      // version or cipher, a malformed message, …
      obs_.outcome = Outcome::rejected;
      obs_.reason = std::string(reason_for_alert(first->description));
    } else {
      obs_.outcome = Outcome::error;
      obs_.reason = "unmapped";
    }
  }

  Side side_;
  bool verifies_peer_;
  Clock::time_point started_;
  SideObservation obs_;
  tls::ConnectionLog log_;
  std::vector<std::string> lines_;
};

bool request_complete(const std::string& request) {
  return request.find("\r\n\r\n") != std::string::npos || request.find("\n\n") != std::string::npos;
}

std::string peer_identity(SSL* ssl) {
  const X509* peer = SSL_get0_peer_certificate(ssl);
  return peer == nullptr ? "anonymous" : tls::oneline_subject(*peer);
}

SideObservation serve_connection(const tls::Context& context, tls::KeyLogFile* keylog,
                                 const TlsConfig& config, Fd fd) {
  const SigpipeBlock no_sigpipe;
  Recorder rec(Side::server, context.verifies_peer());
  const auto deadline = rec.started() + config.timeout;
  set_nodelay(fd.get());
  const tls::SslPtr ssl_holder = context.new_ssl(rec.log(), keylog);
  SSL* ssl = ssl_holder.get();
  SSL_set_fd(ssl, fd.get());
  auto io = [&](auto op) { return drive(ssl, fd.get(), deadline, op); };

  Step step = io([&] { return SSL_accept(ssl); });
  if (!step.ok) {
    rec.failed(ssl, step, "SSL_accept", Phase::handshake, config.timeout);
    close_gracefully(fd, deadline);
    return rec.finish(ssl);
  }
  const std::string identity = peer_identity(ssl);

  std::string request;
  char buf[4096];
  while (!request_complete(request)) {
    step = io([&] { return SSL_read(ssl, buf, sizeof buf); });
    const Phase phase = request.empty() ? Phase::first_read : Phase::application_data;
    if (!step.ok) {
      rec.failed(ssl, step, "SSL_read (waiting for the request)", phase, config.timeout);
      close_gracefully(fd, deadline);
      return rec.finish(ssl);
    }
    request.append(buf, static_cast<std::size_t>(step.ret));
    if (request.size() > max_message) {
      rec.plain_error(Phase::application_data, "the request has no end of headers within 1 MiB");
      close_gracefully(fd, deadline);
      return rec.finish(ssl);
    }
  }

  const std::string response =
      std::string(response_header) + std::string(resource_marker) + identity + "\n";
  std::size_t sent = 0;
  while (sent < response.size()) {
    step = io([&] {
      return SSL_write(ssl, response.data() + sent, static_cast<int>(response.size() - sent));
    });
    if (!step.ok) {
      rec.failed(ssl, step, "SSL_write (the response)", Phase::application_data, config.timeout);
      close_gracefully(fd, deadline);
      return rec.finish(ssl);
    }
    sent += static_cast<std::size_t>(step.ret);
  }
  if (!send_close_notify(ssl, fd.get(), deadline))
    rec.note("SSL_shutdown: close_notify could not be sent");
  rec.completed(identity);

  // Wait (briefly) for the client's close_notify, so that it is recorded and nothing unread makes
  // the kernel reset the connection.
  const auto until = std::min(deadline, Clock::now() + linger_limit);
  for (;;) {
    const Step tail = drive(ssl, fd.get(), until, [&] { return SSL_read(ssl, buf, sizeof buf); });
    if (!tail.ok)
      break;
  }
  ERR_clear_error();
  return rec.finish(ssl);
}

std::optional<Fd> connect_tcp(const std::string& host, std::uint16_t port,
                              Clock::time_point deadline, Recorder& rec) {
  // "localhost" may resolve to ::1 first while test servers listen on 127.0.0.1 only.
  const std::string target = host == "localhost" ? "127.0.0.1" : host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(target.c_str(), service.c_str(), &hints, &found); rc != 0) {
    rec.tcp_failure(false, "cannot resolve " + host + ": " + gai_strerror(rc));
    return std::nullopt;
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
  std::string errors;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
      errors += "; socket: " + errno_text(errno);
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) == 0)
      return fd;
    if (errno != EINPROGRESS) {
      errors += "; connect: " + errno_text(errno);
      continue;
    }
    if (!wait_for(fd.get(), POLLOUT, deadline)) {
      rec.tcp_failure(true, "connect to " + host + ":" + service + ": timed out");
      return std::nullopt;
    }
    int so_error = 0;
    socklen_t len = sizeof so_error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
    if (so_error == 0)
      return fd;
    errors += "; connect: " + errno_text(so_error);
  }
  rec.tcp_failure(false, "cannot connect to " + host + ":" + service + errors);
  return std::nullopt;
}

Fd listen_loopback(std::uint16_t port, std::uint16_t& bound) {
  const std::string where = "127.0.0.1:" + std::to_string(port);
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid())
    throw Error(Errc::io, "cannot create a socket: " + errno_text(errno));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(0x7f000001U); // 127.0.0.1: never all interfaces
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw Error(Errc::io, "cannot listen on " + where + ": " + errno_text(errno));
  if (::listen(fd.get(), 64) != 0)
    throw Error(Errc::io, "cannot listen on " + where + ": " + errno_text(errno));
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw Error(Errc::io, "getsockname on " + where + ": " + errno_text(errno));
  bound = ntohs(addr.sin_port);
  return fd;
}

} // namespace

struct LocalServer::Impl {
  Impl(const TlsConfig& c, std::uint16_t requested)
      : config(c), context(tls::shared_context(c, Side::server)),
        keylog(c.keylog.empty() ? nullptr : std::make_unique<tls::KeyLogFile>(c.keylog)) {
    listener = listen_loopback(requested, port);
  }
  // A pending connection before the deadline, or an invalid Fd.
  Fd accept_until(Clock::time_point deadline) const {
    while (wait_for(listener.get(), POLLIN, deadline)) {
      Fd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
      if (conn.valid())
        return conn;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
        throw Error(Errc::io,
                    "accept on 127.0.0.1:" + std::to_string(port) + ": " + errno_text(errno));
    }
    return Fd();
  }

  TlsConfig config;
  std::shared_ptr<const tls::Context> context;
  std::unique_ptr<tls::KeyLogFile> keylog;
  Fd listener;
  std::uint16_t port = 0;
};

LocalServer::LocalServer(const TlsConfig& config, std::uint16_t port)
    : impl_(std::make_unique<Impl>(config, port)) {}

LocalServer::~LocalServer() = default;

std::uint16_t LocalServer::port() const {
  return impl_->port;
}

SideObservation LocalServer::serve_one() {
  Fd conn = impl_->accept_until(Clock::now() + impl_->config.timeout);
  if (!conn.valid()) {
    SideObservation obs;
    obs.peer = "local";
    obs.outcome = Outcome::timeout;
    obs.phase = Phase::tcp;
    obs.error_text =
        "no connection within " + std::to_string(impl_->config.timeout.count()) + " ms";
    obs.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(impl_->config.timeout);
    return obs;
  }
  return serve_connection(*impl_->context, impl_->keylog.get(), impl_->config, std::move(conn));
}

void LocalServer::serve_forever(const std::atomic<bool>& stop,
                                const std::function<void(const SideObservation&)>& on_connection) {
  while (!stop.load()) {
    Fd conn = impl_->accept_until(Clock::now() + 100ms);
    if (!conn.valid())
      continue;
    const auto obs =
        serve_connection(*impl_->context, impl_->keylog.get(), impl_->config, std::move(conn));
    if (on_connection)
      on_connection(obs);
  }
}

// An echo server (botan tls_server) never closes on its own: once the request's first line is
// back, the exchange is complete; the client says close_notify and closes. It lingers only
// briefly for the server's close, so that the server's answer to close_notify is read rather than
// reset.
static SideObservation finish_echoed(Recorder& rec, SSL* ssl, Fd& fd, Clock::time_point deadline,
                                     const std::string& received, std::string* response) {
  if (response != nullptr)
    *response = received;
  rec.completed({});
  if (!send_close_notify(ssl, fd.get(), deadline))
    rec.note("SSL_shutdown: close_notify could not be sent");
  close_gracefully(fd, std::min(deadline, Clock::now() + echo_linger_limit));
  return rec.finish(ssl);
}

SideObservation run_local_client(const TlsConfig& config, const std::string& host,
                                 std::uint16_t port, std::string* response) {
  const auto shared = tls::shared_context(config, Side::client);
  const tls::Context& context = *shared;
  const auto keylog =
      config.keylog.empty() ? nullptr : std::make_unique<tls::KeyLogFile>(config.keylog);
  const SigpipeBlock no_sigpipe;
  Recorder rec(Side::client, context.verifies_peer());
  const auto deadline = rec.started() + config.timeout;
  if (response != nullptr)
    response->clear();

  auto connected = connect_tcp(host, port, deadline, rec);
  if (!connected)
    return rec.finish(nullptr);
  Fd fd = std::move(*connected);
  set_nodelay(fd.get());
  const tls::SslPtr ssl_holder = context.new_ssl(rec.log(), keylog.get());
  SSL* ssl = ssl_holder.get();
  SSL_set_fd(ssl, fd.get());
  if (!config.server_name.empty()) {
    const bool ip = is_ip_literal(config.server_name);
    // RFC 6066 §3: SNI carries host names only, never IP literals.
    // (SSL_set_tlsext_host_name is this SSL_ctrl behind a C-style cast.)
    if (!ip)
      pki::ossl::check(
          static_cast<int>(SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                                    const_cast<char*>(config.server_name.c_str()))),
          "setting SNI");
    if (config.verify) {
      const int ok =
          ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), config.server_name.c_str())
             : SSL_set1_host(ssl, config.server_name.c_str());
      pki::ossl::check(ok, "setting the name to verify");
    }
  }
  auto io = [&](auto op) { return drive(ssl, fd.get(), deadline, op); };

  Step step = io([&] { return SSL_connect(ssl); });
  if (!step.ok) {
    rec.failed(ssl, step, "SSL_connect", Phase::handshake, config.timeout);
    close_gracefully(fd, deadline);
    return rec.finish(ssl);
  }

  // The request goes out after the handshake and the response is read to its end: in TLS 1.3 a
  // server's refusal of our certificate arrives only here (PEERS.md trap 5).
  std::size_t sent = 0;
  while (sent < resource_request.size()) {
    step = io([&] {
      return SSL_write(ssl, resource_request.data() + sent,
                       static_cast<int>(resource_request.size() - sent));
    });
    if (!step.ok) {
      rec.failed(ssl, step, "SSL_write (the request)", Phase::first_read, config.timeout);
      close_gracefully(fd, deadline);
      return rec.finish(ssl);
    }
    sent += static_cast<std::size_t>(step.ret);
  }

  std::string received;
  char buf[4096];
  bool close_notify = false;
  for (;;) {
    step = io([&] { return SSL_read(ssl, buf, sizeof buf); });
    if (step.ok) {
      received.append(buf, static_cast<std::size_t>(step.ret));
      if (config.server_echoes && received.find(echo_marker) != std::string::npos)
        return finish_echoed(rec, ssl, fd, deadline, received, response);
      if (received.size() > max_message)
        break;
      continue;
    }
    if (step.ssl_error == SSL_ERROR_ZERO_RETURN) {
      close_notify = true;
      break;
    }
    const Phase phase = received.empty() ? Phase::first_read : Phase::application_data;
    if (shows_resource(received, false)) {
      // The response is here; only the connection's proper end is missing (a server that closes
      // without close_notify, PEERS.md trap 9, or one that keeps the connection open). The
      // resource was exchanged: say so, and say what was odd.
      const auto errors = tls::drain_errors();
      rec.note(step.timed_out
                   ? "SSL_read: the server did not close the connection after the response"
                   : "SSL_read: the server closed without close_notify" +
                         (errors.text.empty() ? std::string() : ": " + errors.text));
      break;
    }
    if (response != nullptr)
      *response = received;
    rec.failed(ssl, step, "SSL_read (waiting for the response)", phase, config.timeout);
    close_gracefully(fd, deadline);
    return rec.finish(ssl);
  }
  if (response != nullptr)
    *response = received;
  if (shows_resource(received, false)) {
    rec.completed({});
  } else if (received.size() > max_message) {
    rec.plain_error(Phase::application_data,
                    "the response exceeds 1 MiB without the resource marker");
  } else {
    rec.plain_error(Phase::done, "the response is neither the resource (\"" +
                                     std::string(resource_marker) + "\") nor an HTTP 200");
  }
  if (close_notify)
    send_close_notify(ssl, fd.get(), deadline);
  return rec.finish(ssl);
}

} // namespace harness
