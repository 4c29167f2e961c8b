// Our TLS server: listens on loopback, serves the protected resource, observes itself.
#include "connection.hpp"
#include "harness/endpoint/local_endpoint.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string_view>
#include <utility>

#include "common/error.hpp"

namespace harness {
namespace {

using namespace tls;
using tlsmatrix::Errc;
using tlsmatrix::Error;

constexpr std::string_view response_header = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n";

bool request_complete(const std::string& request) {
  return request.find("\r\n\r\n") != std::string::npos || request.find("\n\n") != std::string::npos;
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
      if (cancelled.load())
        return Fd();
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
  std::atomic<bool> cancelled{false};
};

LocalServer::LocalServer(const TlsConfig& config, std::uint16_t port)
    : impl_(std::make_unique<Impl>(config, port)) {}

LocalServer::~LocalServer() = default;

std::uint16_t LocalServer::port() const {
  return impl_->port;
}

void LocalServer::stop_waiting() {
  impl_->cancelled = true;
  // Shutting a listening socket down wakes a poll() or accept() blocked on it (Linux).
  ::shutdown(impl_->listener.get(), SHUT_RDWR);
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

} // namespace harness
