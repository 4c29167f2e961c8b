// Parsing a CLI peer's definition: strict JSON (common::JsonNode), every placeholder, condition
// and pattern checked when the file is read rather than when a case first needs it.
#include "cli_definition.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/json_node.hpp"
#include "harness/model/scenario.hpp"
#include "harness/wire/trace.hpp"

namespace harness::cli_peer {
namespace {

namespace fs = std::filesystem;
using common::JsonNode;
using tlsmatrix::Errc;
using tlsmatrix::Error;

const std::set<std::string>& config_placeholders() {
  static const std::set<std::string> names{
      "port",         "cert",          "key",         "chain",
      "trust",        "crls",          "server_name", "server_name_url",
      "cipher_list",  "ciphersuites",  "keylog",      "cert_chain",
      "request_file", "definition_dir"};
  return names;
}

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

} // namespace

Definition parse_definition(const std::filesystem::path& file,
                            const std::filesystem::path& programs) {
  const std::string origin = file.string();
  const auto doc = common::parse_json_document(common::read_file(file), origin);
  const JsonNode root(doc, "", origin);
  root.only_keys({"version", "name", "description", "program", "version_argv", "version_command",
                  "roles", "capabilities", "why_capabilities", "translate", "server", "client",
                  "classify", "needs_from_server", "why_needs_from_server", "alert_reasons",
                  "why_alert_reasons"});
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
  // What this stack means by an alert it sends, where narrower than the alert's name.
  if (auto a = root.optional_child("alert_reasons")) {
    a->expect_object();
    for (const auto& [alert, _] : a->value().items()) {
      const JsonNode reason = a->child(alert);
      if (alert_by_name(alert) < 0)
        reason.fail(unknown_alert_message(alert));
      const std::string why = reason.string();
      if (!canonical_reasons().contains(why) || why == "unmapped")
        reason.fail("unknown reason \"" + why + "\"");
      d.info.alert_reasons[alert] = why;
    }
    if (!root.has("why_alert_reasons"))
      a->fail("say why in \"why_alert_reasons\"");
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
        if (rule.outcome != "rejected" && rule.outcome != "error" && rule.outcome != "refused")
          o->fail("expected \"rejected\", \"error\" or \"refused\"");
      }
      if (auto o = r.optional_child("reason")) {
        rule.reason = o->string();
        // "unmapped": the output shows a rejection but not why (the alert may still tell).
        if (rule.reason != "unmapped" && !canonical_reasons().contains(rule.reason))
          o->fail("unknown reason \"" + rule.reason + "\"");
      }
      // A refusal of the side's own configuration says which kind (reasons.hpp).
      if (rule.outcome == "refused" && !refusal_reasons().contains(rule.reason))
        r.child("outcome").fail("a refusal needs a \"reason\": key_mismatch, weak_digest, "
                                "weak_key, unsupported_key or unsupported_option");
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

int alert_by_name(const std::string& name) {
  for (int d = 0; d < 256; ++d)
    if (wire::alert_name(d) == name)
      return d;
  return -1;
}

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
  if (when == "permissive")
    return c.permissive;
  if (when == "server_name")
    return !c.server_name.empty();
  if (when == "server_name_ip")
    return is_ip_literal(c.server_name);
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

} // namespace harness::cli_peer
