// `tlsmatrix serve` and `tlsmatrix connect`: our own OpenSSL TLS server and client, for pointing
// other software at (or at other software), with what each side observed printed plainly.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <signal.h>
#include <unistd.h>

#include "commands.hpp"
#include "common/error.hpp"
#include "harness/endpoint/local_endpoint.hpp"
#include "harness/model/observation.hpp"
#include "harness/model/tls_config.hpp"
#include "harness/report/ladder.hpp"
#include "harness/results/results.hpp"
#include "harness/wire/key_log.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/relay.hpp"
#include "harness/wire/trace.hpp"

namespace cli {
namespace {

namespace fs = std::filesystem;
using harness::SideObservation;
using harness::TlsConfig;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the signal handler stores into it");

extern "C" void on_stop_signal(int) {
  stop_requested.store(true);
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = &on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a blocking poll returns and the loop sees the flag
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

struct EndpointArgs {
  std::string cert, key, chain, trust, crl, keylog, cipher;
  std::string pki, identity, trust_entity;
  std::string tls = "1.3";
  unsigned timeout_ms = 5000;
  bool permissive = false;
};

struct ServeArgs {
  EndpointArgs common;
  std::string client_auth = "none";
  std::uint16_t port = 0;
  bool once = false;
};

struct ConnectArgs {
  EndpointArgs common;
  std::string target;
  std::string server_name;
  bool no_server_name = false;
  bool no_verify = false;
  bool trace = false;
};

TlsConfig make_config(const EndpointArgs& a) {
  TlsConfig c;
  c.version = a.tls == "1.2" ? harness::TlsVersion::tls12 : harness::TlsVersion::tls13;
  const fs::path dir = a.pki;
  if (!a.identity.empty() || !a.trust_entity.empty()) {
    if (a.pki.empty())
      throw Error(Errc::invalid_input, "--identity and --trust-entity need --pki DIR");
  }
  if (!a.identity.empty()) {
    c.cert = dir / (a.identity + ".crt.pem");
    c.key = dir / (a.identity + ".key.pem");
    // NAME.chain.pem is leaf + intermediates; the endpoint skips the leaf.
    const fs::path chain = dir / (a.identity + ".chain.pem");
    std::error_code ec;
    if (fs::exists(chain, ec))
      c.chain = chain;
  }
  if (!a.cert.empty())
    c.cert = a.cert;
  if (!a.key.empty())
    c.key = a.key;
  if (!a.chain.empty())
    c.chain = a.chain;
  if (c.cert.empty() && !c.key.empty())
    throw Error(Errc::invalid_input, "--key given without --cert");
  if (!a.trust.empty())
    c.trust = a.trust;
  else if (!a.trust_entity.empty())
    c.trust = dir / (a.trust_entity + ".crt.pem");
  else if (!a.pki.empty())
    c.trust = dir / "trust-anchors.pem";
  if (!a.crl.empty()) {
    c.crls = a.crl;
    c.crl_check = true;
  }
  if (c.version == harness::TlsVersion::tls12)
    c.cipher_list = a.cipher;
  else
    c.ciphersuites = a.cipher;
  c.keylog = a.keylog;
  c.permissive = a.permissive;
  c.timeout = std::chrono::milliseconds(a.timeout_ms);
  return c;
}

std::string describe_alerts(const SideObservation& o) {
  std::string out;
  for (const auto& a : o.alerts) {
    if (!out.empty())
      out += ", ";
    out += std::string(a.sent ? "sent " : "received ") + (a.fatal ? "fatal " : "warning ") +
           a.name() + "(" + std::to_string(a.description) + ")";
  }
  return out.empty() ? "none" : out;
}

std::string milliseconds(std::chrono::microseconds us) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(1);
  s << static_cast<double>(us.count()) / 1000.0 << " ms";
  return s.str();
}

std::string one_line(std::string text) {
  for (std::size_t pos = 0; (pos = text.find('\n', pos)) != std::string::npos;)
    text.replace(pos, 1, " | ");
  return text;
}

// One line per connection for `serve`.
std::string summary_line(const SideObservation& o) {
  std::string line = std::string(harness::to_string(o.outcome)) +
                     " phase=" + std::string(harness::to_string(o.phase));
  if (!o.negotiated_version.empty())
    line += " " + o.negotiated_version + " " + o.cipher;
  if (!o.peer_identity.empty())
    line += " client=\"" + o.peer_identity + "\"";
  if (!o.reason.empty())
    line += " reason=" + o.reason;
  if (o.verify_error)
    line += " verify_error=" + std::to_string(*o.verify_error);
  line += " alerts=[" + describe_alerts(o) + "] elapsed=" + milliseconds(o.elapsed);
  if (!o.error_text.empty())
    line += " error=\"" + one_line(o.error_text) + "\"";
  return line;
}

std::string body_of(const std::string& response) {
  const auto end = response.find("\r\n\r\n");
  return end == std::string::npos ? response : response.substr(end + 4);
}

int serve(const ServeArgs& a) {
  TlsConfig config = make_config(a.common);
  config.client_auth = a.client_auth == "require"   ? harness::ClientAuth::require
                       : a.client_auth == "request" ? harness::ClientAuth::request
                                                    : harness::ClientAuth::none;
  harness::LocalServer server(config, a.port);
  install_stop_handlers();
  std::cout << "READY " << server.port() << std::endl;
  int result = 130; // --once and stopped before any connection
  server.serve_forever(stop_requested, [&](const SideObservation& o) {
    std::cout << summary_line(o) << std::endl;
    if (a.once) {
      result = o.outcome == harness::Outcome::completed ? 0 : 1;
      stop_requested.store(true);
    }
  });
  return a.once ? result : 0;
}

std::pair<std::string, std::uint16_t> parse_target(const std::string& target) {
  const auto bad = [&] {
    return Error(Errc::invalid_input,
                 "expected HOST:PORT (e.g. 127.0.0.1:4433, localhost:4433, [::1]:4433), got \"" +
                     target + "\"");
  };
  const auto colon = target.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == target.size())
    throw bad();
  std::string host = target.substr(0, colon);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3)
      throw bad();
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = target.substr(colon + 1);
  if (port_text.find_first_not_of("0123456789") != std::string::npos || port_text.size() > 5)
    throw bad();
  const unsigned long port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    throw bad();
  return {host, static_cast<std::uint16_t>(port)};
}

