// The data-driven adapter for external TLS programs: argv templates, readiness, and output
// classification all come from peers/<name>.json, so a new CLI peer is a file, not code.
#include <algorithm>
#include <map>
#include <regex>
#include <sstream>

#include "harness/local_endpoint.hpp"
#include "harness/peer.hpp"
#include "harness/reasons.hpp"
#include "pki/error.hpp"
#include "pki/files.hpp"
#include "pki/json_node.hpp"

namespace harness {
namespace {

using pki::JsonNode;
using tlsmatrix::Errc;
using tlsmatrix::Error;

struct Option {
  std::string when;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

struct RoleDef {
  bool present = false;
  std::vector<std::string> argv;
  std::vector<Option> options;
  std::map<std::string, std::vector<std::string>> tls; // "1.2" -> flags
  std::string ready_stdout, ready_stderr;
  std::string port_busy;
  std::optional<std::regex> completed;
  std::map<std::string, std::regex> handshake_done; // by TLS version ("" = any)
  bool send_request = false;
  bool keep_stdin_open = false;
};

struct Rule {
  std::regex match;
  std::string outcome; // "", "rejected", "error"
  std::string reason;
  std::string phase;
  std::string role; // "", "client", "server"
  std::string when; // a condition on the endpoint's config, as in options
  int verify_error = 0, alert_received = 0, alert_received_name = 0, alert_sent_name = 0, identity = 0;
};

struct Definition {
  PeerInfo info;
  std::filesystem::path program;
  std::vector<std::string> version_argv;
  RoleDef server, client;
  std::vector<Rule> rules;
};

std::regex compile(const JsonNode& n) {
  try {
    return std::regex(n.string(), std::regex::ECMAScript | std::regex::multiline);
  } catch (const std::regex_error& e) {
    n.fail(std::string("not a valid regular expression: ") + e.what());
  }
}

int alert_by_name(const std::string& name) {
  for (int d = 0; d < 256; ++d)
    if (alert_name(d) == name) return d;
  return -1;
}

RoleDef parse_role(const JsonNode& n) {
  n.only_keys({"argv", "options", "tls", "ready", "port_busy", "completed", "handshake_done", "stdin",
               "why_stdin", "keep_stdin_open"});
  RoleDef r;
  r.present = true;
  r.argv = n.required("argv").strings();
  if (auto opts = n.optional_child("options")) {
    if (!opts->value().is_array()) opts->fail("expected an array of {when, argv, env}");
    for (std::size_t i = 0; i < opts->value().size(); ++i) {
      const auto o = opts->element(i);
      o.only_keys({"when", "argv", "env", "why"});
      Option opt;
      opt.when = o.required("when").string();
      if (auto a = o.optional_child("argv")) opt.argv = a->strings();
      if (auto e = o.optional_child("env")) {
        e->expect_object();
        for (const auto& [k, _] : e->value().items()) opt.env.emplace_back(k, e->child(k).string());
      }
      r.options.push_back(std::move(opt));
    }
  }
  const auto tls = n.required("tls");
  tls.expect_object();
  for (const auto& [k, _] : tls.value().items()) {
    if (k != "1.2" && k != "1.3") tls.child(k).fail("expected \"1.2\" or \"1.3\"");
    r.tls[k] = tls.child(k).strings();
  }
  if (auto ready = n.optional_child("ready")) {
    ready->only_keys({"stdout", "stderr"});
    if (auto s = ready->optional_child("stdout")) r.ready_stdout = s->string();
    if (auto s = ready->optional_child("stderr")) r.ready_stderr = s->string();
  }
  if (auto p = n.optional_child("port_busy")) r.port_busy = p->string();
  if (auto c = n.optional_child("completed")) r.completed = compile(*c);
  if (auto h = n.optional_child("handshake_done")) {
    // One pattern, or one per TLS version: when the handshake is complete differs (in TLS 1.2 the
    // client waits for the server's Finished; in TLS 1.3 it is done once it sent its own).
    if (h->value().is_string()) {
      r.handshake_done.emplace("", compile(*h));
    } else {
      h->expect_object();
      for (const auto& [k, _] : h->value().items()) {
        if (k != "1.2" && k != "1.3") h->child(k).fail("expected \"1.2\" or \"1.3\"");
        r.handshake_done.emplace(k, compile(h->child(k)));
      }
    }
  }
  if (auto s = n.optional_child("stdin")) {
    if (s->string() != "request") s->fail("expected \"request\" (the protected-resource request)");
    r.send_request = true;
  }
  if (auto k = n.optional_child("keep_stdin_open")) r.keep_stdin_open = k->boolean();
  return r;
}

Definition parse_definition(const std::filesystem::path& file) {
  const std::string origin = file.string();
  const auto doc = pki::parse_json_document(pki::read_file(file), origin);
  const JsonNode root(doc, "", origin);
  root.only_keys({"version", "name", "description", "program", "version_argv", "roles",
                  "capabilities", "server", "client", "classify"});
  if (root.required("version").integer(1, 1000) != 1) root.child("version").fail("unsupported version");
  Definition d;
  d.info.definition = file;
  d.info.name = root.required("name").string();
  if (auto desc = root.optional_child("description")) d.info.description = desc->string();
  d.program = root.required("program").string();
  if (auto v = root.optional_child("version_argv")) d.version_argv = v->strings();
  for (const auto& role : root.required("roles").strings()) {
    if (role == "client") d.info.client = true;
    else if (role == "server") d.info.server = true;
    else root.child("roles").fail("expected \"client\" and/or \"server\", got \"" + role + "\"");
  }
  const auto caps = root.required("capabilities");
  for (const auto& c : caps.strings()) d.info.capabilities.insert(c);
  if (d.info.server) d.server = parse_role(root.required("server"));
  if (d.info.client) d.client = parse_role(root.required("client"));
  if (auto rules = root.optional_child("classify")) {
    if (!rules->value().is_array()) rules->fail("expected an array of rules");
    for (std::size_t i = 0; i < rules->value().size(); ++i) {
      const auto r = rules->element(i);
      r.only_keys({"match", "when", "outcome", "reason", "phase", "role", "verify_error", "alert_received",
                   "alert_received_name", "alert_sent_name", "identity", "why"});
      Rule rule{compile(r.required("match")), "", "", "", "", "", 0, 0, 0, 0, 0};
      if (auto o = r.optional_child("when")) rule.when = o->string();
      if (auto o = r.optional_child("outcome")) {
        rule.outcome = o->string();
        if (rule.outcome != "rejected" && rule.outcome != "error")
          o->fail("expected \"rejected\" or \"error\"");
      }
      if (auto o = r.optional_child("reason")) rule.reason = o->string();
      if (auto o = r.optional_child("phase")) rule.phase = o->string();
      if (auto o = r.optional_child("role")) rule.role = o->string();
      if (auto o = r.optional_child("verify_error")) rule.verify_error = static_cast<int>(o->integer(1, 9));
      if (auto o = r.optional_child("alert_received")) rule.alert_received = static_cast<int>(o->integer(1, 9));
      if (auto o = r.optional_child("alert_received_name")) rule.alert_received_name = static_cast<int>(o->integer(1, 9));
      if (auto o = r.optional_child("alert_sent_name")) rule.alert_sent_name = static_cast<int>(o->integer(1, 9));
      if (auto o = r.optional_child("identity")) rule.identity = static_cast<int>(o->integer(1, 9));
      d.rules.push_back(std::move(rule));
    }
  }
  return d;
}

bool condition_holds(const std::string& when, const TlsConfig& c) {
  if (when == "chain") return !c.chain.empty();
  if (when == "cert") return !c.cert.empty();
  if (when == "trust") return !c.trust.empty();
  if (when == "verify") return c.verify;
  if (when == "!verify") return !c.verify;
  if (when == "crl_check") return c.crl_check;
  if (when == "keylog") return !c.keylog.empty();
  if (when == "cipher_list") return !c.cipher_list.empty();
  if (when == "ciphersuites") return !c.ciphersuites.empty();
  if (when.starts_with("client_auth=")) return when.substr(12) == to_string(c.client_auth);
  if (when.starts_with("tls=")) return when.substr(4) == to_string(c.version);
  throw Error(Errc::invalid_input, "unknown option condition \"" + when + "\"");
}

std::string expand(const std::string& tmpl, const TlsConfig& c, std::uint16_t port) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] == '{') {
      const auto end = tmpl.find('}', i);
      if (end != std::string::npos) {
        const std::string key = tmpl.substr(i + 1, end - i - 1);
        std::string value;
        if (key == "port") value = std::to_string(port);
        else if (key == "cert") value = c.cert.string();
        else if (key == "key") value = c.key.string();
        else if (key == "chain") value = c.chain.string();
        else if (key == "trust") value = c.trust.string();
        else if (key == "crls") value = c.crls.string();
        else if (key == "server_name") value = c.server_name;
        else if (key == "cipher_list") value = c.cipher_list;
        else if (key == "ciphersuites") value = c.ciphersuites;
        else if (key == "keylog") value = c.keylog.string();
        else throw Error(Errc::invalid_input, "unknown placeholder {" + key + "}");
        out += value;
        i = end + 1;
        continue;
      }
    }
    out += tmpl[i++];
  }
  return out;
}

