// The loopback relay: one thread, one poll() loop over the two legs and a wake-up eventfd.
// poll() rather than Asio: the whole job is two non-blocking sockets and a deadline, and the
// states that matter (FIN seen, write side shut, reset) are easier to keep exact by hand.
#include "harness/wire/relay.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace harness {

std::string_view to_string(WireEventKind k) {
  switch (k) {
  case WireEventKind::open:
    return "open";
  case WireEventKind::fin:
    return "fin";
  case WireEventKind::reset:
    return "reset";
  case WireEventKind::refused:
    return "refused";
  case WireEventKind::aborted:
    return "aborted";
  case WireEventKind::invalid:
    break;
  }
  return "invalid";
}

std::string_view to_string(RelayEnd e) {
  switch (e) {
  case RelayEnd::closed:
    return "closed";
  case RelayEnd::reset:
    return "reset";
  case RelayEnd::refused:
    return "refused";
  case RelayEnd::no_client:
    return "no_client";
  case RelayEnd::deadline:
    return "deadline";
  case RelayEnd::stopped:
    return "stopped";
  case RelayEnd::error:
    return "error";
  case RelayEnd::invalid:
    break;
  }
  return "invalid";
}

std::vector<std::uint8_t> Recording::stream(bool client_to_server) const {
  std::vector<std::uint8_t> out;
  for (const auto& c : chunks)
    if (c.client_to_server == client_to_server)
      out.insert(out.end(), c.bytes.begin(), c.bytes.end());
  return out;
}

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

using common::Fd;

