// The data-driven adapter for external TLS programs: argv templates, readiness, and output
// classification all come from peers/<name>.json, so a new CLI peer is a file, not code.
// Beyond argv templates a definition may ask for: a program per role; stdout line-buffered (for
// servers that are stopped, not left to exit); a `done` pattern that tells when a server that
// outlives its connection has decided it; per-peer translations of placeholder values (OpenSSL
// cipher strings into GnuTLS priorities); and `prepare` steps that build per-identity state (an
// NSS certificate database) once per run, shared by every case that needs the same one.
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"
#include "harness/model/reasons.hpp"
#include "harness/model/resource.hpp"
#include "harness/model/scenario.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "harness/process/shell.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using common::JsonNode;
using tlsmatrix::Errc;
using tlsmatrix::Error;

struct Option {
  std::string when;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

// A command run before the role's program, e.g. to build an NSS database. argv[0] is a program
// name; `each` names a PEM-bundle placeholder ("trust", "crls"): the step then runs once per
// block of the bundle, with {each} = that block's file and {index} = its number.
struct Step {
  std::string when;
  std::string each;
  std::vector<std::string> argv;
};

struct RoleDef {
  bool present = false;
  std::string program;            // "" = the definition's program
  std::filesystem::path resolved; // absolute path, once found on PATH
  bool line_buffered = false;     // run under `stdbuf -oL`
  std::vector<Step> prepare;      // {db} = the directory they fill
  std::optional<std::regex> done; // server: the connection's outcome is known
  std::vector<std::string> argv;
  std::vector<Option> options;
  std::map<std::string, std::vector<std::string>> tls; // "1.2" -> flags
  std::string ready_stdout, ready_stderr;
  std::string port_busy;
  std::optional<std::regex> completed;
  // Server: output that proves it sent the resource (not just that a handshake finished).
  std::optional<std::regex> served;
  std::map<std::string, std::regex> handshake_done; // by TLS version ("" = any)
  bool send_request = false;
  bool keep_stdin_open = false;
  std::string keep_stdin_open_when; // a condition: keep it open only for such cases
  // Server: flags that make it serve many connections (the shared `--many` contract: lines
  // prefixed "@<client port> ", "@<client port> END" after each); empty = one per case.
  std::vector<std::string> many;
  // Server: "answers": "echo" — it sends back what it reads instead of the resource.
  bool echoes = false;
};

// Where a rule's line says which alert went by: a group holding its number or its name, or a
// fixed name (for stacks that print error names, not alerts); `level` a group holding "warning"
// or "1" (else fatal; name groups without it: fatal unless group 1 says "warning").
struct AlertSpec {
  bool sent = false;
  int number = 0, name = 0, level = 0;
  std::string literal;
};

struct Rule {
  std::regex match{};
  std::string anchor;  // a literal every matching line starts with ("" = unknown): a cheap filter
  std::string outcome; // "", "rejected", "error"
  std::string reason;
  std::string phase;
  std::string role; // "", "client", "server"
  std::string when; // a condition on the endpoint's config, as in options
  int verify_error = 0, identity = 0;
  std::vector<AlertSpec> alerts;
  // The line counts only if one of the next `confirm_within` lines matches (e.g. a logged attempt
  // to send an alert, confirmed by the record layer's "sent").
  std::optional<std::regex> confirm;
  int confirm_within = 0;
};

struct Definition {
  PeerInfo info;
  std::filesystem::path program;
  std::vector<std::string> version_argv;    // run with `program`
  std::vector<std::string> version_command; // or a whole command (argv[0] a program name)
  // Placeholder -> (harness value -> this peer's spelling); a value without an entry is an error.
  std::map<std::string, std::map<std::string, std::string>> translate;
  RoleDef server, client;
  std::vector<Rule> rules;
};

const std::set<std::string>& config_placeholders() {
  static const std::set<std::string> names{"port",          "cert",   "key",         "chain",
                                           "trust",         "crls",   "server_name", "cipher_list",
                                           "ciphersuites",  "keylog", "cert_chain",  "request_file",
                                           "definition_dir"};
  return names;
}

bool condition_holds(const std::string& when, const TlsConfig& c);

// Every {name} of a template must be one the engine fills in this context.
void check_placeholders(const JsonNode& n, const std::string& tmpl,
                        const std::set<std::string>& extra) {
  for (std::size_t i = tmpl.find('{'); i != std::string::npos; i = tmpl.find('{', i + 1)) {
    const auto end = tmpl.find('}', i);
    if (end == std::string::npos)
      break;
    const std::string key = tmpl.substr(i + 1, end - i - 1);
    if (key == "tls" && tmpl == "{tls}")
      continue;
    if (!config_placeholders().contains(key) && !extra.contains(key))
      n.fail("unknown placeholder {" + key + "}");
  }
}

void check_strings(const JsonNode& n, const std::set<std::string>& extra) {
  const auto values = n.strings();
  for (std::size_t i = 0; i < values.size(); ++i)
    check_placeholders(n.element(i), values[i], extra);
}

std::string parse_condition(const JsonNode& n) {
  std::string when = n.string();
  try {
    (void)condition_holds(when, TlsConfig{});
  } catch (const Error& e) {
    n.fail(e.what());
  }
  return when;
}

std::regex compile(const JsonNode& n) {
  try {
    return std::regex(n.string(), std::regex::ECMAScript | std::regex::multiline);
  } catch (const std::regex_error& e) {
    n.fail(std::string("not a valid regular expression: ") + e.what());
  }
}

// The literal text a pattern like "^Error in handshake: (.*)" requires at the start of a line, or
// "" when it requires none that is easy to see (no "^", or an alternation at the top level).
// Debug logs make peers print hundreds of lines; std::regex is slow, so lines that cannot match
// are skipped by a string comparison.
std::string leading_literal(const std::string& pattern) {
  if (!pattern.starts_with("^"))
    return {};
  int depth = 0;
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return {};
    }
  }
  std::string out;
  for (std::size_t i = 1; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      c = pattern[i + 1];
      if (std::isalnum(static_cast<unsigned char>(c)))
        break; // \d, \s, \b, …
      out += c;
      ++i;
      continue;
    }
    if (std::string_view("*?{+").find(c) != std::string_view::npos) {
      if (!out.empty())
        out.pop_back(); // the quantified character may be absent
      break;
    }
    if (std::string_view(".()[]|$").find(c) != std::string_view::npos)
      break;
    out += c;
  }
  return out;
}