struct Command {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

Command build_command(const Definition& d, const RoleDef& role, const TlsConfig& c, std::uint16_t port) {
  Command cmd;
  cmd.argv.push_back(d.program.string());
  const std::string version(to_string(c.version));
  for (const auto& a : role.argv) {
    if (a == "{tls}") {
      auto it = role.tls.find(version);
      if (it != role.tls.end()) cmd.argv.insert(cmd.argv.end(), it->second.begin(), it->second.end());
      continue;
    }
    cmd.argv.push_back(expand(a, c, port));
  }
  for (const auto& o : role.options) {
    if (!condition_holds(o.when, c)) continue;
    for (const auto& a : o.argv) cmd.argv.push_back(expand(a, c, port));
    for (const auto& [k, v] : o.env) cmd.env.emplace_back(k, expand(v, c, port));
  }
  return cmd;
}

// "O = tlsmatrix, CN = x" (OpenSSL's default print) -> "/O=tlsmatrix/CN=x" (our oneline form).
std::string normalise_identity(std::string s) {
  if (s.find(" = ") == std::string::npos) return s;
  std::string out = "/";
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find(", ", start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    if (auto eq = part.find(" = "); eq != std::string::npos) part.replace(eq, 3, "=");
    out += (out.size() > 1 ? "/" : "") + part;
    start = end + 2;
  }
  return out;
}

SideObservation classify(const Definition& d, const RoleDef& role, bool is_server,
                         const TlsConfig& config, const ProcessResult& r) {
  SideObservation o;
  o.peer = d.info.name;
  o.exit_code = r.exit_code;
  o.elapsed = r.elapsed;
  const std::string text = r.out + "\n" + r.err;
  std::string rejected_reason, error_reason, phase;
  bool rejected = false, errored = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    for (const auto& rule : d.rules) {
      if (!rule.role.empty() && rule.role != (is_server ? "server" : "client")) continue;
      if (!rule.when.empty() && !condition_holds(rule.when, config)) continue;
      std::smatch m;
      if (!std::regex_search(line, m, rule.match)) continue;
      auto group = [&](int i) { return i > 0 && static_cast<std::size_t>(i) < m.size() ? m[i].str() : std::string(); };
      if (rule.verify_error && !o.verify_error) o.verify_error = std::stoi(group(rule.verify_error));
      if (rule.alert_received) {
        const int desc = std::stoi(group(rule.alert_received));
        const bool known = std::any_of(o.alerts.begin(), o.alerts.end(),
                                       [&](const AlertEvent& a) { return !a.sent && a.description == desc; });
        if (!known) o.alerts.push_back({false, true, desc});
      }
      for (auto [idx, sent] : {std::pair{rule.alert_received_name, false}, std::pair{rule.alert_sent_name, true}}) {
        if (!idx) continue;
        const int desc = alert_by_name(group(idx));
        const bool fatal = group(1) != "warning";
        const bool known = std::any_of(o.alerts.begin(), o.alerts.end(),
                                       [&](const AlertEvent& a) { return a.sent == sent && a.description == desc; });
        if (desc >= 0 && !known) o.alerts.push_back({sent, fatal, desc});
      }
      if (rule.identity) o.peer_identity = normalise_identity(group(rule.identity));
      if (!rule.phase.empty()) phase = rule.phase;
      if (rule.outcome == "rejected" && !rejected) {
        rejected = true;
        rejected_reason = !rule.reason.empty() ? rule.reason
                          : o.verify_error ? std::string(reason_for_verify_error(*o.verify_error))
                                           : "unmapped";
      } else if (rule.outcome == "error") {
        errored = true;
        if (error_reason.empty() && !rule.reason.empty()) error_reason = rule.reason;
      }
      const bool evidence = !rule.outcome.empty() || rule.verify_error || rule.alert_received ||
                            rule.alert_received_name || rule.alert_sent_name;
      if (evidence && o.error_text.find(line) == std::string::npos) o.error_text += line + "\n";
    }
  }
  const bool completed = role.completed && std::regex_search(is_server ? r.out + r.err : r.out, *role.completed);
  auto done_rule = role.handshake_done.find(std::string(to_string(config.version)));
  if (done_rule == role.handshake_done.end()) done_rule = role.handshake_done.find("");
  const bool handshake_done =
      done_rule != role.handshake_done.end() && std::regex_search(r.out + r.err, done_rule->second);
  if (r.timed_out) {
    o.outcome = Outcome::timeout;
    o.phase = handshake_done ? Phase::first_read : Phase::handshake;
  } else if (rejected) {
    o.outcome = Outcome::rejected;
    o.reason = rejected_reason;
    o.phase = Phase::handshake;
  } else if (completed && !errored) {
    o.outcome = Outcome::completed;
    o.phase = Phase::done;
  } else {
    o.outcome = Outcome::error;
    // Why the peer says it failed: what the fatal alert it received means, if anything.
    for (const auto& a : o.alerts)
      if (!a.sent && a.fatal && a.description != 0) {
        o.reason = std::string(reason_for_alert(a.description));
        break;
      }
    if (o.reason.empty()) o.reason = error_reason.empty() ? "unmapped" : error_reason;
    o.phase = phase == "tcp" ? Phase::tcp : handshake_done ? Phase::first_read : Phase::handshake;
    if (o.error_text.empty()) {
      // Unknown failure: keep the last lines as the raw evidence, never guess.
      const std::string& src = r.err.empty() ? r.out : r.err;
      o.error_text = src.size() > 600 ? src.substr(src.size() - 600) : src;
    }
  }
  return o;
}

