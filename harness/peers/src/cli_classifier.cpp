// Classifying a peer's output: every line against the rules that apply to this side and case;
// the first rejection decides, the resource and the handshake patterns tell how far it got.
#include "cli_classifier.hpp"

#include <algorithm>
#include <sstream>

#include "harness/model/reasons.hpp"
#include "harness/model/resource.hpp"

namespace harness::cli_peer {
namespace {

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

} // namespace

SideObservation classify(const Definition& d, const RoleDef& role, bool is_server,
                         const TlsConfig& config, const ProcessResult& r) {
  SideObservation o;
  o.peer = d.info.name;
  o.exit_code = r.exit_code;
  o.elapsed = r.elapsed;
  const std::string text = r.out + "\n" + r.err;
  std::string rejected_reason, error_reason, phase;
  ReasonSource rejected_source = ReasonSource::none;
  std::string refused_reason; // the side refused its own configuration (a "refused" rule)
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
      if (rule.outcome == "refused" && refused_reason.empty())
        refused_reason = rule.reason;
      if (rule.outcome == "rejected" && !rejected) {
        rejected = true;
        rejected_reason = !rule.reason.empty() ? rule.reason
                          : o.verify_error ? std::string(reason_for_verify_error(*o.verify_error))
                                           : "unmapped";
        rejected_source = !rule.reason.empty() ? ReasonSource::output
                          : o.verify_error     ? ReasonSource::verify_error
                                               : ReasonSource::none;
        if (rejected_reason == "unmapped")
          rejected_source = ReasonSource::none;
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
  if (!refused_reason.empty()) {
    o.outcome = Outcome::refused; // before anything else: nothing else could happen
    o.phase = Phase::setup;
    o.reason = refused_reason;
    o.reason_source = ReasonSource::output;
  } else if (r.timed_out) {
    o.outcome = Outcome::timeout;
    o.phase = handshake_done ? Phase::first_read : Phase::handshake;
  } else if (rejected) {
    o.outcome = Outcome::rejected;
    o.reason = rejected_reason;
    o.reason_source = rejected_source;
    o.phase = Phase::handshake;
  } else if (completed && !errored) {
    o.outcome = Outcome::completed;
    o.phase = Phase::done;
  } else {
    o.outcome = Outcome::error;
    // Why the peer says it failed: what the fatal alert it received means, if anything.
    for (const auto& a : o.alerts)
      if (!a.sent && a.fatal && a.description != 0) {
        o.reason = reason_for_alert(a.description);
        o.reason_source = ReasonSource::peer_alert;
        break;
      }
    if (o.reason.empty()) {
      o.reason = error_reason.empty() ? "unmapped" : error_reason;
      o.reason_source = error_reason.empty() ? ReasonSource::none : ReasonSource::output;
    }
    o.phase = phase == "tcp" ? Phase::tcp : handshake_done ? Phase::first_read : Phase::handshake;
    if (o.error_text.empty()) {
      // Unknown failure: keep the last lines as the raw evidence, never guess.
      const std::string& src = r.err.empty() ? r.out : r.err;
      o.error_text = src.size() > 600 ? src.substr(src.size() - 600) : src;
    }
  }
  return o;
}

} // namespace harness::cli_peer
