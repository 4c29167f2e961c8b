// Flow assertions: parsing "C: ClientHello"-style steps (what a scenario's `expect.flow` says).
#include "harness/model/flow.hpp"

#include <algorithm>
#include <set>

namespace harness {
namespace {

using wire::Direction;
using Kind = FlowAtom::Kind;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

const std::set<std::string>& handshake_names() {
  static const std::set<std::string> names = [] {
    std::set<std::string> n;
    for (int t = 0; t < 256; ++t)
      if (auto name = wire::handshake_name(t); !name.starts_with("HandshakeType("))
        n.insert(name);
    return n;
  }();
  return names;
}

std::optional<FlowAtom> parse_atom(std::string_view text, std::string& error) {
  text = trim(text);
  FlowAtom a;
  const auto colon = text.find(':');
  const auto side =
      colon == std::string_view::npos ? std::string_view() : trim(text.substr(0, colon));
  if (side == "C") {
    a.from = Direction::client_to_server;
  } else if (side == "S") {
    a.from = Direction::server_to_client;
  } else {
    error = "\"" + std::string(text) + "\": expected \"C: <message>\" or \"S: <message>\"";
    return std::nullopt;
  }
  const std::string what(trim(text.substr(colon + 1)));
  if (what.starts_with("alert")) {
    a.kind = Kind::alert;
    std::string_view rest = trim(std::string_view(what).substr(5));
    if (rest.empty())
      return a;
    if (rest.front() != '(' || rest.back() != ')') {
      error = "\"" + what + "\": expected alert or alert(name, …)";
      return std::nullopt;
    }
    rest = rest.substr(1, rest.size() - 2);
    while (true) {
      const auto comma = rest.find(',');
      const std::string name(trim(rest.substr(0, comma)));
      if (!alert_names().contains(name)) {
        error = unknown_alert_message(name);
        return std::nullopt;
      }
      a.alerts.push_back(name);
      if (comma == std::string_view::npos)
        break;
      rest = rest.substr(comma + 1);
    }
    return a;
  }
  if (what == "ChangeCipherSpec")
    a.kind = Kind::change_cipher_spec;
  else if (what == "ApplicationData")
    a.kind = Kind::application_data;
  else if (what == "close")
    a.kind = Kind::close;
  else if (what == "reset")
    a.kind = Kind::reset;
  else if (what == "encrypted")
    a.kind = Kind::encrypted;
  else if (what == "malformed")
    a.kind = Kind::malformed;
  else if (what == "Heartbeat" || what == "SSLv2ClientHello")
    a.kind = Kind::other;
  else if (handshake_names().contains(what))
    a.kind = Kind::message;
  else {
    error = "unknown message \"" + what +
            "\" (expected a handshake message such as ClientHello or Finished, ChangeCipherSpec, "
            "alert(name), ApplicationData, close, reset, encrypted, malformed)";
    return std::nullopt;
  }
  a.name = what;
  return a;
}

} // namespace

const std::set<std::string>& alert_names() {
  static const std::set<std::string> names = [] {
    std::set<std::string> n;
    for (int d = 0; d < 256; ++d)
      if (auto name = wire::alert_name(d); !name.starts_with("alert_"))
        n.insert(name);
    return n;
  }();
  return names;
}

std::string unknown_alert_message(const std::string& name) {
  std::string list;
  for (const auto& k : alert_names())
    list += (list.empty() ? "" : ", ") + k;
  return "unknown alert \"" + name + "\" (expected one of " + list + ")";
}

std::optional<FlowStep> parse_flow_step(std::string_view text, std::string& error) {
  FlowStep s;
  s.text = std::string(trim(text));
  std::string_view body = s.text;
  if (body == "...") {
    s.any = true;
    return s;
  }
  if (body.ends_with('?')) {
    s.optional = true;
    body.remove_suffix(1);
  }
  while (true) {
    const auto bar = body.find('|');
    const auto part = trim(body.substr(0, bar));
    if (part.empty()) {
      error = "\"" + s.text + "\": empty alternative";
      return std::nullopt;
    }
    auto atom = parse_atom(part, error);
    if (!atom)
      return std::nullopt;
    s.alternatives.push_back(std::move(*atom));
    if (bar == std::string_view::npos)
      break;
    body = body.substr(bar + 1);
  }
  return s;
}

} // namespace harness