class CliServerRun final : public ServerRun {
public:
  CliServerRun(const Definition& d, const TlsConfig& config, std::unique_ptr<Process> p,
               std::uint16_t port, std::string cmd)
      : def_(d), config_(config), process_(std::move(p)), port_(port), command_(std::move(cmd)) {}
  std::uint16_t port() const override { return port_; }
  std::string command_line() const override { return command_; }
  SideObservation finish(std::chrono::milliseconds deadline) override {
    // s_server -naccept 1 (and peers like it) exit after the one connection; others are stopped.
    ProcessResult r = process_->wait(deadline);
    if (r.timed_out) r.timed_out = false; // a server that outlives its one case is not a failure
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
    const auto program = find_program(def_.program.string());
    if (!program) {
      def_.info.unavailable = def_.program.string() + " is not installed (not found on PATH)";
      return;
    }
    def_.program = *program;
    if (!def_.version_argv.empty()) {
      try {
        EventLoop loop;
        ProcessSpec spec;
        spec.argv.push_back(def_.program.string());
        spec.argv.insert(spec.argv.end(), def_.version_argv.begin(), def_.version_argv.end());
        Process p(loop, spec);
        const auto r = p.wait(std::chrono::seconds(5));
        std::string v = r.out.empty() ? r.err : r.out;
        if (auto nl = v.find('\n'); nl != std::string::npos) v.resize(nl);
        def_.info.version = v;
      } catch (const Error& e) {
        def_.info.unavailable = e.what();
      }
    }
  }