int alert_by_name(const std::string& name) {
  for (int d = 0; d < 256; ++d)
    if (wire::alert_name(d) == name)
      return d;
  return -1;
}

RoleDef parse_role(const JsonNode& n, bool server) {
  n.only_keys({"why",
               "program",
               "line_buffered",
               "why_line_buffered",
               "prepare",
               "why_prepare",
               "argv",
               "options",
               "tls",
               "ready",
               "port_busy",
               "completed",
               "served",
               "why_served",
               "done",
               "why_done",
               "handshake_done",
               "stdin",
               "why_stdin",
               "keep_stdin_open",
               "keep_stdin_open_when",
               "many",
               "why_many",
               "answers",
               "why_answers",
               "advisory_verification",
               "why_ready"});
  if (server)
    if (auto a = n.optional_child("advisory_verification"))
      a->fail("only a client's verification can be declared advisory");
  RoleDef r;
  r.present = true;
  if (auto p = n.optional_child("program"))
    r.program = p->string();
  if (auto l = n.optional_child("line_buffered"))
    r.line_buffered = l->boolean();
  if (auto steps = n.optional_child("prepare")) {
    if (!steps->value().is_array())
      steps->fail("expected an array of {when, each, argv}");
    for (std::size_t i = 0; i < steps->value().size(); ++i) {
      const auto st = steps->element(i);
      st.only_keys({"when", "each", "argv", "why"});
      Step step;
      if (auto w = st.optional_child("when"))
        step.when = parse_condition(*w);
      std::set<std::string> extra{"db"};
      if (auto e = st.optional_child("each")) {
        step.each = e->string();
        if (step.each != "trust" && step.each != "crls")
          e->fail("expected \"trust\" or \"crls\"");
        extra.insert({"each", "index"});
      }
      const auto argv = st.required("argv");
      step.argv = argv.strings();
      if (step.argv.empty())
        argv.fail("expected a program and its arguments");
      check_strings(argv, extra);
      r.prepare.push_back(std::move(step));
    }
  }
  const std::set<std::string> extra =
      r.prepare.empty() ? std::set<std::string>{} : std::set<std::string>{"db"};
  const auto argv = n.required("argv");
  r.argv = argv.strings();
  check_strings(argv, extra);
  if (auto opts = n.optional_child("options")) {
    if (!opts->value().is_array())
      opts->fail("expected an array of {when, argv, env}");
    for (std::size_t i = 0; i < opts->value().size(); ++i) {
      const auto o = opts->element(i);
      o.only_keys({"when", "argv", "env", "why"});
      Option opt;
      opt.when = parse_condition(o.required("when"));
      if (auto a = o.optional_child("argv")) {
        opt.argv = a->strings();
        check_strings(*a, extra);
      }
      if (auto e = o.optional_child("env")) {
        e->expect_object();
        for (const auto& [k, _] : e->value().items()) {
          opt.env.emplace_back(k, e->child(k).string());
          check_placeholders(e->child(k), opt.env.back().second, extra);
        }
      }
      r.options.push_back(std::move(opt));
    }
  }
  const auto tls = n.required("tls");
  tls.expect_object();
  for (const auto& [k, _] : tls.value().items()) {
    if (k != "1.2" && k != "1.3")
      tls.child(k).fail("expected \"1.2\" or \"1.3\"");
    r.tls[k] = tls.child(k).strings();
    check_strings(tls.child(k), extra);
  }
  if (auto ready = n.optional_child("ready")) {
    ready->only_keys({"stdout", "stderr"});
    if (auto s = ready->optional_child("stdout"))
      r.ready_stdout = s->string();
    if (auto s = ready->optional_child("stderr"))
      r.ready_stderr = s->string();
    for (const auto* m : {&r.ready_stdout, &r.ready_stderr})
      check_placeholders(*ready, *m, {});
  }
  if (auto p = n.optional_child("port_busy"))
    r.port_busy = p->string();
  if (auto c = n.optional_child("completed"))
    r.completed = compile(*c);
  if (auto sv = n.optional_child("served")) {
    if (!server)
      sv->fail("only a server serves the resource (a client's receipt is its completed pattern)");
    r.served = compile(*sv);
  }
  if (auto d = n.optional_child("done")) {
    if (!server)
      d->fail("only a server waits for a done pattern (a client's end is its exit)");
    r.done = compile(*d);
  }
  if (auto h = n.optional_child("handshake_done")) {
    // One pattern, or one per TLS version: when the handshake is complete differs (in TLS 1.2 the
    // client waits for the server's Finished; in TLS 1.3 it is done once it sent its own).
    if (h->value().is_string()) {
      r.handshake_done.emplace("", compile(*h));
    } else {
      h->expect_object();
      for (const auto& [k, _] : h->value().items()) {
        if (k != "1.2" && k != "1.3")
          h->child(k).fail("expected \"1.2\" or \"1.3\"");
        r.handshake_done.emplace(k, compile(h->child(k)));
      }
    }
  }
  if (auto s = n.optional_child("stdin")) {
    if (s->string() != "request")
      s->fail("expected \"request\" (the protected-resource request)");
    r.send_request = true;
  }
  if (auto k = n.optional_child("keep_stdin_open"))
    r.keep_stdin_open = k->boolean();
  if (auto k = n.optional_child("keep_stdin_open_when"))
    r.keep_stdin_open_when = parse_condition(*k);
  if (auto a = n.optional_child("answers")) {
    if (!server)
      a->fail("only a server answers requests");
    const std::string answers = a->string();
    if (answers != "resource" && answers != "echo")
      a->fail("expected \"resource\" (the default: the protected resource, over HTTP) or \"echo\" "
              "(what it reads, sent back), got \"" +
              answers + "\"");
    r.echoes = answers == "echo";
  }
  if (auto m = n.optional_child("many")) {
    if (!server)
      m->fail("only a server serves many connections");
    r.many = m->strings();
    if (r.many.empty())
      m->fail("expected the flags that turn on the many-connections mode");
    check_strings(*m, extra);
    // Its lines are told apart by their prefix on stdout, and it never ends by itself.
    if (r.ready_stdout.empty())
      m->fail("a server with \"many\" needs a \"ready\": {\"stdout\": …} marker");
    if (r.done)
      m->fail("a server with \"many\" ends each connection with its END line, not \"done\"");
  }
  return r;
}

