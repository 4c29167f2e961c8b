// The data-driven adapter for external TLS programs, running: starting servers and clients from
// the definition's commands (cli_command.hpp), waiting for readiness, classifying what they
// printed (cli_classifier.hpp). A new CLI peer is a file (peers/<name>.json), not code.
// Beyond argv templates a definition may ask for: a program per role; stdout line-buffered (for
// servers that are stopped, not left to exit); a `done` pattern that tells when a server that
// outlives its connection has decided it; per-peer translations of placeholder values (OpenSSL
// cipher strings into GnuTLS priorities); and `prepare` steps that build per-identity state (an
// NSS certificate database) once per run, shared by every case that needs the same one.
#include "cli_peer.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

#include "cli_classifier.hpp"
#include "cli_command.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/model/resource.hpp"
#include "harness/process/ports.hpp"
#include "harness/process/process.hpp"
#include "harness/process/shell.hpp"

namespace harness::cli_peer {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

// How long a client of an echo server may take to exit after the echo came back and its stdin
// was closed, before the harness stops it.
constexpr std::chrono::milliseconds echo_exit_grace{250};

class CliServerRun final : public ServerRun {
public:
  CliServerRun(const Definition& d, const TlsConfig& config, std::unique_ptr<Process> p,
               std::uint16_t port, std::string cmd)
      : def_(d), config_(config), process_(std::move(p)), port_(port), command_(std::move(cmd)) {}
  std::uint16_t port() const override { return port_; }
  std::string command_line() const override { return command_; }
  SideObservation finish(std::chrono::milliseconds deadline) override {
    ProcessResult r;
    if (def_.server.done) {
      // A server that serves connection after connection (gnutls-serv, selfserv): once its output
      // shows this connection's outcome, it has nothing more to say about the case.
      const std::regex& done = *def_.server.done;
      (void)process_->wait_output(
          [&](const std::string& out, const std::string& err) {
            return std::regex_search(out, done) || std::regex_search(err, done);
          },
          deadline);
      r = process_->stop();
    } else {
      // s_server -naccept 1 (and peers like it) exit after the one connection.
      r = process_->wait(deadline);
    }
    r.timed_out = false; // a server that outlives its one case is not a failure
    return classify(def_, def_.server, true, config_, r);
  }

private:
  const Definition& def_;
  TlsConfig config_;
  std::unique_ptr<Process> process_;
  std::uint16_t port_;
  std::string command_;
};

class CliPeer final : public Peer {
public:
  explicit CliPeer(Definition d) : def_(std::move(d)) {
    // Every program the definition runs must be here, or the peer is unavailable (with why).
    std::vector<std::string> needed{def_.program.string()};
    for (RoleDef* role : {&def_.server, &def_.client}) {
      if (!role->present)
        continue;
      if (!role->program.empty())
        needed.push_back(role->program);
      if (role->line_buffered)
        needed.push_back("stdbuf");
      for (const auto& step : role->prepare)
        needed.push_back(step.argv.front());
    }
    for (const auto& name : needed)
      if (!find_program(name)) {
        def_.info.unavailable = name + " is not installed (not found on PATH)";
        return;
      }
    def_.program = *find_program(def_.program.string());
    for (RoleDef* role : {&def_.server, &def_.client})
      if (role->present)
        role->resolved = role->program.empty() ? def_.program : *find_program(role->program);
    def_.info.version = read_version();
  }

  const PeerInfo& info() const override { return def_.info; }

