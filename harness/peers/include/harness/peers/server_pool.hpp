// One server process per distinct server configuration, shared by every case of a run that needs
// it (peer programs in their `--many` mode): started on first use, stopped at the run's end, and
// replaced when it dies or hangs. Each case reads only its own connection's lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harness/peers/peer.hpp"

namespace harness {

class PooledServer; // one process, owned by its own thread (server_pool.cpp)

// A case's share of a pooled server. Its connection is the one whose source port the relay
// reports (upstream()); finish() returns that connection's side of the case, classified by the
// one-connection rules, once the server printed "@<port> END".
class PooledServerRun final : public ServerRun {
public:
  // `log`: where finish() writes the lines it classified (the case's server.out).
  PooledServerRun(std::shared_ptr<PooledServer> server, ManyServerSpec spec,
                  std::filesystem::path log);
  ~PooledServerRun() override;
  PooledServerRun(const PooledServerRun&) = delete;
  PooledServerRun& operator=(const PooledServerRun&) = delete;

  [[nodiscard]] std::uint16_t port() const override;
  // Throws tlsmatrix::Error(Errc::peer) when the server died before the connection ended, or
  // when the connection gave no END within the deadline (the server is then retired: later
  // cases get a fresh one).
  [[nodiscard]] SideObservation finish(std::chrono::milliseconds deadline) override;
  [[nodiscard]] std::string command_line() const override;

  // The source port of the relay's connection to the server (from the relay's thread).
  void upstream(std::uint16_t source_port);
  // The pooled server's key log (every connection's secrets).
  [[nodiscard]] std::filesystem::path keylog() const;

private:
  void write_log(const std::string& text) const;

  std::shared_ptr<PooledServer> server_;
  ManyServerSpec spec_;
  std::filesystem::path log_;
  std::optional<std::uint16_t> source_; // guarded by the server's mutex
  std::chrono::steady_clock::time_point started_;
};

class ServerPool {
public:
  // Logs and key logs of the pooled servers go to `dir` (run_dir/servers).
  explicit ServerPool(std::filesystem::path dir);
  ~ServerPool(); // stops every server and waits for it: nothing lingers
  ServerPool(const ServerPool&) = delete;
  ServerPool& operator=(const ServerPool&) = delete;

  // The running server for spec.key, or a new one; returns once it is ready. Throws
  // tlsmatrix::Error(Errc::peer) when it cannot be started or does not become ready in time.
  [[nodiscard]] std::unique_ptr<PooledServerRun> acquire(const ManyServerSpec& spec,
                                                         std::chrono::milliseconds ready_deadline,
                                                         const std::filesystem::path& case_log);

private:
  std::filesystem::path dir_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<PooledServer>> servers_; // by key; live or retired
  std::vector<std::shared_ptr<PooledServer>> all_;               // every one started
  unsigned started_ = 0;
};

} // namespace harness