// `connect --trace`: the connection goes through a recording relay on loopback, and afterwards
// the recording is decoded with our client's key log and drawn as a ladder.
class TracedConnection {
public:
  TracedConnection(const std::string& host, std::uint16_t port, const TlsConfig& config)
      : relay_(check_loopback(host, port), harness::RelayOptions{std::chrono::milliseconds(
                                               config.timeout + std::chrono::seconds(2))}) {}

  SideObservation run(TlsConfig config, std::string* response) {
    if (config.keylog.empty()) {
      temp_keylog_ = fs::temp_directory_path() /
                     ("tlsmatrix-connect-" + std::to_string(::getpid()) + ".keylog");
      std::error_code ec;
      fs::remove(temp_keylog_, ec);
      config.keylog = temp_keylog_;
    }
    keylog_ = config.keylog;
    return harness::run_local_client(config, "127.0.0.1", relay_.port(), response);
  }

  ~TracedConnection() {
    std::error_code ec;
    if (!temp_keylog_.empty())
      fs::remove(temp_keylog_, ec);
  }
  TracedConnection(const TracedConnection&) = delete;
  TracedConnection& operator=(const TracedConnection&) = delete;

  // Waits for the relay (our client is done, so at most a moment for the server's close), then
  // decodes and renders.
  std::string ladder(const SideObservation& client, const std::string& target) {
    const harness::Recording& rec = finish();
    std::string keys;
    if (std::ifstream in(keylog_); in)
      keys.assign(std::istreambuf_iterator<char>(in), {});
    std::vector<harness::wire::Chunk> chunks;
    for (const auto& c : rec.chunks)
      chunks.push_back({c.client_to_server ? harness::wire::Direction::client_to_server
                                           : harness::wire::Direction::server_to_client,
                        c.since_start, c.bytes});
    const auto trace = harness::wire::decode_trace(chunks, harness::wire::parse_key_log(keys));
    nlohmann::ordered_json c;
    c["id"] = "connect " + target;
    c["client"] = "local";
    c["server"] = target;
    c["trace"] = harness::trace_json(trace.events);
    if (rec.end != harness::RelayEnd::closed && rec.end != harness::RelayEnd::reset)
      c["trace_note"] = "relay: " + std::string(harness::to_string(rec.end)) +
                        (rec.error_text.empty() ? "" : ": " + rec.error_text);
    c["observation"]["client"] = harness::observation_json(client);
    c["observation"]["client"]["peer"] = "local";
    return harness::render_ladder(c);
  }

private:
  static std::uint16_t check_loopback(const std::string& host, std::uint16_t port) {
    if (host != "127.0.0.1" && host != "localhost")
      throw Error(Errc::invalid_input,
                  "--trace records through a relay on 127.0.0.1: the target must be 127.0.0.1 or "
                  "localhost, got \"" +
                      host + "\"");
    return port;
  }