  std::unique_ptr<ServerRun> start_server(const TlsConfig& config,
                                          const CaseContext& ctx) override {
    Vars vars = make_vars(config, 0, ctx);
    if (!def_.server.prepare.empty())
      vars.fixed["db"] = prepare(def_.server, "server", vars, ctx).string();
    std::string last_output;
    for (int attempt = 0; attempt < 3; ++attempt) {
      vars.port = pick_free_port();
      const Command cmd = build_command(def_.server, vars);
      ProcessSpec spec{cmd.argv,
                       cmd.env,
                       {},
                       ctx.dir / "server.out",
                       ctx.dir / "server.err",
                       {},
                       keeps_stdin_open(def_.server, config)};
      auto process = std::make_unique<Process>(*ctx.loop, spec);
      Readiness ready;
      if (!def_.server.ready_stdout.empty()) {
        ready.kind = Readiness::Kind::stdout_marker;
        ready.marker = vars.expand(def_.server.ready_stdout);
      } else if (!def_.server.ready_stderr.empty()) {
        ready.kind = Readiness::Kind::stderr_marker;
        ready.marker = vars.expand(def_.server.ready_stderr);
      } else {
        ready.kind = Readiness::Kind::port;
      }
      ready.port = vars.port; // after a marker too: the listener must be this server's
      ready.deadline = std::min(ctx.deadline, std::chrono::milliseconds(5000));
      if (process->wait_ready(ready))
        return std::make_unique<CliServerRun>(def_, config, std::move(process), vars.port,
                                              shell_join(cmd.argv));
      const bool taken = process->port_taken();
      const ProcessResult r = process->stop();
      last_output = r.out + r.err;
      // A port taken between pick_free_port() and bind() (by another case, or another run):
      // try another (s_server even exits 0).
      if (taken || (!def_.server.port_busy.empty() &&
                    last_output.find(def_.server.port_busy) != std::string::npos))
        continue;
      // A server that refused its own certificate, key or options said so: an observation.
      if (SideObservation o = classify(def_, def_.server, true, config, r);
          o.outcome == Outcome::refused) {
        o.peer = def_.info.name;
        throw SetupRefusal(Side::server, std::move(o));
      }
      throw Error(Errc::peer,
                  def_.info.name + " server did not become ready" +
                      (r.timed_out ? " within its deadline" : " (it exited)") + ": " +
                      (last_output.empty() ? "it printed nothing" : last_output.substr(0, 2000)) +
                      "\ncommand: " + shell_join(cmd.argv));
    }
    throw Error(Errc::peer,
                def_.info.name + " server: no free port after 3 attempts: " + last_output);
  }

  std::optional<ManyServerSpec> many_server(const TlsConfig& config,
                                            const CaseContext& ctx) override {
    if (def_.server.many.empty())
      return std::nullopt;
    // The command is resolved with stand-ins for the port and the key log, so that it is the
    // same for every case it can serve; the pool puts the real values in.
    static const std::string port_mark = "\x01port\x01", keylog_mark = "\x01keylog\x01";
    auto pooled = std::make_shared<TlsConfig>(config);
    if (!pooled->keylog.empty())
      pooled->keylog = keylog_mark;
    Vars vars = make_vars(*pooled, 0, ctx);
    if (!def_.server.prepare.empty())
      vars.fixed["db"] = prepare(def_.server, "server", vars, ctx).string();
    vars.fixed["port"] = port_mark;
    Command cmd = build_command(def_.server, vars);
    for (const auto& a : def_.server.many)
      cmd.argv.push_back(vars.expand(a));
    const std::string marker = vars.expand(def_.server.ready_stdout);
    ManyServerSpec spec;
    spec.peer = def_.info.name;
    spec.key = def_.info.name + "\n" + shell_join(cmd.argv);
    for (const auto& [k, v] : cmd.env)
      spec.key += "\n" + k + "=" + v;
    auto fill = [](std::string s, const std::string& mark, const std::string& value) {
      for (auto at = s.find(mark); at != std::string::npos; at = s.find(mark, at + value.size()))
        s.replace(at, mark.size(), value);
      return s;
    };
    spec.command = [cmd, fill](std::uint16_t port, const fs::path& keylog) {
      ProcessSpec p;
      for (const auto& a : cmd.argv)
        p.argv.push_back(
            fill(fill(a, port_mark, std::to_string(port)), keylog_mark, keylog.string()));
      for (const auto& [k, v] : cmd.env)
        p.env.emplace_back(
            k, fill(fill(v, port_mark, std::to_string(port)), keylog_mark, keylog.string()));
      return p;
    };
    spec.ready_marker = [marker, fill](std::uint16_t port) {
      return fill(marker, port_mark, std::to_string(port));
    };
    spec.port_busy = def_.server.port_busy;
    auto own = std::make_shared<TlsConfig>(config);
    spec.classify = [this, own](const ProcessResult& r) {
      return classify(def_, def_.server, true, *own, r);
    };
    Vars plain = make_vars(*own, 0, ctx);
    if (vars.fixed.contains("db"))
      plain.fixed["db"] = vars.fixed.at("db");
    spec.reproduce = [this, own, plain](std::uint16_t port) {
      Vars v = plain;
      v.config = own.get();
      v.port = port;
      return shell_join(build_command(def_.server, v).argv);
    };
    return spec;
  }