Definition parse_definition(const std::filesystem::path& file,
                            const std::filesystem::path& programs = peer_programs_dir()) {
  const std::string origin = file.string();
  const auto doc = common::parse_json_document(common::read_file(file), origin);
  const JsonNode root(doc, "", origin);
  root.only_keys({"version", "name", "description", "program", "version_argv", "version_command",
                  "roles", "capabilities", "why_capabilities", "translate", "server", "client",
                  "classify", "needs_from_server", "why_needs_from_server"});
  if (root.required("version").integer(1, 1000) != 1)
    root.child("version").fail("unsupported version");
  Definition d;
  d.info.definition = file;
  d.info.name = root.required("name").string();
  if (auto desc = root.optional_child("description"))
    d.info.description = desc->string();
  d.program = root.required("program").string();
  // A peer program compiled at build time (Go, Java) lives in the build tree, or in a run's pin.
  if (const std::string dir = "{peer_programs}"; d.program.string().starts_with(dir))
    d.program = programs.string() + d.program.string().substr(dir.size());
  if (auto v = root.optional_child("version_argv"))
    d.version_argv = v->strings();
  if (auto v = root.optional_child("version_command")) {
    d.version_command = v->strings();
    if (d.version_command.empty())
      v->fail("expected a program and its arguments");
  }
  if (auto t = root.optional_child("translate")) {
    t->expect_object();
    for (const auto& [placeholder, _] : t->value().items()) {
      const auto table = t->child(placeholder);
      if (!config_placeholders().contains(placeholder))
        table.fail("not a placeholder the harness fills");
      table.expect_object();
      for (const auto& [from, __] : table.value().items())
        d.translate[placeholder][from] = table.child(from).string();
    }
  }
  for (const auto& role : root.required("roles").strings()) {
    if (role == "client")
      d.info.client = true;
    else if (role == "server")
      d.info.server = true;
    else
      root.child("roles").fail("expected \"client\" and/or \"server\", got \"" + role + "\"");
  }
  const auto caps = root.required("capabilities");
  const auto& known = known_capabilities();
  const auto cap_list = caps.strings();
  for (std::size_t i = 0; i < cap_list.size(); ++i) {
    if (std::find(known.begin(), known.end(), cap_list[i]) == known.end())
      caps.element(i).fail("unknown capability \"" + cap_list[i] + "\"");
    d.info.capabilities.insert(cap_list[i]);
  }
  if (auto needs = root.optional_child("needs_from_server")) {
    const auto list = needs->strings();
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (std::find(known.begin(), known.end(), list[i]) == known.end())
        needs->element(i).fail("unknown capability \"" + list[i] + "\"");
      d.info.needs_from_server.insert(list[i]);
    }
  }
  if (d.info.server) {
    d.server = parse_role(root.required("server"), true);
    d.info.echo_server = d.server.echoes;
    if (d.info.echo_server && d.info.capabilities.contains("http"))
      caps.fail("a server that answers with an echo does not speak \"http\"");
  }
  if (d.info.client) {
    const auto client = root.required("client");
    d.client = parse_role(client, false);
    if (auto a = client.optional_child("advisory_verification"))
      d.info.advisory_client = a->string();
  }
  if (auto rules = root.optional_child("classify")) {
    if (!rules->value().is_array())
      rules->fail("expected an array of rules");
    for (std::size_t i = 0; i < rules->value().size(); ++i) {
      const auto r = rules->element(i);
      r.only_keys({"match", "when", "outcome", "reason", "phase", "role", "verify_error",
                   "alert_received", "alert_sent", "alert_received_name", "alert_sent_name",
                   "alert_level", "identity", "confirmed_by", "why"});
      Rule rule;
      rule.match = compile(r.required("match"));
      rule.anchor = leading_literal(r.required("match").string());
      if (auto o = r.optional_child("when"))
        rule.when = parse_condition(*o);
      if (auto o = r.optional_child("outcome")) {
        rule.outcome = o->string();
        if (rule.outcome != "rejected" && rule.outcome != "error")
          o->fail("expected \"rejected\" or \"error\"");
      }
      if (auto o = r.optional_child("reason"))
        rule.reason = o->string();
      if (auto o = r.optional_child("phase"))
        rule.phase = o->string();
      if (auto o = r.optional_child("role"))
        rule.role = o->string();
      if (auto o = r.optional_child("verify_error"))
        rule.verify_error = static_cast<int>(o->integer(1, 9));
      int level = 0;
      if (auto o = r.optional_child("alert_level"))
        level = static_cast<int>(o->integer(1, 9));
      for (const char* key : {"alert_received", "alert_sent"})
        if (auto o = r.optional_child(key))
          rule.alerts.push_back({std::string_view(key) == "alert_sent",
                                 static_cast<int>(o->integer(1, 9)), 0, level, ""});
      // A group number (the name is in the line) or a literal alert name (the line means it).
      for (const char* key : {"alert_received_name", "alert_sent_name"}) {
        auto o = r.optional_child(key);
        if (!o)
          continue;
        AlertSpec a{std::string_view(key) == "alert_sent_name", 0, 0, level, ""};
        if (o->value().is_string()) {
          a.literal = o->string();
          if (alert_by_name(a.literal) < 0)
            o->fail("unknown alert name \"" + a.literal + "\"");
        } else {
          a.name = static_cast<int>(o->integer(1, 9));
        }
        rule.alerts.push_back(a);
      }
      if (auto c = r.optional_child("confirmed_by")) {
        c->only_keys({"match", "within"});
        rule.confirm = compile(c->required("match"));
        rule.confirm_within = static_cast<int>(c->required("within").integer(1, 20));
      }
      if (auto o = r.optional_child("identity"))
        rule.identity = static_cast<int>(o->integer(1, 9));
      d.rules.push_back(std::move(rule));
    }
  }
  return d;
}