  const harness::Recording& finish() {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::thread watchdog([&] {
      std::unique_lock lock(m);
      if (!cv.wait_for(lock, std::chrono::seconds(1), [&] { return done; }))
        relay_.stop();
    });
    const harness::Recording& rec = relay_.wait();
    {
      std::lock_guard lock(m);
      done = true;
    }
    cv.notify_one();
    watchdog.join();
    return rec;
  }

  harness::Relay relay_;
  fs::path keylog_, temp_keylog_;
};

int connect(const ConnectArgs& a) {
  const auto [host, port] = parse_target(a.target);
  TlsConfig config = make_config(a.common);
  config.verify = !a.no_verify;
  config.server_name = a.no_server_name ? "" : a.server_name.empty() ? host : a.server_name;
  std::string response;
  std::optional<TracedConnection> traced;
  if (a.trace)
    traced.emplace(host, port, config);
  const auto o = traced ? traced->run(config, &response)
                        : harness::run_local_client(config, host, port, &response);
  const auto row = [](const char* label, const std::string& value) {
    std::cout << label << std::string(10 - std::string(label).size(), ' ')
              << (value.empty() ? "-" : value) << "\n";
  };
  row("outcome", std::string(harness::to_string(o.outcome)));
  row("phase", std::string(harness::to_string(o.phase)));
  row("version", o.negotiated_version);
  row("cipher", o.cipher);
  row("alerts", describe_alerts(o));
  row("reason", o.reason);
  row("verify", o.verify_error ? std::to_string(*o.verify_error) : std::string());
  row("elapsed", milliseconds(o.elapsed));
  if (!o.error_text.empty()) {
    std::cout << "error:\n";
    std::istringstream lines(o.error_text);
    for (std::string l; std::getline(lines, l);)
      std::cout << "  " << l << "\n";
  }
  if (!response.empty())
    std::cout << "response:\n" << body_of(response);
  if (!response.empty() && response.back() != '\n')
    std::cout << "\n";
  if (traced)
    std::cout << "\n" << traced->ladder(o, a.target);
  std::cout.flush();
  return o.outcome == harness::Outcome::completed ? 0 : 1;
}

void add_common_options(CLI::App& cmd, EndpointArgs& a, const char* identity_role) {
  cmd.add_option("--cert", a.cert,
                 std::string("Our certificate (PEM leaf) as the ") + identity_role);
  cmd.add_option("--key", a.key, "Its private key (PEM); must match --cert");
  cmd.add_option("--chain", a.chain,
                 "Intermediates to send after the leaf (PEM; a leaf+intermediates file is fine)");
  cmd.add_option("--trust", a.trust, "Trust anchors (PEM bundle); nothing else is trusted");
  cmd.add_option("--pki", a.pki,
                 "A PKI directory from `tlsmatrix pki generate`: enables --identity and "
                 "--trust-entity, and trusts its trust-anchors.pem unless --trust is given");
  cmd.add_option("--identity", a.identity,
                 "Use NAME.crt.pem, NAME.key.pem and NAME.chain.pem from --pki");
  cmd.add_option("--trust-entity", a.trust_entity,
                 "Trust only NAME.crt.pem from --pki (e.g. root)");
  cmd.add_option("--crl", a.crl, "Check the peer's certificate against the CRLs in this PEM file");
  cmd.add_option("--tls", a.tls, "TLS version (minimum = maximum)")
      ->check(CLI::IsMember({"1.2", "1.3"}))
      ->capture_default_str();
  cmd.add_option("--cipher", a.cipher,
                 "TLS 1.2: OpenSSL cipher list (e.g. kRSA); TLS 1.3: ciphersuites (e.g. "
                 "TLS_AES_128_GCM_SHA256)");
  cmd.add_option("--keylog", a.keylog, "Append NSS key log lines (for Wireshark) to this file");
  cmd.add_flag("--permissive", a.permissive,
               "Present our certificate at OpenSSL security level 0, as `run` does for the side "
               "that is not under test (a SHA-1, MD5 or 1024-bit certificate is then sent, not "
               "refused)");
  cmd.add_option("--timeout", a.timeout_ms, "Deadline per connection, in milliseconds")
      ->capture_default_str();
}

} // namespace

