// The loopback relay: byte-exact forwarding, half-close and reset passed through, deadline and
// stop(), and our own TLS endpoints reaching the same outcome with and without it.
#include "harness/wire/relay.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/endpoint/local_endpoint.hpp"
#include "harness/wire/key_log.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/trace.hpp"
#include "pki_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using harness::Recording;
using harness::Relay;
using harness::RelayEnd;
using harness::RelayOptions;
using harness::WireEventKind;
using Bytes = std::vector<std::uint8_t>;

// Every blocking call of these tests is bounded by this: a bug shows as a failure, not a hang.
constexpr auto io_deadline = 10s;

class Socket {
public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) { set_timeouts(); }
  ~Socket() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  [[nodiscard]] int fd() const { return fd_; }

  static Socket connect_to(std::uint16_t port) {
    Socket s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto a = address(port);
    if (::connect(s.fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
    return s;
  }
  static sockaddr_in address(std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }

  void send_all(const Bytes& b) const { send_all(b.data(), b.size()); }
  void send_all(const std::uint8_t* p, std::size_t n) const {
    while (n > 0) {
      const ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k <= 0)
        throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      p += k;
      n -= static_cast<std::size_t>(k);
    }
  }
  void send_text(std::string_view s) const {
    send_all(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
  }
  // Reads until EOF (0) or an error (its errno); `out` gets what arrived.
  int read_to_end(Bytes& out) const {
    std::uint8_t buf[16384];
    for (;;) {
      const ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
      if (k == 0)
        return 0;
      if (k < 0)
        return errno;
      out.insert(out.end(), buf, buf + k);
    }
  }
  // Reads exactly n bytes (throws on EOF or error).
  Bytes read_exactly(std::size_t n) const {
    Bytes out(n);
    std::size_t got = 0;
    while (got < n) {
      const ssize_t k = ::recv(fd_, out.data() + got, n - got, 0);
      if (k <= 0)
        throw std::runtime_error(k == 0 ? "unexpected EOF" : std::strerror(errno));
      got += static_cast<std::size_t>(k);
    }
    return out;
  }
  void shutdown_write() const { ::shutdown(fd_, SHUT_WR); }
  // An abortive close: the peer gets a RST.
  void reset() {
    const linger l{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(std::exchange(fd_, -1));
  }

private:
  void set_timeouts() const {
    const timeval tv{std::chrono::duration_cast<std::chrono::seconds>(io_deadline).count(), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  int fd_ = -1;
};

// A plain TCP server on 127.0.0.1: the relay's upstream.
class Upstream {
public:
  Upstream() : listener_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    auto a = Socket::address(0);
    socklen_t len = sizeof a;
    if (::bind(listener_.fd(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listener_.fd(), 4) != 0 ||
        ::getsockname(listener_.fd(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("cannot listen");
    port_ = ntohs(a.sin_port);
  }
  [[nodiscard]] std::uint16_t port() const { return port_; }
  Socket accept() const {
    pollfd p{listener_.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(io_deadline).count())) != 1)
      throw std::runtime_error("no connection within the deadline");
    return Socket(::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
  }

private:
  Socket listener_;
  std::uint16_t port_ = 0;
};

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& x : b)
    x = static_cast<std::uint8_t>(byte(rng));
  return b;
}

// Sends `data` in random-sized pieces (1 byte .. max_piece).
void send_in_pieces(const Socket& s, const Bytes& data, std::size_t max_piece, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> size(1, max_piece);
  std::size_t at = 0;
  while (at < data.size()) {
    const std::size_t n = std::min(size(rng), data.size() - at);
    s.send_all(data.data() + at, n);
    at += n;
  }
}

std::vector<WireEventKind> kinds(const Recording& r, bool client_to_server) {
  std::vector<WireEventKind> out;
  for (const auto& e : r.events)
    if (e.client_to_server == client_to_server)
      out.push_back(e.kind);
  return out;
}

// Ends the relay for sure (bounded) and returns what it recorded.
const Recording& finished(Relay& relay) {
  auto done = std::async(std::launch::async, [&relay] { return &relay.wait(); });
  if (done.wait_for(io_deadline) != std::future_status::ready) {
    ADD_FAILURE() << "the relay did not end by itself";
    relay.stop();
  }
  return *done.get();
}

TEST(Relay, ForwardsLargeRandomPayloadsBothWaysByteExactly) {
  Upstream up;
  Relay relay(up.port());
  std::mt19937 rng(42);
  const Bytes to_server = random_bytes(rng, 3 * 1024 * 1024 + 17);
  const Bytes to_client = random_bytes(rng, 2 * 1024 * 1024 + 5);

  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  // Both sides write and read at once, as a full-duplex protocol may: writers in threads.
  auto client_writes = std::async(std::launch::async, [&] {
    send_in_pieces(client, to_server, 70000, 1);
    client.shutdown_write();
  });
  auto server_writes = std::async(std::launch::async, [&] {
    send_in_pieces(server, to_client, 5000, 2);
    server.shutdown_write();
  });
  Bytes at_server, at_client;
  auto server_reads = std::async(std::launch::async, [&] { return server.read_to_end(at_server); });
  EXPECT_EQ(client.read_to_end(at_client), 0);
  EXPECT_EQ(server_reads.get(), 0);
  client_writes.get();
  server_writes.get();
  EXPECT_TRUE(at_server == to_server) << at_server.size() << " of " << to_server.size();
  EXPECT_TRUE(at_client == to_client) << at_client.size() << " of " << to_client.size();

  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::closed) << r.error_text;
  EXPECT_TRUE(r.stream(true) == to_server);
  EXPECT_TRUE(r.stream(false) == to_client);
  EXPECT_EQ(r.server_port, up.port());
  EXPECT_NE(r.client_port, 0);
  for (std::size_t i = 1; i < r.chunks.size(); ++i)
    ASSERT_LE(r.chunks[i - 1].since_start, r.chunks[i].since_start) << "chunk " << i;
  EXPECT_EQ(kinds(r, true), (std::vector{WireEventKind::open, WireEventKind::fin}));
  EXPECT_EQ(kinds(r, false), (std::vector{WireEventKind::open, WireEventKind::fin}));
}

TEST(Relay, InterleavedSmallMessagesKeepTheirOrderInTheRecording) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> size(1, 300);
  std::vector<std::pair<bool, Bytes>> sent;
  for (int round = 0; round < 100; ++round) {
    // A request, then its answer: each is read in full before the next is sent.
    Bytes ping = random_bytes(rng, size(rng));
    client.send_all(ping);
    EXPECT_TRUE(server.read_exactly(ping.size()) == ping);
    Bytes pong = random_bytes(rng, size(rng));
    server.send_all(pong);
    EXPECT_TRUE(client.read_exactly(pong.size()) == pong);
    sent.emplace_back(true, std::move(ping));
    sent.emplace_back(false, std::move(pong));
  }
  client.shutdown_write();
  Bytes rest;
  EXPECT_EQ(server.read_to_end(rest), 0);
  server.shutdown_write();
  EXPECT_EQ(client.read_to_end(rest), 0);
  EXPECT_TRUE(rest.empty());

  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::closed);
  // Each message was read before the answer was sent: one chunk or more per message, in order.
  std::size_t chunk = 0;
  for (const auto& [c2s, bytes] : sent) {
    Bytes got;
    while (got.size() < bytes.size() && chunk < r.chunks.size()) {
      ASSERT_EQ(r.chunks[chunk].client_to_server, c2s) << "chunk " << chunk;
      got.insert(got.end(), r.chunks[chunk].bytes.begin(), r.chunks[chunk].bytes.end());
      ++chunk;
    }
    ASSERT_TRUE(got == bytes) << "chunk " << chunk;
  }
  EXPECT_EQ(chunk, r.chunks.size());
}

TEST(Relay, HalfClosePassesThroughAndTheOtherDirectionGoesOn) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  client.send_text("request");
  client.shutdown_write();
  // The server sees the request and then EOF: the FIN came through …
  Bytes request;
  EXPECT_EQ(server.read_to_end(request), 0);
  EXPECT_EQ(std::string(request.begin(), request.end()), "request");
  // … and can still answer, at length, on the half-open connection.
  std::mt19937 rng(3);
  const Bytes response = random_bytes(rng, 300000);
  server.send_all(response);
  server.shutdown_write();
  Bytes got;
  EXPECT_EQ(client.read_to_end(got), 0);
  EXPECT_TRUE(got == response);

  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::closed);
  ASSERT_EQ(r.events.size(), 4U);
  EXPECT_EQ(r.events[2].kind, WireEventKind::fin);
  EXPECT_TRUE(r.events[2].client_to_server);
  EXPECT_EQ(r.events[2].chunks_before, 1U); // right after the request
  EXPECT_EQ(r.events[3].kind, WireEventKind::fin);
  EXPECT_FALSE(r.events[3].client_to_server);
  EXPECT_EQ(r.events[3].chunks_before, r.chunks.size());
  EXPECT_LE(r.events[2].since_start, r.events[3].since_start);
}

