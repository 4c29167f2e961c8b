// The connection helpers of our endpoints: poll(2) with deadlines, graceful closes, close_notify.
#include "connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <system_error>

namespace harness::tls {
namespace {

long long ms_left(Clock::time_point deadline) {
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

} // namespace

std::string errno_text(int e) {
  return std::generic_category().message(e);
}

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

std::string peer_identity(SSL* ssl) {
  const X509* peer = SSL_get0_peer_certificate(ssl);
  return peer == nullptr ? "anonymous" : tls::oneline_subject(*peer);
}

} // namespace harness::tls
