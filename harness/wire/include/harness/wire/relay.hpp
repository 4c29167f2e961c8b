// A transparent TCP relay on loopback that records both directions of one connection, with times.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace harness {

// The bytes of one successful read on one leg, as the relay forwarded them.
struct RecordedChunk {
  bool client_to_server = false;
  std::chrono::microseconds since_start{0}; // since the relay started listening
  std::vector<std::uint8_t> bytes;
};

// What happened to the connection besides data, per direction (the side that sends it).
enum class WireEventKind {
  invalid,
  open,    // client_to_server: the relay accepted the client; else: it connected to the server
  fin,     // that side closed its sending direction (FIN); passed on as shutdown(SHUT_WR)
  reset,   // that side reset the connection (RST); passed on as a reset of the other leg
  refused, // the server refused the relay's connection (RST to the SYN); the client leg is reset
  aborted, // the relay itself ended the connection (deadline or stop()); both legs are reset
};
[[nodiscard]] std::string_view to_string(WireEventKind k); // "open", "fin", …

struct WireEvent {
  bool client_to_server = false; // true: the client's side did it (or, for aborted, both)
  WireEventKind kind = WireEventKind::invalid;
  std::chrono::microseconds since_start{0};
  // How many chunks were recorded before this event: orders events and chunks exactly even when
  // their timestamps are equal (a FIN always comes after the data it follows).
  std::size_t chunks_before = 0;
};

// Why the relay ended.
enum class RelayEnd {
  invalid,
  closed,    // both sides sent FIN and everything was forwarded
  reset,     // one side reset the connection (see events for which)
  refused,   // the server refused the connection
  no_client, // no client connected before the deadline or stop()
  deadline,  // the deadline passed during the connection
  stopped,   // stop() was called during the connection
  error,     // a socket call failed in a way none of the above explains (see error_text)
};
[[nodiscard]] std::string_view to_string(RelayEnd e); // "closed", "reset", …

struct Recording {
  std::chrono::system_clock::time_point started_at; // wall clock at since_start == 0
  std::uint16_t client_port = 0; // the client's own (ephemeral) port on the client leg
  std::uint16_t server_port = 0; // the server's port (the relay's upstream)
  // The relay's own (ephemeral) port on the server leg: the source port the server's accept()
  // sees, which a server serving many connections prefixes its lines with ("@<port> …").
  std::uint16_t upstream_source_port = 0;
  std::vector<RecordedChunk> chunks; // arrival order across both directions
  std::vector<WireEvent> events;     // in order
  RelayEnd end = RelayEnd::invalid;
  std::string error_text;             // for RelayEnd::error, and errno text of a reset
  std::chrono::microseconds ended{0}; // since_start when the relay ended

  // Every byte one direction carried, concatenated.
  [[nodiscard]] std::vector<std::uint8_t> stream(bool client_to_server) const;
};

struct RelayOptions {
  // From construction: a relay that has not ended by then resets both legs (or stops waiting for
  // a client) and ends with RelayEnd::deadline / no_client.
  std::chrono::milliseconds deadline{std::chrono::seconds(30)};
};

// Listens on 127.0.0.1:<any free port> before the constructor returns; on its own thread accepts
// exactly ONE client (the listener is closed right after, so a second client is refused), then
// connects to 127.0.0.1:upstream_port and forwards bytes both ways, unchanged and in order, with
// TCP_NODELAY on both legs and no buffering beyond one read per direction (a full receiver
// stops the reads from its sender, as TCP would). A FIN is passed on as shutdown(SHUT_WR) once
// the bytes before it are forwarded; a reset (ECONNRESET/EPIPE from one leg) as a reset of the
// other leg (SO_LINGER {1, 0} then close). A refused upstream connect resets the client leg,
// which is what a client connecting directly would see. The relay ends when both directions are
// closed, on a reset, at the deadline, or on stop(); it never waits past the deadline.
// Throws tlsmatrix::Error (Errc::io) only when it cannot listen or start.
class Relay {
public:
  explicit Relay(std::uint16_t upstream_port, RelayOptions options = {});
  // As above; `on_upstream` is called once, from the relay's thread, with upstream_source_port as
  // soon as the connection to the server is started (before it is established), and never when
  // no client comes. A server serving many connections tells them apart by that port.
  Relay(std::uint16_t upstream_port, RelayOptions options,
        std::function<void(std::uint16_t)> on_upstream);
  ~Relay(); // stop() and wait()
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  [[nodiscard]] std::uint16_t port() const; // where clients connect
  // Ends the relay soon (from any thread): no client yet -> no_client; a connection -> both legs
  // are reset and the end is `stopped`. No effect once it has ended.
  void stop();
  // Blocks until the relay has ended (bounded by the deadline) and returns what it recorded.
  // Callable more than once; the reference lives as long as the relay.
  const Recording& wait();

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

} // namespace harness