// Whether the role's stdin stays open for this case: always, or when its condition holds.
bool keeps_stdin_open(const RoleDef& role, const TlsConfig& c) {
  return role.keep_stdin_open ||
         (!role.keep_stdin_open_when.empty() && condition_holds(role.keep_stdin_open_when, c));
}

// A condition on the endpoint's config: a name (true when set), name=value, "!" negates,
// "," joins conditions that must all hold.
bool condition_holds(const std::string& when, const TlsConfig& c) {
  if (const auto comma = when.find(','); comma != std::string::npos)
    return condition_holds(when.substr(0, comma), c) && condition_holds(when.substr(comma + 1), c);
  if (when.starts_with("!"))
    return !condition_holds(when.substr(1), c);
  if (when == "chain")
    return !c.chain.empty();
  if (when == "cert")
    return !c.cert.empty();
  if (when == "trust")
    return !c.trust.empty();
  if (when == "verify")
    return c.verify;
  if (when == "crl_check")
    return c.crl_check;
  if (when == "server_echoes")
    return c.server_echoes;
  if (when == "keylog")
    return !c.keylog.empty();
  if (when == "cipher_list")
    return !c.cipher_list.empty();
  if (when == "ciphersuites")
    return !c.ciphersuites.empty();
  if (when.starts_with("client_auth="))
    return when.substr(12) == to_string(c.client_auth);
  if (when.starts_with("tls="))
    return when.substr(4) == to_string(c.version);
  throw Error(Errc::invalid_input, "unknown option condition \"" + when + "\"");
}