TEST(Relay, ServerResetReachesTheClient) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  client.send_text("hello");
  EXPECT_EQ(server.read_exactly(5).size(), 5U);
  server.reset();
  Bytes got;
  EXPECT_EQ(client.read_to_end(got), ECONNRESET);

  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::reset);
  EXPECT_EQ(kinds(r, false), (std::vector{WireEventKind::open, WireEventKind::reset}));
}

TEST(Relay, ClientResetReachesTheServerAfterItsData) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  client.send_text("last words");
  EXPECT_EQ(server.read_exactly(10).size(), 10U); // the data is through before the reset
  client.reset();
  Bytes got;
  EXPECT_EQ(server.read_to_end(got), ECONNRESET);

  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::reset);
  EXPECT_EQ(kinds(r, true), (std::vector{WireEventKind::open, WireEventKind::reset}));
}

TEST(Relay, ResetAfterHalfCloseStillReachesTheOtherSide) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  client.shutdown_write();
  Bytes got;
  EXPECT_EQ(server.read_to_end(got), 0);
  server.send_text("still here");
  EXPECT_EQ(client.read_exactly(10).size(), 10U);
  client.reset(); // the client's side was only receiving: its reset must still be passed on
  // The server already read EOF, so recv() keeps returning 0; the RST shows as a hang-up and
  // the socket error EPIPE (Linux, a RST in CLOSE_WAIT), as it would without the relay.
  pollfd p{server.fd(), 0, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  EXPECT_NE(p.revents & POLLHUP, 0);
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(server.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << std::strerror(err);
  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::reset);
  EXPECT_EQ(kinds(r, true),
            (std::vector{WireEventKind::open, WireEventKind::fin, WireEventKind::reset}));
}