  const PeerInfo& info() const override { return def_.info; }

  std::unique_ptr<ServerRun> start_server(const TlsConfig& config, const CaseContext& ctx) override {
    std::string last_output;
    for (int attempt = 0; attempt < 3; ++attempt) {
      const std::uint16_t port = pick_free_port();
      const Command cmd = build_command(def_, def_.server, config, port);
      ProcessSpec spec{cmd.argv, cmd.env, {}, ctx.dir / "server.out", ctx.dir / "server.err", {},
                       def_.server.keep_stdin_open};
      auto process = std::make_unique<Process>(*ctx.loop, spec);
      Readiness ready;
      if (!def_.server.ready_stdout.empty()) {
        ready.kind = Readiness::Kind::stdout_marker;
        ready.marker = def_.server.ready_stdout;
      } else if (!def_.server.ready_stderr.empty()) {
        ready.kind = Readiness::Kind::stderr_marker;
        ready.marker = def_.server.ready_stderr;
      } else {
        ready.kind = Readiness::Kind::port;
        ready.port = port;
      }
      ready.deadline = std::min(ctx.deadline, std::chrono::milliseconds(5000));
      if (process->wait_ready(ready))
        return std::make_unique<CliServerRun>(def_, config, std::move(process), port, shell_join(cmd.argv));
      const ProcessResult r = process->stop();
      last_output = r.out + r.err;
      // A port taken between pick_free_port() and bind(): try another (s_server even exits 0).
      if (!def_.server.port_busy.empty() && last_output.find(def_.server.port_busy) != std::string::npos)
        continue;
      throw Error(Errc::peer, def_.info.name + " server did not become ready" +
                                  (r.timed_out ? " within its deadline" : " (it exited)") + ": " +
                                  shell_join(cmd.argv) + "\n" + last_output.substr(0, 2000));
    }
    throw Error(Errc::peer, def_.info.name + " server: no free port after 3 attempts: " + last_output);
  }