// What the placeholders of one command stand for. Files derived from the config ({cert_chain},
// {request_file}) are made on first use; {db}, {each} and {index} are set by the prepare steps.
struct Vars {
  const Definition* def = nullptr;
  const TlsConfig* config = nullptr;
  std::uint16_t port = 0;
  std::function<std::string(const std::string&)> derived; // cert_chain, request_file
  std::map<std::string, std::string> fixed;

  std::string value(const std::string& key) const {
    if (auto it = fixed.find(key); it != fixed.end())
      return it->second;
    const TlsConfig& c = *config;
    if (key == "port")
      return std::to_string(port);
    if (key == "cert")
      return c.cert.string();
    if (key == "key")
      return c.key.string();
    if (key == "chain")
      return c.chain.string();
    if (key == "trust")
      return c.trust.string();
    if (key == "crls")
      return c.crls.string();
    if (key == "server_name")
      return c.server_name;
    if (key == "cipher_list")
      return c.cipher_list;
    if (key == "ciphersuites")
      return c.ciphersuites;
    if (key == "keylog")
      return c.keylog.string();
    // Programs shipped with the peer definitions (harness/peer-programs/) are found relative to
    // them.
    if (key == "definition_dir")
      return def->info.definition.parent_path().string();
    if ((key == "cert_chain" || key == "request_file") && derived)
      return derived(key);
    throw Error(Errc::invalid_input,
                def->info.name + ": placeholder {" + key + "} has no value here");
  }