TEST(Relay, DeadlineEndsAStalledConnectionAndResetsBothLegs) {
  Upstream up;
  const auto start = std::chrono::steady_clock::now();
  Relay relay(up.port(), RelayOptions{300ms});
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  // Nobody says anything: only the deadline can end this.
  const Recording& r = finished(relay);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.end, RelayEnd::deadline);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
  Bytes got;
  EXPECT_EQ(client.read_to_end(got), ECONNRESET);
  EXPECT_EQ(server.read_to_end(got), ECONNRESET);
  ASSERT_FALSE(r.events.empty());
  EXPECT_EQ(r.events.back().kind, WireEventKind::aborted);
}

TEST(Relay, StopFromAnotherThreadEndsItAtOnce) {
  Upstream up;
  Relay relay(up.port(), RelayOptions{60s});
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  const auto start = std::chrono::steady_clock::now();
  std::thread([&relay] { relay.stop(); }).join();
  const Recording& r = finished(relay);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(r.end, RelayEnd::stopped);
  Bytes got;
  EXPECT_EQ(client.read_to_end(got), ECONNRESET);
}

TEST(Relay, NoClientEndsAtTheDeadlineOrOnStop) {
  Upstream up;
  {
    Relay relay(up.port(), RelayOptions{100ms});
    const Recording& r = finished(relay);
    EXPECT_EQ(r.end, RelayEnd::no_client);
    EXPECT_TRUE(r.events.empty());
  }
  Relay relay(up.port(), RelayOptions{60s});
  relay.stop();
  EXPECT_EQ(finished(relay).end, RelayEnd::no_client);
}