  ClientRun run_client(const TlsConfig& config, std::uint16_t port,
                       const CaseContext& ctx) override {
    Vars vars = make_vars(config, port, ctx);
    if (!def_.client.prepare.empty())
      vars.fixed["db"] = prepare(def_.client, "client", vars, ctx).string();
    const Command cmd = build_command(def_.client, vars);
    ProcessSpec spec{cmd.argv,
                     cmd.env,
                     {},
                     ctx.dir / "client.out",
                     ctx.dir / "client.err",
                     def_.client.send_request ? std::string(resource_request) : std::string(),
                     keeps_stdin_open(def_.client, config)};
    Process process(*ctx.loop, spec);
    const ProcessResult r = config.server_echoes
                                ? wait_for_echo(process, spec.keep_stdin_open, ctx.deadline)
                                : process.wait(ctx.deadline);
    return {classify(def_, def_.client, false, config, r), shell_join(cmd.argv)};
  }

  bool has_prepare(Side role) const override {
    return !(role == Side::server ? def_.server : def_.client).prepare.empty();
  }

  void prepare(const TlsConfig& config, Side role, const CaseContext& ctx) override {
    if (!has_prepare(role))
      return;
    const bool server = role == Side::server;
    (void)prepare(server ? def_.server : def_.client, server ? "server" : "client",
                  make_vars(config, 0, ctx), ctx);
  }

private:
  // A client of an echo server may never end by itself (s_client -ign_eof, tstclnt wait for the
  // server to close, and the server waits for them): once the echo is on its stdout, stdin is
  // closed (botan tls_client and our programs then say close_notify and exit), it gets a short
  // grace, and is then stopped. That stop is the harness's doing, not a timeout.
  static ProcessResult wait_for_echo(Process& process, bool stdin_open,
                                     std::chrono::milliseconds deadline) {
    using Clock = std::chrono::steady_clock;
    const auto until = Clock::now() + deadline;
    const bool echoed = process.wait_output(
        [](const std::string& out, const std::string&) {
          return out.find(echo_marker) != std::string::npos;
        },
        deadline);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (!echoed)
      return process.wait(std::max(left, std::chrono::milliseconds(0)));
    if (stdin_open && process.running()) {
      try {
        process.write_stdin({}, true);
      } catch (const Error&) {
        // the client had closed its stdin itself
      }
    }
    const auto grace = std::clamp(left, std::chrono::milliseconds(0), echo_exit_grace);
    // Returns at the client's exit, or after the grace.
    (void)process.wait_output([](const std::string&, const std::string&) { return false; }, grace);
    ProcessResult r = process.running() ? process.stop() : process.wait(grace);
    r.timed_out = false;
    return r;
  }

  std::string read_version() {
    std::vector<std::string> argv = def_.version_command;
    if (argv.empty() && !def_.version_argv.empty()) {
      argv.push_back(def_.program.string());
      argv.insert(argv.end(), def_.version_argv.begin(), def_.version_argv.end());
    }
    if (argv.empty())
      return {};
    try {
      EventLoop loop;
      ProcessSpec spec;
      spec.argv = argv;
      Process p(loop, spec);
      const auto r = p.wait(std::chrono::seconds(5));
      std::string v = r.out.empty() ? r.err : r.out;
      if (auto nl = v.find('\n'); nl != std::string::npos)
        v.resize(nl);
      return v;
    } catch (const Error& e) {
      return std::string("unknown (") + e.what() + ")";
    }
  }

