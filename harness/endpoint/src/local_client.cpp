// Our TLS client: connects (SNI, name check), sends the request after the handshake, reads the
// response to the end, observes itself.
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

} // namespace

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
  // server's refusal of our certificate arrives only here.
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
      // without close_notify, or one that keeps the connection open). The
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