// An abortive close: the peer gets a RST instead of a FIN (SO_LINGER {1, 0}, RFC 793 ABORT).
void abort_close(Fd& fd) {
  if (!fd.valid())
    return;
  const linger l{1, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
  fd.reset();
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// The socket API wants sockaddr*; sockaddr_in is its IPv4 form by definition.
sockaddr* as_sockaddr(sockaddr_in& a) {
  return reinterpret_cast<sockaddr*>(&a);
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Acknowledges what was read at once instead of up to 40 ms later. A peer that writes twice
// without TCP_NODELAY (gnutls-cli and tstclnt send the TLS 1.3 Finished and then the request)
// has its second write held by Nagle until the first is acknowledged, and the relay would
// answer nothing to a Finished: each such case waited for the delayed ACK. The kernel clears
// TCP_QUICKACK by itself, so it is set again after every read. Only TCP timing changes; the
// bytes and their order do not.
void ack_now(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

// One read's worth: the relay reads at most this much before forwarding it.
constexpr std::size_t read_size = 64 * 1024;

struct Leg {
  Fd fd;
  bool client = false; // the client's leg (else the server's)
  bool eof = false;    // it sent FIN (recv returned 0)
  bool shut = false;   // we shut down our sending direction to it
};

struct Direction {
  Leg& from;
  Leg& to;
  std::vector<std::uint8_t> pending; // read from `from`, not yet written to `to`
  std::size_t offset = 0;
  [[nodiscard]] bool reading() const { return !from.eof && pending.empty(); }
  [[nodiscard]] bool done() const { return from.eof && pending.empty() && to.shut; }
};

} // namespace

struct Relay::Impl {
  std::uint16_t upstream_port = 0;
  std::function<void(std::uint16_t)> on_upstream;
  Clock::time_point start;
  Clock::time_point deadline;
  Fd listener;
  Fd wake; // eventfd: stop() writes to it
  std::uint16_t port = 0;
  Recording rec;
  Leg client{{}, true};
  Leg server{{}, false};
  Direction up{client, server, {}, 0};
  Direction down{server, client, {}, 0};
  std::vector<std::uint8_t> buffer = std::vector<std::uint8_t>(read_size);
  std::thread thread;
  std::mutex join_mutex;

  [[nodiscard]] std::chrono::microseconds now() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  }
  void event(bool client_to_server, WireEventKind kind) {
    rec.events.push_back({client_to_server, kind, now(), rec.chunks.size()});
  }
  void finish(RelayEnd end) {
    rec.end = end;
    rec.ended = now();
  }
  [[nodiscard]] int millis_left() const {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<std::int64_t>(0, left.count()));
  }
  [[nodiscard]] Direction& out_of(const Leg& leg) { return &leg == &client ? up : down; }
  [[nodiscard]] Direction& into(const Leg& leg) { return &leg == &client ? down : up; }

  // Waits for `fd` to report `events`, the wake-up, or the deadline. Returns the fd's revents,
  // 0 for the deadline and -1 for stop().
  int wait_for(int fd, short events) {
    for (;;) {
      std::array<pollfd, 2> p{{{wake.get(), POLLIN, 0}, {fd, events, 0}}};
      const int n = ::poll(p.data(), p.size(), millis_left());
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return 0;
      if (p[0].revents != 0)
        return -1;
      return p[1].revents;
    }
  }

  void run();
  bool accept_client();
  bool connect_upstream();
  void forward();
  bool read_from(Direction& d);
  bool flush(Direction& d);
  void reset_from(Leg& x, int err);
};

void Relay::Impl::run() {
  if (accept_client() && connect_upstream())
    forward();
}

bool Relay::Impl::accept_client() {
  for (;;) {
    const int r = wait_for(listener.get(), POLLIN);
    if (r <= 0) {
      finish(RelayEnd::no_client);
      return false;
    }
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    const int fd = ::accept4(listener.get(), as_sockaddr(peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
        continue; // the client gave up before we took it: wait for another
      rec.error_text = errno_text("accept", errno);
      finish(RelayEnd::error);
      return false;
    }
    client.fd = Fd(fd);
    // One connection per relay: later clients are refused rather than left in a backlog.
    listener.reset();
    set_nodelay(fd);
    rec.client_port = ntohs(peer.sin_port);
    event(true, WireEventKind::open);
    return true;
  }
}

bool Relay::Impl::connect_upstream() {
  server.fd = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!server.fd.valid()) {
    rec.error_text = errno_text("socket", errno);
    abort_close(client.fd);
    finish(RelayEnd::error);
    return false;
  }
  set_nodelay(server.fd.get());
  auto addr = loopback(upstream_port);
  int err = 0;
  const int connected = ::connect(server.fd.get(), as_sockaddr(addr), sizeof addr);
  err = connected != 0 ? errno : 0;
  // connect() has bound the source port even while the handshake is in progress.
  sockaddr_in local{};
  socklen_t local_len = sizeof local;
  if (::getsockname(server.fd.get(), as_sockaddr(local), &local_len) == 0) {
    rec.upstream_source_port = ntohs(local.sin_port);
    if (on_upstream && rec.upstream_source_port != 0)
      on_upstream(rec.upstream_source_port);
  }
  if (connected != 0) {
    if (err == EINPROGRESS) {
      const int r = wait_for(server.fd.get(), POLLOUT);
      if (r <= 0) {
        event(true, WireEventKind::aborted);
        abort_close(client.fd);
        abort_close(server.fd);
        finish(r == 0 ? RelayEnd::deadline : RelayEnd::stopped);
        return false;
      }
      socklen_t len = sizeof err;
      ::getsockopt(server.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (err != 0) {
    rec.error_text = errno_text("connect", err);
    const bool refused = err == ECONNREFUSED;
    if (refused)
      event(false, WireEventKind::refused);
    abort_close(client.fd); // what a client connecting directly would have got
    server.fd.reset();
    finish(refused ? RelayEnd::refused : RelayEnd::error);
    return false;
  }
  event(false, WireEventKind::open);
  return true;
}

void Relay::Impl::reset_from(Leg& x, int err) {
  event(x.client, WireEventKind::reset);
  rec.error_text = errno_text(x.client ? "client reset" : "server reset", err);
  // What x sent before its reset still reaches the other side if it can take it at once (a
  // receiver keeps data that arrived before a RST readable).
  Direction& d = out_of(x);
  if (d.offset < d.pending.size()) {
    [[maybe_unused]] const auto n = ::send(d.to.fd.get(), d.pending.data() + d.offset,
                                           d.pending.size() - d.offset, MSG_NOSIGNAL);
  }
  x.fd.reset();
  abort_close(d.to.fd);
  finish(RelayEnd::reset);
}

// False when the relay has ended (a reset).
bool Relay::Impl::flush(Direction& d) {
  while (d.offset < d.pending.size()) {
    const ssize_t n = ::send(d.to.fd.get(), d.pending.data() + d.offset,
                             d.pending.size() - d.offset, MSG_NOSIGNAL);
    if (n > 0) {
      d.offset += static_cast<std::size_t>(n);
      continue;
    }
    const int err = errno;
    if (err == EINTR)
      continue;
    if (err == EAGAIN || err == EWOULDBLOCK)
      return true;
    // EPIPE/ECONNRESET: the receiver reset its connection (it closed with data unread, or
    // aborted). Anything else is as fatal for this leg and is passed on the same way.
    reset_from(d.to, err);
    return false;
  }
  d.pending.clear();
  d.offset = 0;
  if (d.from.eof && !d.to.shut) {
    ::shutdown(d.to.fd.get(), SHUT_WR);
    d.to.shut = true;
  }
  return true;
}

// False when the relay has ended (a reset).
bool Relay::Impl::read_from(Direction& d) {
  const ssize_t n = ::recv(d.from.fd.get(), buffer.data(), buffer.size(), 0);
  if (n > 0) {
    ack_now(d.from.fd.get());
    const auto end = buffer.begin() + n;
    rec.chunks.push_back({d.from.client, now(), std::vector<std::uint8_t>(buffer.begin(), end)});
    d.pending.assign(buffer.begin(), end);
    d.offset = 0;
    return flush(d);
  }
  if (n == 0) {
    d.from.eof = true;
    event(d.from.client, WireEventKind::fin);
    return flush(d); // nothing pending: passes the FIN on at once
  }
  const int err = errno;
  if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR)
    return true;
  reset_from(d.from, err);
  return false;
}

void Relay::Impl::forward() {
  while (!(up.done() && down.done())) {
    // A leg we shut down and are not reading from has nothing to tell us now: poll() would
    // report POLLHUP on it over and over once it sent FIN too, so it leaves the set (a negative
    // fd is ignored). A reset of it shows when we read from it again.
    const auto interest = [this](const Leg& leg) {
      const Direction& out = out_of(leg);
      const Direction& in = into(leg);
      return pollfd{
          leg.shut && !out.reading() ? -1 : leg.fd.get(),
          static_cast<short>((out.reading() ? POLLIN : 0) | (in.pending.empty() ? 0 : POLLOUT)), 0};
    };
    std::array<pollfd, 3> p{{{wake.get(), POLLIN, 0}, interest(client), interest(server)}};
    const int n = ::poll(p.data(), p.size(), millis_left());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rec.error_text = errno_text("poll", errno);
      abort_close(client.fd);
      abort_close(server.fd);
      finish(RelayEnd::error);
      return;
    }
    if (n == 0 || p[0].revents != 0) {
      // The case is over (deadline or stop()): reset both legs so neither peer waits on us.
      event(true, WireEventKind::aborted);
      abort_close(client.fd);
      abort_close(server.fd);
      finish(n == 0 ? RelayEnd::deadline : RelayEnd::stopped);
      return;
    }
    for (auto [leg, revents] : {std::pair<Leg*, short>{&client, p[1].revents},
                                std::pair<Leg*, short>{&server, p[2].revents}}) {
      if (revents == 0)
        continue;
      Direction& out = out_of(*leg);
      Direction& in = into(*leg);
      bool acted = false;
      if (out.reading() && (revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        if (!read_from(out))
          return;
        acted = true;
      }
      if (!in.pending.empty() && (revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
        if (!flush(in))
          return;
        acted = true;
      }
      if (!acted && (revents & (POLLERR | POLLHUP)) != 0) {
        // Neither reading from nor writing to this leg just now (it sent FIN, or its receiver
        // is full), but it was reset (a shut-down leg is not polled, so a hang-up is a reset
        // too): that is news for the other side.
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(leg->fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        reset_from(*leg, err != 0 ? err : ECONNRESET);
        return;
      }
    }
  }
  client.fd.reset();
  server.fd.reset();
  finish(RelayEnd::closed);
}

Relay::Relay(std::uint16_t upstream_port, RelayOptions options)
    : Relay(upstream_port, options, {}) {}

Relay::Relay(std::uint16_t upstream_port, RelayOptions options,
             std::function<void(std::uint16_t)> on_upstream)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.upstream_port = upstream_port;
  m.on_upstream = std::move(on_upstream);
  m.rec.server_port = upstream_port;
  m.listener = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!m.listener.valid())
    throw tlsmatrix::Error(tlsmatrix::Errc::io, errno_text("relay: socket", errno));
  auto addr = loopback(0);
  socklen_t len = sizeof addr;
  if (::bind(m.listener.get(), as_sockaddr(addr), sizeof addr) != 0 ||
      ::listen(m.listener.get(), 8) != 0 ||
      ::getsockname(m.listener.get(), as_sockaddr(addr), &len) != 0)
    throw tlsmatrix::Error(tlsmatrix::Errc::io, errno_text("relay: listen on 127.0.0.1", errno));
  m.port = ntohs(addr.sin_port);
  m.wake = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!m.wake.valid())
    throw tlsmatrix::Error(tlsmatrix::Errc::io, errno_text("relay: eventfd", errno));
  m.rec.started_at = std::chrono::system_clock::now();
  m.start = Clock::now();
  m.deadline = m.start + options.deadline;
  try {
    m.thread = std::thread([&m] { m.run(); });
  } catch (const std::system_error& e) {
    throw tlsmatrix::Error(tlsmatrix::Errc::io,
                           std::string("relay: cannot start a thread: ") + e.what());
  }
}

Relay::~Relay() {
  stop();
  wait();
}

std::uint16_t Relay::port() const {
  return impl_->port;
}

void Relay::stop() {
  const std::uint64_t one = 1;
  // A full counter (impossible here) or an ended relay needs no second wake-up.
  [[maybe_unused]] const auto n = ::write(impl_->wake.get(), &one, sizeof one);
}

const Recording& Relay::wait() {
  const std::lock_guard lock(impl_->join_mutex);
  if (impl_->thread.joinable())
    impl_->thread.join();
  return impl_->rec;
}

} // namespace harness