  // The value as this peer spells it (its translate table), or as the harness has it.
  std::string spelled(const std::string& key) const {
    std::string v = value(key);
    auto table = def->translate.find(key);
    if (table == def->translate.end())
      return v;
    auto it = table->second.find(v);
    if (it == table->second.end()) {
      std::string known;
      for (const auto& [from, _] : table->second)
        known += (known.empty() ? "\"" : ", \"") + from + "\"";
      throw Error(Errc::invalid_input, def->info.name + ": no translation of {" + key + "} = \"" +
                                           v + "\" in " + def->info.definition.string() +
                                           " (it has " + known + ")");
    }
    return it->second;
  }

  std::string expand(const std::string& tmpl) const {
    std::string out;
    for (std::size_t i = 0; i < tmpl.size();) {
      if (tmpl[i] == '{') {
        const auto end = tmpl.find('}', i);
        if (end != std::string::npos) {
          out += spelled(tmpl.substr(i + 1, end - i - 1));
          i = end + 1;
          continue;
        }
      }
      out += tmpl[i++];
    }
    return out;
  }
};

struct Command {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
};

std::filesystem::path stdbuf_program() {
  static const std::optional<std::filesystem::path> found = find_program("stdbuf");
  if (!found)
    throw Error(Errc::peer, "stdbuf (coreutils) is not installed");
  return *found;
}

Command build_command(const RoleDef& role, const Vars& vars) {
  const TlsConfig& c = *vars.config;
  Command cmd;
  if (role.line_buffered) {
    // A server that is stopped rather than left to exit would lose what stdio still buffers.
    cmd.argv.push_back(stdbuf_program().string());
    cmd.argv.push_back("-oL");
  }
  cmd.argv.push_back(role.resolved.string());
  const std::string version(to_string(c.version));
  for (const auto& a : role.argv) {
    if (a == "{tls}") {
      auto it = role.tls.find(version);
      if (it != role.tls.end())
        for (const auto& flag : it->second)
          cmd.argv.push_back(vars.expand(flag));
      continue;
    }
    cmd.argv.push_back(vars.expand(a));
  }
  for (const auto& o : role.options) {
    if (!condition_holds(o.when, c))
      continue;
    for (const auto& a : o.argv)
      cmd.argv.push_back(vars.expand(a));
    for (const auto& [k, v] : o.env)
      cmd.env.emplace_back(k, vars.expand(v));
  }
  return cmd;
}

// The PEM blocks with this label ("CERTIFICATE", "X509 CRL") of a bundle, each with a newline (a
// trust bundle may carry CRLs too: the runner adds them for OpenSSL-style CA files).
std::vector<std::string> pem_blocks(const std::string& text, const std::string& label) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN " + label + "-----",
                    end_line = "-----END " + label + "-----";
  for (std::size_t at = text.find(begin); at != std::string::npos; at = text.find(begin, at + 1)) {
    const auto end = text.find(end_line, at);
    if (end == std::string::npos)
      break;
    out.push_back(text.substr(at, end + end_line.size() - at) + "\n");
  }
  return out;
}

std::string hex_digest(const std::string& text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(text));
  return buf;
}

// RFC 4514 "CN=x,O=tlsmatrix" (GnuTLS, NSS: most specific first, "\," escapes) ->
// "/O=tlsmatrix/CN=x".
std::string from_rfc4514(const std::string& s) {
  std::vector<std::string> parts{""};
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      parts.back() += s[++i];
    } else if (s[i] == ',') {
      parts.emplace_back();
    } else {
      parts.back() += s[i];
    }
  }
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    out += "/" + *it;
  return out;
}