void add_endpoint_commands(CLI::App& app, std::function<int()>& run) {
  auto sa = std::make_shared<ServeArgs>();
  auto* s = app.add_subcommand("serve", "Run our own TLS server (OpenSSL) on 127.0.0.1");
  add_common_options(*s, sa->common, "server");
  s->add_option("--client-auth", sa->client_auth,
                "none: no CertificateRequest; request: ask, accept none, reject a bad one; "
                "require: reject none")
      ->check(CLI::IsMember({"none", "request", "require"}))
      ->capture_default_str();
  s->add_option("--port", sa->port, "Port on 127.0.0.1 (0: the kernel picks one; see READY)")
      ->capture_default_str();
  s->add_flag("--once", sa->once,
              "Serve one connection, then exit: 0 if it completed, 1 otherwise");
  s->footer(
      "Prints `READY <port>` once listening (only on 127.0.0.1), then one line per connection: the "
      "outcome "
      "(completed, rejected, error, timeout), the phase it ended in, version and cipher, the "
      "client's "
      "certificate subject (or anonymous), the canonical reason, every alert sent and received, "
      "and "
      "OpenSSL's error text. A client that sends an HTTP-style request after the handshake gets\n"
      "  HTTP/1.0 200 OK ... tlsmatrix-ok client=<subject or anonymous>\n"
      "then close_notify. Runs until SIGINT/SIGTERM (exit 0).\n\n"
      "Example:\n"
      "  tlsmatrix pki generate --out pki\n"
      "  tlsmatrix serve --pki pki --identity server --client-auth require --tls 1.3\n"
      "  curl --cacert pki/trust-anchors.pem --cert pki/client.chain.pem --key pki/client.key.pem "
      "https://localhost:PORT/");
  s->callback([sa, &run] { run = [sa] { return serve(*sa); }; });

  auto ca = std::make_shared<ConnectArgs>();
  auto* c = app.add_subcommand(
      "connect", "Connect with our own TLS client (OpenSSL) and fetch the test resource");
  c->add_option("target", ca->target, "HOST:PORT (localhost means 127.0.0.1; [::1]:PORT for IPv6)")
      ->required();
  add_common_options(*c, ca->common, "client");
  auto* name =
      c->add_option("--server-name", ca->server_name, "SNI and the name to verify (default: HOST)");
  c->add_flag("--no-server-name", ca->no_server_name,
              "Send no SNI and check no name: the chain alone is verified")
      ->excludes(name);
  c->add_flag("--no-verify", ca->no_verify, "Accept any server certificate (the control case)");
  c->add_flag("--trace", ca->trace,
              "Connect through a recording relay on loopback and print the handshake as a ladder "
              "(decrypted with our key log; the target must be on 127.0.0.1)");
  c->footer(
      "Handshakes, sends `GET /tlsmatrix HTTP/1.0` after the handshake and reads the response to "
      "its end "
      "(in TLS 1.3 a server's refusal of the client certificate only shows there). Prints the "
      "outcome, "
      "the phase it ended in, version, cipher, every alert, the canonical reason (expired, "
      "unknown_ca, "
      "hostname_mismatch, no_client_cert, …), OpenSSL's error text and the response body. Without "
      "--trust/--pki nothing is trusted.\n\n"
      "Exit: 0 completed (the response holds `tlsmatrix-ok client=`), 1 refused or failed, 2 "
      "usage, "
      "3 unreadable file.\n\n"
      "Example:\n"
      "  tlsmatrix connect localhost:4433 --pki pki --identity client --tls 1.2");
  c->callback([ca, &run] { run = [ca] { return connect(*ca); }; });
}

} // namespace cli