  fs::path shared_dir(const CaseContext& ctx) const {
    return ctx.inputs.empty() ? ctx.dir : ctx.inputs;
  }

  // A file derived from the case's inputs, written once per run under the shared inputs dir.
  fs::path derived_file(const fs::path& path, const std::function<std::string()>& make) {
    std::lock_guard lock(files_mutex_);
    if (files_made_.insert(path).second || !fs::exists(path)) {
      fs::create_directories(path.parent_path());
      common::write_file_atomic(path, make());
    }
    return path;
  }

  Vars make_vars(const TlsConfig& config, std::uint16_t port, const CaseContext& ctx) {
    Vars v;
    v.def = &def_;
    v.config = &config;
    v.port = port;
    const fs::path dir = shared_dir(ctx);
    v.derived = [this, dir, &config](const std::string& key) -> std::string {
      if (key == "request_file")
        return derived_file(dir / "request.http", [] { return std::string(resource_request); })
            .string();
      // cert_chain: the leaf followed by the intermediates it sends (one file, as GnuTLS and
      // `openssl pkcs12 -in` take a chain).
      if (config.cert.empty())
        throw Error(Errc::invalid_input, def_.info.name + ": {cert_chain} without a certificate");
      const std::string name = "cert_chain-" + config.cert.stem().string() + "-" +
                               hex_digest(config.cert.string() + "\n" + config.chain.string()) +
                               ".pem";
      return derived_file(dir / name,
                          [&config] {
                            std::string leaf = common::read_file(config.cert);
                            if (!leaf.empty() && leaf.back() != '\n')
                              leaf += '\n';
                            std::string rest = config.chain.empty()
                                                   ? std::string()
                                                   : common::read_file(config.chain);
                            if (rest.starts_with(leaf))
                              rest.erase(0, leaf.size()); // a chain file that starts with the leaf
                            return leaf + rest;
                          })
          .string();
    };
    return v;
  }

