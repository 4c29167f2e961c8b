// The built-in peer: our own libssl endpoints, run in-process (a server thread per case).
#include <future>
#include <thread>

#include <openssl/opensslv.h>

#include "harness/local_endpoint.hpp"
#include "harness/peer.hpp"

namespace harness {
namespace {

class LocalServerRun final : public ServerRun {
public:
  explicit LocalServerRun(const TlsConfig& config)
      : server_(std::make_unique<LocalServer>(config)),
        result_(std::async(std::launch::async, [this] { return server_->serve_one(); })) {}
  ~LocalServerRun() override {
    // serve_one() is bounded by the config's timeout; the future's destructor joins the thread.
  }
  std::uint16_t port() const override { return server_->port(); }
  SideObservation finish(std::chrono::milliseconds deadline) override {
    if (result_.wait_for(deadline) != std::future_status::ready) {
      SideObservation o;
      o.peer = "local";
      o.outcome = Outcome::timeout;
      o.phase = Phase::tcp;
      o.error_text = "no connection finished within the deadline";
      return o;
    }
    return result_.get();
  }

private:
  std::unique_ptr<LocalServer> server_;
  std::future<SideObservation> result_;
};

class LocalPeer final : public Peer {
public:
  LocalPeer() {
    info_.name = "local";
    info_.description = "tlsmatrix's own endpoints on libssl (tlsmatrix serve / connect)";
    info_.client = info_.server = true;
    info_.capabilities = {"tls1.2", "tls1.3", "client_cert", "sni", "hostname_check", "crl_check",
                          "keylog", "rsa_kx", "no_verify", "chain_order"};
    info_.version = OPENSSL_VERSION_TEXT;
  }
  const PeerInfo& info() const override { return info_; }
  std::unique_ptr<ServerRun> start_server(const TlsConfig& config, const CaseContext&) override {
    return std::make_unique<LocalServerRun>(config);
  }
  ClientRun run_client(const TlsConfig& config, std::uint16_t port, const CaseContext&) override {
    std::string cmd = "tlsmatrix connect 127.0.0.1:" + std::to_string(port) + " --tls " +
                      std::string(to_string(config.version));
    if (!config.cert.empty()) cmd += " --cert " + config.cert.string() + " --key " + config.key.string();
    if (!config.chain.empty()) cmd += " --chain " + config.chain.string();
    if (!config.trust.empty()) cmd += " --trust " + config.trust.string();
    cmd += " --server-name " + config.server_name;
    if (!config.verify) cmd += " --no-verify";
    if (!config.cipher_list.empty()) cmd += " --cipher " + config.cipher_list;
    return {run_local_client(config, "127.0.0.1", port), cmd};
  }

private:
  PeerInfo info_;
};

} // namespace

std::unique_ptr<Peer> make_local_peer() { return std::make_unique<LocalPeer>(); }

} // namespace harness
