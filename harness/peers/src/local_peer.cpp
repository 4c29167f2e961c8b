// The built-in peer: our own libssl endpoints, run in-process (a server thread per case).
#include <future>
#include <thread>

#include <openssl/opensslv.h>

#include "harness/endpoint/local_endpoint.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "harness/process/shell.hpp"

namespace harness {
namespace {

// The `tlsmatrix` command lines that reproduce our endpoints by hand.
std::string common_flags(const TlsConfig& c) {
  std::string cmd = " --tls " + std::string(to_string(c.version));
  if (!c.cert.empty())
    cmd += " --cert " + shell_join({c.cert.string()}) + " --key " + shell_join({c.key.string()});
  if (!c.chain.empty())
    cmd += " --chain " + shell_join({c.chain.string()});
  if (!c.trust.empty())
    cmd += " --trust " + shell_join({c.trust.string()});
  if (!c.cipher_list.empty())
    cmd += " --cipher " + shell_join({c.cipher_list});
  if (c.permissive)
    cmd += " --permissive";
  return cmd;
}

class LocalServerRun final : public ServerRun {
public:
  explicit LocalServerRun(const TlsConfig& config)
      : server_(std::make_unique<LocalServer>(config)),
        result_(std::async(std::launch::async, [this] { return server_->serve_one(); })) {
    command_ = "tlsmatrix serve --once --port " + std::to_string(server_->port()) +
               common_flags(config) + " --client-auth " +
               std::string(to_string(config.client_auth));
    if (config.crl_check)
      command_ += " --crl " + shell_join({config.trust.string()});
  }
  std::string command_line() const override { return command_; }
  ~LocalServerRun() override {
    // Unfinished (the client refused before it connected): stop waiting for the connection, so
    // the future's destructor, which joins the thread, does not wait out the case's timeout.
    server_->stop_waiting();
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
  std::string command_;
};

class LocalPeer final : public Peer {
public:
  LocalPeer() {
    info_.name = "local";
    info_.description = "tlsmatrix's own endpoints on libssl (tlsmatrix serve / connect)";
    info_.client = info_.server = true;
    info_.capabilities = {"tls1.2",         "tls1.3",        "client_cert", "sni",
                          "hostname_check", "crl_check",     "keylog",      "rsa_kx",
                          "no_verify",      "chain_order",   "http",        "ipv6_name",
                          "ed25519",        "no_server_name"};
    // libssl sends unsupported_certificate for a certificate whose extended key usage forbids
    // the purpose (X509_V_ERR_INVALID_PURPOSE), as the OpenSSL-based definitions also say.
    info_.alert_reasons = {{"unsupported_certificate", "bad_purpose"}};
    info_.version = OPENSSL_VERSION_TEXT;
  }
  const PeerInfo& info() const override { return info_; }
  std::unique_ptr<ServerRun> start_server(const TlsConfig& config, const CaseContext&) override {
    return std::make_unique<LocalServerRun>(config);
  }
  ClientRun run_client(const TlsConfig& config, std::uint16_t port, const CaseContext&) override {
    std::string cmd =
        "tlsmatrix connect 127.0.0.1:" + std::to_string(port) + common_flags(config) +
        (config.server_name.empty() ? std::string(" --no-server-name")
                                    : " --server-name " + shell_join({config.server_name}));
    if (!config.verify)
      cmd += " --no-verify";
    if (config.crl_check)
      cmd += " --crl " + shell_join({config.trust.string()});
    return {run_local_client(config, "127.0.0.1", port), cmd};
  }

private:
  PeerInfo info_;
};

} // namespace

std::unique_ptr<Peer> make_local_peer() {
  return std::make_unique<LocalPeer>();
}

} // namespace harness