  // Runs the role's prepare steps into a directory named after what they do, so every case that
  // needs the same state (the same identity, trust and CRLs) shares one, built once per run.
  fs::path prepare(const RoleDef& role, const std::string& role_name, Vars vars,
                   const CaseContext& ctx) {
    struct Planned {
      std::vector<std::string> argv; // {db}, {each}, {index} still unexpanded
      std::string each;              // the bundle the step runs over ("" = once)
      fs::path bundle;
    };
    vars.fixed["db"] = "{db}";
    vars.fixed["each"] = "{each}";
    vars.fixed["index"] = "{index}";
    std::vector<Planned> plan;
    std::string recipe = def_.info.name + " " + role_name + "\n";
    for (const auto& step : role.prepare) {
      if (!step.when.empty() && !condition_holds(step.when, *vars.config))
        continue;
      Planned p;
      for (const auto& a : step.argv)
        p.argv.push_back(vars.expand(a));
      p.each = step.each;
      if (!step.each.empty())
        p.bundle = vars.value(step.each);
      recipe +=
          shell_join(p.argv) + (p.each.empty() ? "" : " # each of " + p.bundle.string()) + "\n";
      plan.push_back(std::move(p));
    }
    const fs::path dir =
        shared_dir(ctx) / (def_.info.name + "-" + role_name + "-" + hex_digest(recipe));

    std::shared_ptr<Prepared> entry;
    {
      std::lock_guard lock(files_mutex_);
      auto& slot = prepared_[dir];
      if (!slot)
        slot = std::make_shared<Prepared>();
      entry = slot;
    }
    const Side side = role_name == "server" ? Side::server : Side::client;
    // A step that refused the side's own identity (pk12util cannot import an Ed25519 key, the
    // key does not match the certificate) is the stack's refusal, not a fault of ours: the case
    // records it, and its <side>.out/.err hold the step's words (a case, not the run's pre-pass).
    auto refuse = [&](const Prepared& p) {
      if (ctx.dir != ctx.inputs && !ctx.inputs.empty()) {
        common::write_file_atomic(ctx.dir / (role_name + ".out"), p.refused_out);
        common::write_file_atomic(ctx.dir / (role_name + ".err"), p.refused_err);
      }
      throw SetupRefusal(side, *p.refusal);
    };
    std::lock_guard lock(entry->mutex);
    if (entry->done) {
      if (entry->refusal)
        refuse(*entry);
      if (!entry->error.empty())
        throw Error(Errc::peer, entry->error);
      return dir;
    }
    entry->done = true;
    std::string log;
    auto fail = [&](const std::string& why) {
      entry->error =
          def_.info.name + " " + role_name + ": preparing " + dir.string() + " failed: " + why;
      common::write_file_atomic(dir / "prepare.log", log + why + "\n");
      throw Error(Errc::peer, entry->error);
    };
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all); // it may hold a private key (an NSS key database)
    vars.fixed["db"] = dir.string();
    for (const auto& p : plan) {
      std::vector<std::pair<std::string, std::string>> runs; // {each}, {index}
      if (p.each.empty()) {
        runs.emplace_back("", "");
      } else {
        const std::string label = p.each == "crls" ? "X509 CRL" : "CERTIFICATE";
        const auto blocks = pem_blocks(common::read_file(p.bundle), label);
        if (blocks.empty())
          fail(p.bundle.string() + " holds no " + label);
        for (std::size_t i = 0; i < blocks.size(); ++i) {
          const fs::path file = dir / (p.each + "-" + std::to_string(i) + ".pem");
          common::write_file_atomic(file, blocks[i]);
          runs.emplace_back(file.string(), std::to_string(i));
        }
      }
      for (const auto& [each, index] : runs) {
        vars.fixed["each"] = each;
        vars.fixed["index"] = index;
        std::vector<std::string> argv;
        for (const auto& a : p.argv)
          argv.push_back(vars.expand(a));
        log += "$ " + shell_join(argv) + "\n";
        ProcessSpec spec;
        spec.argv = argv;
        Process process(*ctx.loop, spec);
        const ProcessResult r =
            process.wait(std::max(ctx.deadline, std::chrono::milliseconds(10000)));
        log += r.out + r.err;
        if (r.timed_out)
          fail(shell_join(argv) + " did not finish");
        if (r.exit_code != 0) {
          if (SideObservation o = classify(def_, role, side == Side::server, *vars.config, r);
              o.outcome == Outcome::refused) {
            o.peer = def_.info.name;
            o.error_text +=
                (o.error_text.ends_with("\n") ? "" : "\n") + std::string("in: ") + shell_join(argv);
            entry->refusal = std::move(o);
            entry->refused_out = r.out;
            entry->refused_err = "$ " + shell_join(argv) + "\n" + r.err;
            entry->error = def_.info.name + " " + role_name + ": " + entry->refusal->reason;
            common::write_file_atomic(dir / "prepare.log", log);
            refuse(*entry);
          }
          fail(shell_join(argv) + " exited " +
               (r.exit_code ? std::to_string(*r.exit_code) : std::string("by a signal")) + ": " +
               (r.out + r.err).substr(0, 1000));
        }
      }
    }
    common::write_file_atomic(dir / "prepare.log", log);
    return dir;
  }

  struct Prepared {
    std::mutex mutex;
    bool done = false;
    std::string error;
    std::optional<SideObservation> refusal; // a step refused the side's own identity
    std::string refused_out, refused_err;   // that step's words
  };

  Definition def_;
  std::mutex files_mutex_;
  std::set<fs::path> files_made_;
  std::map<fs::path, std::shared_ptr<Prepared>> prepared_;
};

} // namespace

std::unique_ptr<Peer> make_cli_peer(Definition definition) {
  return std::make_unique<CliPeer>(std::move(definition));
}

} // namespace harness::cli_peer
