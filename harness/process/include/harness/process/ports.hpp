// TCP ports on loopback: picking a free one for a peer, and asking the kernel who listens on one
// (readiness by port: the listener must be the child's own).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace harness {

// A free TCP port on 127.0.0.1 (bound with port 0, then released), for peers that need a number;
// never one of the last 64 it returned (parallel cases must not get the same port). Another
// process may take it meanwhile: wait_ready() with the port checks that the child got it.
[[nodiscard]] std::uint16_t pick_free_port();

// True when 127.0.0.1:port accepts a TCP connection (it connects, so it uses up an accept).
[[nodiscard]] bool port_accepts(std::uint16_t port);

// Whether a TCP SYN to 127.0.0.1:port would find a listener (sock_diag: nothing connects, so no
// accept is used up); nullopt when sock_diag is unavailable.
[[nodiscard]] std::optional<bool> loopback_listener(std::uint16_t port);

enum class PortHolder { none, group, other };

// Who listens on `port`: nobody, only processes of group `pgid` (a child and what it forked), or
// some other process as well (another run's server, say, on a port both picked). nullopt when the
// kernel cannot be asked (no sock_diag, /proc unreadable).
[[nodiscard]] std::optional<PortHolder> port_holder(std::uint16_t port, pid_t pgid);

} // namespace harness
