// Peers: the TLS stacks a case runs between, as the runner drives them. Our own endpoints
// ("local") and external programs described as data (peers/*.json: argv templates, ready marker,
// output patterns, capabilities); registry.hpp finds and loads them.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/model/observation.hpp"
#include "harness/model/tls_config.hpp"
#include "harness/process/process.hpp"

namespace harness {

struct PeerInfo {
  std::string name; // "local", "openssl", …
  std::string description;
  bool client = false;                // can act as a client
  bool server = false;                // can act as a server
  std::set<std::string> capabilities; // see known_capabilities()
  // What this peer as a client needs its server to have (curl: "http", a server that answers an
  // HTTP request with an HTTP response); a server without it makes the case not_applicable.
  std::set<std::string> needs_from_server;
  // As a server it echoes what it reads instead of serving the resource (botan tls_server, a
  // definition's server "answers": "echo"): its clients are told so (TlsConfig::server_echoes).
  bool echo_server = false;
  // As a client it only reports its verification of the server and carries on (botan tls_client):
  // why, in the stack's own words. A case that needs the client to refuse is not_applicable for
  // it — an advisory verdict is an observation, never a rejection (reconcile.hpp).
  std::optional<std::string> advisory_client;
  // What the stack means by an alert it sends, where narrower than the alert's name (reasons.hpp).
  AlertReasons alert_reasons;
  std::string version;                    // what the program says of itself
  std::optional<std::string> unavailable; // why it cannot run here (not installed, …)
  std::filesystem::path definition;       // peers/<name>.json, empty for built-in peers
};

// Where a case keeps its logs, and the loop that drives its processes.
struct CaseContext {
  std::filesystem::path dir;
  // Shared by every case of the run (files peers derive from the inputs, e.g. NSS databases);
  // empty: use `dir`.
  std::filesystem::path inputs;
  EventLoop* loop = nullptr;
  std::chrono::milliseconds deadline{10000}; // for the whole case
};

// A server started for one case.
class ServerRun {
public:
  virtual ~ServerRun() = default;
  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // After the client finished: the server's side of the case (waits at most `deadline`).
  [[nodiscard]] virtual SideObservation finish(std::chrono::milliseconds deadline) = 0;
  // The command that reproduces this server by hand ("" for in-process servers).
  [[nodiscard]] virtual std::string command_line() const { return {}; }
};

struct ClientRun {
  SideObservation observation;
  std::string command_line; // reproduces the client by hand
};

// A server process that serves many cases, one connection each (our peer programs' `--many`
// mode; run by the runner's server pool, server_pool.hpp).
struct ManyServerSpec {
  std::string peer;
  // Cases with equal keys may share one process: the peer and its resolved command, without the
  // port and with the key log being the pooled server's own file.
  std::string key;
  // The pooled server's command (argv, env) for a port and key log file.
  std::function<ProcessSpec(std::uint16_t port, const std::filesystem::path& keylog)> command;
  std::function<std::string(std::uint16_t port)> ready_marker; // on stdout
  std::string port_busy; // output that says the port was taken ("" = none)
  // One connection's lines (its "@<port> " prefix stripped) classified as the one-connection
  // server's output would be.
  std::function<SideObservation(const ProcessResult&)> classify;
  // A command a user can paste: the one-connection server on that port (no --many).
  std::function<std::string(std::uint16_t port)> reproduce;
};

class Peer {
public:
  virtual ~Peer() = default;
  [[nodiscard]] virtual const PeerInfo& info() const = 0;
  // Starts a server and returns once it is ready. Throws tlsmatrix::Error(Errc::peer) when it
  // cannot be started or never becomes ready (the runner records harness_error).
  [[nodiscard]] virtual std::unique_ptr<ServerRun> start_server(const TlsConfig& config,
                                                                const CaseContext& context) = 0;
  [[nodiscard]] virtual ClientRun run_client(const TlsConfig& config, std::uint16_t port,
                                             const CaseContext& context) = 0;
  // Whether this role builds per-run state before it runs (an NSS database per identity).
  [[nodiscard]] virtual bool has_prepare(Side /*role*/) const { return false; }
  // Builds that state for this config now (the runner does it for every case before the first
  // one runs, so that no case's time includes it); start_server/run_client reuse it. Throws
  // tlsmatrix::Error(Errc::peer) when a step fails — and so will the case that needs it.
  virtual void prepare(const TlsConfig& /*config*/, Side /*role*/, const CaseContext& /*context*/) {
  }
  // How to serve this case from a server shared with other cases; nullopt: this peer cannot
  // (then start_server runs one per case).
  [[nodiscard]] virtual std::optional<ManyServerSpec> many_server(const TlsConfig& /*config*/,
                                                                  const CaseContext& /*context*/) {
    return std::nullopt;
  }
};

} // namespace harness