// "O = tlsmatrix, CN = x" (OpenSSL's default print) -> "/O=tlsmatrix/CN=x" (our oneline form).
std::string normalise_identity(std::string s) {
  if (s.find(" = ") == std::string::npos)
    return s.starts_with("/") || s.find('=') == std::string::npos ? s : from_rfc4514(s);
  std::string out = "/";
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find(", ", start);
    if (end == std::string::npos)
      end = s.size();
    std::string part = s.substr(start, end - start);
    if (auto eq = part.find(" = "); eq != std::string::npos)
      part.replace(eq, 3, "=");
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
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      lines.push_back(std::move(line));
  }
  std::vector<const Rule*> rules; // those that apply to this side and config
  for (const auto& rule : d.rules)
    if ((rule.role.empty() || rule.role == (is_server ? "server" : "client")) &&
        (rule.when.empty() || condition_holds(rule.when, config)))
      rules.push_back(&rule);
  for (std::size_t at = 0; at < lines.size(); ++at) {
    const std::string& line = lines[at];
    for (const Rule* rule_ptr : rules) {
      const Rule& rule = *rule_ptr;
      if (!line.starts_with(rule.anchor))
        continue;
      std::smatch m;
      if (!std::regex_search(line, m, rule.match))
        continue;
      if (rule.confirm) {
        bool confirmed = false;
        for (std::size_t next = at + 1;
             next < lines.size() && next <= at + static_cast<std::size_t>(rule.confirm_within);
             ++next)
          confirmed = confirmed || std::regex_search(lines[next], *rule.confirm);
        if (!confirmed)
          continue;
      }
      auto group = [&](int i) {
        return i > 0 && static_cast<std::size_t>(i) < m.size() ? m[i].str() : std::string();
      };
      if (rule.verify_error && !o.verify_error)
        o.verify_error = std::stoi(group(rule.verify_error));
      for (const auto& spec : rule.alerts) {
        const int desc = spec.number ? std::stoi(group(spec.number))
                                     : alert_by_name(spec.name ? group(spec.name) : spec.literal);
        const bool fatal = spec.level  ? group(spec.level) != "warning" && group(spec.level) != "1"
                           : spec.name ? group(1) != "warning"
                                       : true;
        const bool known = std::any_of(o.alerts.begin(), o.alerts.end(), [&](const AlertEvent& a) {
          return a.sent == spec.sent && a.description == desc;
        });
        if (desc >= 0 && !known)
          o.alerts.push_back({spec.sent, fatal, desc});
      }
      // The first subject printed is the leaf's (GnuTLS goes on with the rest of the chain).
      if (rule.identity && o.peer_identity.empty())
        o.peer_identity = normalise_identity(group(rule.identity));
      if (!rule.phase.empty())
        phase = rule.phase;
      if (rule.outcome == "rejected" && !rejected) {
        rejected = true;
        rejected_reason = !rule.reason.empty() ? rule.reason
                          : o.verify_error ? std::string(reason_for_verify_error(*o.verify_error))
                                           : "unmapped";
      } else if (rule.outcome == "error") {
        errored = true;
        if (error_reason.empty() && !rule.reason.empty())
          error_reason = rule.reason;
      }
      const bool evidence = !rule.outcome.empty() || rule.verify_error || !rule.alerts.empty();
      if (evidence && o.error_text.find(line) == std::string::npos)
        o.error_text += line + "\n";
    }
  }
  // Against an echo server a client has completed once the request came back (it is on stdout
  // with what the client received), not when the resource did.
  const bool completed =
      !is_server && config.server_echoes
          ? r.out.find(echo_marker) != std::string::npos
          : role.completed && std::regex_search(is_server ? r.out + r.err : r.out, *role.completed);
  auto done_rule = role.handshake_done.find(std::string(to_string(config.version)));
  if (done_rule == role.handshake_done.end())
    done_rule = role.handshake_done.find("");
  const bool handshake_done =
      done_rule != role.handshake_done.end() && std::regex_search(r.out + r.err, done_rule->second);
  // The side's own record of the resource, whatever else it printed (reconcile() weighs it): a
  // client shows what it received; a server proves it only by its `served` output.
  o.resource = is_server ? role.served && std::regex_search(r.out + r.err, *role.served)
                         : shows_resource(r.out, config.server_echoes);
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
    if (o.reason.empty())
      o.reason = error_reason.empty() ? "unmapped" : error_reason;
    o.phase = phase == "tcp" ? Phase::tcp : handshake_done ? Phase::first_read : Phase::handshake;
    if (o.error_text.empty()) {
      // Unknown failure: keep the last lines as the raw evidence, never guess.
      const std::string& src = r.err.empty() ? r.out : r.err;
      o.error_text = src.size() > 600 ? src.substr(src.size() - 600) : src;
    }
  }
  return o;
}

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
      throw Error(Errc::peer, def_.info.name + " server did not become ready" +
                                  (r.timed_out ? " within its deadline" : " (it exited)") + ": " +
                                  shell_join(cmd.argv) + "\n" + last_output.substr(0, 2000));
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
    std::lock_guard lock(entry->mutex);
    if (entry->done) {
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
        if (r.exit_code != 0)
          fail(shell_join(argv) + " exited " +
               (r.exit_code ? std::to_string(*r.exit_code) : std::string("by a signal")) + ": " +
               (r.out + r.err).substr(0, 1000));
      }
    }
    common::write_file_atomic(dir / "prepare.log", log);
    return dir;
  }

  struct Prepared {
    std::mutex mutex;
    bool done = false;
    std::string error;
  };

  Definition def_;
  std::mutex files_mutex_;
  std::set<fs::path> files_made_;
  std::map<fs::path, std::shared_ptr<Prepared>> prepared_;
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
  if (const char* env = std::getenv("TLSMATRIX_PEERS_DIR"))
    return env;
  return TLSMATRIX_PEERS_DIR;
}