TEST(Relay, DestructionWithoutWaitDoesNotHang) {
  Upstream up;
  const auto start = std::chrono::steady_clock::now();
  {
    Relay relay(up.port(), RelayOptions{60s});
    Socket client = Socket::connect_to(relay.port());
    Socket server = up.accept();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(Relay, RefusedUpstreamResetsTheClient) {
  std::uint16_t closed_port = 0;
  {
    Upstream gone; // a port that was free a moment ago and has no listener now
    closed_port = gone.port();
  }
  Relay relay(closed_port);
  Socket client = Socket::connect_to(relay.port());
  Bytes got;
  EXPECT_EQ(client.read_to_end(got), ECONNRESET);
  const Recording& r = finished(relay);
  EXPECT_EQ(r.end, RelayEnd::refused);
  EXPECT_EQ(kinds(r, false), (std::vector{WireEventKind::refused}));
}

TEST(Relay, TakesOneClientOnly) {
  Upstream up;
  Relay relay(up.port());
  Socket client = Socket::connect_to(relay.port());
  Socket server = up.accept();
  client.send_text("x");
  EXPECT_EQ(server.read_exactly(1).size(), 1U); // accepted and connected: the listener is gone
  EXPECT_THROW(Socket::connect_to(relay.port()), std::runtime_error);
  client.shutdown_write();
  server.shutdown_write();
  EXPECT_EQ(finished(relay).end, RelayEnd::closed);
}

// --- our TLS endpoints, direct and through the relay ---------------------------------------

using harness::ClientAuth;
using harness::LocalServer;
using harness::SideObservation;
using harness::TlsConfig;
using harness::TlsVersion;

struct Exchange {
  SideObservation server;
  SideObservation client;
  std::string response;
  std::optional<Recording> wire;
};

std::string describe(const SideObservation& o) {
  std::string s = std::string(harness::to_string(o.outcome)) + "/" +
                  std::string(harness::to_string(o.phase)) + " reason=" + o.reason + " alerts=[";
  for (const auto& a : o.alerts)
    s += std::string(a.sent ? " sent:" : " recv:") + a.name();
  return s + " ] " + o.negotiated_version + " " + o.cipher + " peer=" + o.peer_identity;
}

// What must not change when the relay is in between: everything but timings and error texts.
std::string essence(const SideObservation& o) {
  return describe(o) + " verify=" + (o.verify_error ? std::to_string(*o.verify_error) : "-");
}

class RelayTls : public ::testing::TestWithParam<TlsVersion> {
protected:
  static std::filesystem::path file(const std::string& entity, const std::string& kind) {
    return testing_support::default_pki().file(entity, kind);
  }
  [[nodiscard]] TlsConfig identity(const std::string& entity) const {
    TlsConfig c;
    c.version = GetParam();
    if (!entity.empty()) {
      c.cert = file(entity, "cert");
      c.key = file(entity, "key");
      c.chain = file(entity, "chain");
    }
    c.trust = testing_support::default_pki().dir / "trust-anchors.pem";
    c.timeout = 5s;
    return c;
  }

  static Exchange exchange(const TlsConfig& server_config, const TlsConfig& client_config,
                           bool relayed) {
    LocalServer srv(server_config);
    auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
    Exchange e;
    std::optional<Relay> relay;
    if (relayed)
      relay.emplace(srv.port(), RelayOptions{10s});
    e.client = harness::run_local_client(client_config, "localhost",
                                         relayed ? relay->port() : srv.port(), &e.response);
    e.server = served.get();
    if (relay)
      e.wire = finished(*relay);
    return e;
  }

  // Runs the exchange direct and relayed and requires the same observations on both sides.
  Exchange same_with_and_without_relay(const TlsConfig& server_config,
                                       const TlsConfig& client_config) {
    const Exchange direct = exchange(server_config, client_config, false);
    Exchange relayed = exchange(server_config, client_config, true);
    EXPECT_EQ(essence(relayed.client), essence(direct.client));
    EXPECT_EQ(essence(relayed.server), essence(direct.server));
    EXPECT_EQ(relayed.response, direct.response);
    return relayed;
  }
};

TEST_P(RelayTls, OneWayHandshakeIsTheSameThroughTheRelay) {
  const auto e = same_with_and_without_relay(identity("server"), identity(""));
  EXPECT_EQ(e.client.outcome, harness::Outcome::completed) << describe(e.client);
  ASSERT_TRUE(e.wire.has_value());
  EXPECT_EQ(e.wire->end, RelayEnd::closed) << e.wire->error_text;
  // The first bytes on the wire are the client's: a TLS handshake record (content type 22).
  ASSERT_FALSE(e.wire->chunks.empty());
  EXPECT_TRUE(e.wire->chunks.front().client_to_server);
  EXPECT_EQ(e.wire->chunks.front().bytes.front(), 22);
}

TEST_P(RelayTls, TwoWayHandshakeIsTheSameThroughTheRelay) {
  TlsConfig server = identity("server");
  server.client_auth = ClientAuth::require;
  const auto e = same_with_and_without_relay(server, identity("client"));
  EXPECT_EQ(e.client.outcome, harness::Outcome::completed) << describe(e.client);
  EXPECT_EQ(e.server.peer_identity, "/O=tlsmatrix/CN=tlsmatrix client");
}

TEST_P(RelayTls, ExpiredServerIsRejectedTheSameWayThroughTheRelay) {
  const auto e = same_with_and_without_relay(identity("server_expired"), identity(""));
  EXPECT_EQ(e.client.outcome, harness::Outcome::rejected) << describe(e.client);
  EXPECT_EQ(e.client.reason, "expired");
}

TEST_P(RelayTls, MissingClientCertIsRejectedTheSameWayThroughTheRelay) {
  TlsConfig server = identity("server");
  server.client_auth = ClientAuth::require;
  const auto e = same_with_and_without_relay(server, identity(""));
  EXPECT_EQ(e.server.outcome, harness::Outcome::rejected) << describe(e.server);
  EXPECT_EQ(e.server.reason, "no_client_cert");
}

TEST_P(RelayTls, GarbageFromTheClientEndsTheConnectionNotTheRelay) {
  LocalServer srv(identity("server"));
  auto served = std::async(std::launch::async, [&srv] { return srv.serve_one(); });
  Relay relay(srv.port(), RelayOptions{10s});
  {
    Socket client = Socket::connect_to(relay.port());
    std::mt19937 rng(11);
    client.send_all(random_bytes(rng, 4096));
    client.shutdown_write();
    Bytes got;
    client.read_to_end(got); // an alert, then EOF or a reset: anything but a hang
  }
  const auto server = served.get();
  EXPECT_NE(server.outcome, harness::Outcome::completed);
  const Recording& r = finished(relay);
  EXPECT_TRUE(r.end == RelayEnd::closed || r.end == RelayEnd::reset) << to_string(r.end);
  EXPECT_EQ(r.stream(true).size(), 4096U);
}

// A "server" that answers our client's ClientHello with random bytes: the relay forwards them
// unchanged, our client fails, and the decoder reads the recording as a ClientHello followed by
// malformed server data — no crash, no hang.
TEST_P(RelayTls, GarbageFromTheServerIsForwardedAndDecodedAsMalformed) {
  Upstream upstream;
  Relay relay(upstream.port(), RelayOptions{10s});
  std::mt19937 rng(23);
  Bytes garbage = random_bytes(rng, 3000);
  garbage[0] = 0x99; // not a TLS content type, nor an SSLv2 header with a plausible length
  auto peer = std::async(std::launch::async, [&] {
    Socket s = upstream.accept();
    (void)s.read_exactly(5); // the ClientHello's record header at least
    s.send_all(garbage);
    s.shutdown_write();
    Bytes rest;
    s.read_to_end(rest);
  });
  TlsConfig client = identity("");
  std::string response;
  const auto o = harness::run_local_client(client, "localhost", relay.port(), &response);
  peer.get();
  EXPECT_NE(o.outcome, harness::Outcome::completed);
  const Recording& r = finished(relay);
  // Byte-exact as far as it went (the client may reset the connection before the end).
  const Bytes forwarded = r.stream(false);
  ASSERT_FALSE(forwarded.empty());
  EXPECT_TRUE(std::equal(forwarded.begin(), forwarded.end(), garbage.begin()));
  EXPECT_LE(forwarded.size(), garbage.size());

  std::vector<harness::wire::Chunk> chunks;
  for (const auto& c : r.chunks)
    chunks.push_back({c.client_to_server ? harness::wire::Direction::client_to_server
                                         : harness::wire::Direction::server_to_client,
                      c.since_start, c.bytes});
  const auto trace = harness::wire::decode_trace(chunks);
  ASSERT_FALSE(trace.events.empty());
  EXPECT_EQ(trace.events.front().name, "ClientHello");
  bool malformed_from_server = false;
  for (const auto& e : trace.events)
    if (e.direction == harness::wire::Direction::server_to_client) {
      EXPECT_EQ(e.kind, harness::wire::EventKind::malformed) << e.name << " " << e.detail;
      malformed_from_server =
          malformed_from_server || e.kind == harness::wire::EventKind::malformed;
    }
  EXPECT_TRUE(malformed_from_server);
}

INSTANTIATE_TEST_SUITE_P(Versions, RelayTls,
                         ::testing::Values(TlsVersion::tls12, TlsVersion::tls13),
                         [](const auto& p) {
                           return p.param == TlsVersion::tls12 ? "Tls12" : "Tls13";
                         });

} // namespace