  ClientRun run_client(const TlsConfig& config, std::uint16_t port, const CaseContext& ctx) override {
    const Command cmd = build_command(def_, def_.client, config, port);
    ProcessSpec spec{cmd.argv, cmd.env, {}, ctx.dir / "client.out", ctx.dir / "client.err",
                     def_.client.send_request ? std::string(resource_request) : std::string(),
                     def_.client.keep_stdin_open};
    Process process(*ctx.loop, spec);
    const ProcessResult r = process.wait(ctx.deadline);
    return {classify(def_, def_.client, false, config, r), shell_join(cmd.argv)};
  }

private:
  Definition def_;
};

} // namespace

std::unique_ptr<Peer> load_cli_peer(const std::filesystem::path& definition) {
  return std::make_unique<CliPeer>(parse_definition(definition));
}

SideObservation classify_peer_output(const std::filesystem::path& definition, Side role,
                                     const ProcessResult& result, const TlsConfig& config) {
  const Definition d = parse_definition(definition);
  const bool server = role == Side::server;
  return classify(d, server ? d.server : d.client, server, config, result);
}

std::filesystem::path default_peers_dir() {
  // Installed next to the binary's share dir in a real install; the source tree while developing.
  if (const char* env = std::getenv("TLSMATRIX_PEERS_DIR")) return env;
  return TLSMATRIX_PEERS_DIR;
}

std::vector<std::unique_ptr<Peer>> load_peers(const std::vector<std::filesystem::path>& extra_dirs) {
  std::vector<std::unique_ptr<Peer>> peers;
  peers.push_back(make_local_peer());
  std::vector<std::filesystem::path> dirs{default_peers_dir()};
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : dirs) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".json") files.push_back(e.path());
    if (ec) throw Error(Errc::io, "cannot read peer definitions in " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto peer = load_cli_peer(f);
      for (const auto& p : peers)
        if (p->info().name == peer->info().name)
          throw Error(Errc::invalid_input, f.string() + ": /name: a peer named \"" + peer->info().name +
                                               "\" is already defined" +
                                               (p->info().definition.empty() ? "" : " by " + p->info().definition.string()));
      peers.push_back(std::move(peer));
    }
  }
  return peers;
}

std::string shell_join(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && std::all_of(a.begin(), a.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_./:=,@+").find(c) != std::string_view::npos;
    });
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

} // namespace harness
