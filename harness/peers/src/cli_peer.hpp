// The running CLI peer: a definition (cli_definition.hpp) as a harness::Peer that starts its
// servers and clients, prepares their per-run state and serves many cases from one server.
// Private to the peers module; the registry (registry.hpp) makes them.
#pragma once

#include <memory>

#include "cli_definition.hpp"
#include "harness/peers/peer.hpp"

namespace harness::cli_peer {

[[nodiscard]] std::unique_ptr<Peer> make_cli_peer(Definition definition);

} // namespace harness::cli_peer