std::filesystem::path peer_programs_dir() {
  const char* env = std::getenv("TLSMATRIX_PEER_PROGRAMS_DIR");
  return env ? env : TLSMATRIX_PEER_PROGRAMS_DIR;
}

std::filesystem::path pin_peer_programs(const std::filesystem::path& into) {
  const fs::path from = peer_programs_dir();
  std::error_code ec;
  if (!fs::is_directory(from, ec))
    return from;
  fs::create_directories(into, ec);
  if (ec)
    throw Error(Errc::io, "cannot create " + into.string() + ": " + ec.message());
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    const std::string name = entry.path().filename().string();
    // Build intermediates (the Go cache, the Java classes, stamps, scripts, a half-written .tmp)
    // are not what a peer runs.
    if (!entry.is_regular_file(ec) || name.ends_with(".tmp") || name.ends_with(".stamp") ||
        name.ends_with(".cmake") || name.ends_with(".sh"))
      continue;
    const fs::path to = into / name;
    // A hard link pins the file's current content for free: the build replaces its outputs by
    // renames, never in place (harness/peer-programs/CMakeLists.txt). Across filesystems, a copy.
    if (::link(entry.path().c_str(), to.c_str()) == 0)
      continue;
    if (!fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing, ec))
      throw Error(Errc::io, "cannot pin the peer program " + entry.path().string() + " in " +
                                into.string() + ": " + ec.message());
  }
  if (ec)
    throw Error(Errc::io, "cannot read " + from.string() + ": " + ec.message());
  return into;
}

std::vector<std::unique_ptr<Peer>> load_peers(const std::vector<std::filesystem::path>& extra_dirs,
                                              const std::filesystem::path& programs) {
  std::vector<std::unique_ptr<Peer>> peers;
  peers.push_back(make_local_peer());
  std::vector<std::filesystem::path> dirs{default_peers_dir()};
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : dirs) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
      if (e.path().extension() == ".json")
        files.push_back(e.path());
    if (ec)
      throw Error(Errc::io,
                  "cannot read peer definitions in " + dir.string() + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      auto peer = std::make_unique<CliPeer>(
          parse_definition(f, programs.empty() ? peer_programs_dir() : programs));
      for (const auto& p : peers)
        if (p->info().name == peer->info().name)
          throw Error(
              Errc::invalid_input,
              f.string() + ": /name: a peer named \"" + peer->info().name +
                  "\" is already defined" +
                  (p->info().definition.empty() ? "" : " by " + p->info().definition.string()));
      peers.push_back(std::move(peer));
    }
  }
  return peers;
}

} // namespace harness
