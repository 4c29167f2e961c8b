// Flow assertions: matching "C: ClientHello"-style steps against a wire trace.
//
// What the matcher ignores, so one flow holds across stacks: ChangeCipherSpec in TLS 1.3 (sent
// or not for middlebox compatibility, RFC 8446 §D.4), NewSessionTicket (OpenSSL sends two in
// TLS 1.3, one in TLS 1.2 when tickets are on, others none), application data, close_notify
// and TCP closes — unless the current step names them. Everything else (every other handshake
// message, TLS 1.2 ChangeCipherSpec, every other alert, undecryptable and malformed records)
// must be matched by a step.
//
// A flight cut short: a side may reject a certificate as soon as the record that carries it has
// arrived, so its fatal alert can come before the rest of the other side's flight reached it
// (JSSE and botan tls_server write each handshake message as a record of its own; a stack that
// packs the flight into one record never shows it). The steps of a flight that follow its
// Certificate are therefore optional when the next event is the other side's fatal alert, and
// what of that flight still arrives after the alert is skipped like other leftovers of a dead
// connection; the steps up to and including the Certificate always count.
#include "harness/grading/flow_match.hpp"

#include <algorithm>
#include <optional>

namespace harness {
namespace {

using wire::Direction;
using Kind = FlowAtom::Kind;

bool matches(const FlowAtom& a, const FlowToken& t) {
  if (a.from != t.from)
    return false;
  switch (a.kind) {
  case Kind::alert:
    return t.kind == Kind::alert && (a.alerts.empty() || std::find(a.alerts.begin(), a.alerts.end(),
                                                                   t.name) != a.alerts.end());
  case Kind::close:
    return t.kind == Kind::close || t.kind == Kind::reset;
  case Kind::message:
  case Kind::other:
    return t.kind == a.kind && t.name == a.name;
  default:
    return t.kind == a.kind;
  }
}

bool matches(const FlowStep& s, const FlowToken& t) {
  return std::any_of(s.alternatives.begin(), s.alternatives.end(),
                     [&](const FlowAtom& a) { return matches(a, t); });
}

char side_letter(Direction d) {
  return d == Direction::client_to_server ? 'C' : 'S';
}

// The side that sends a step, when all its alternatives are that side's.
std::optional<Direction> sender(const FlowStep& s) {
  if (s.any || s.alternatives.empty())
    return std::nullopt;
  const Direction d = s.alternatives.front().from;
  for (const auto& a : s.alternatives)
    if (a.from != d)
      return std::nullopt;
  return d;
}

// For each step: it follows, in the same flight (consecutive steps of one sender), a step that
// sends a Certificate.
std::vector<bool> after_certificate(const Flow& flow) {
  std::vector<bool> out(flow.steps.size(), false);
  bool seen = false;
  for (std::size_t i = 0; i < flow.steps.size(); ++i) {
    const auto d = sender(flow.steps[i]);
    if (i > 0 && d != sender(flow.steps[i - 1]))
      seen = false;
    out[i] = seen && d.has_value();
    for (const auto& a : flow.steps[i].alternatives)
      if (a.kind == Kind::message && a.name == "Certificate")
        seen = true;
  }
  return out;
}

struct Matcher {
  const Flow& flow;
  const std::vector<FlowToken>& tokens;
  std::vector<char> failed; // (step, token) pairs already known not to lead to a match
  std::vector<bool> cut_short = after_certificate(flow);

  // Step i may be left out because the other side's fatal alert came first (see the top).
  bool skippable_before(std::size_t i, std::size_t j) const {
    if (!cut_short[i] || j >= tokens.size())
      return false;
    const FlowToken& t = tokens[j];
    return t.kind == Kind::alert && t.fatal && sender(flow.steps[i]) != t.from;
  }
  std::size_t best_token = 0, best_step = 0;
  bool have_best = false;

  void note(std::size_t step, std::size_t token) {
    if (!have_best || token > best_token || (token == best_token && step > best_step)) {
      best_token = token;
      best_step = step;
      have_best = true;
    }
  }

  bool run(std::size_t i, std::size_t j) {
    const std::size_t n = tokens.size();
    char& seen = failed[i * (n + 1) + j];
    if (seen)
      return false;
    bool ok = false;
    if (i == flow.steps.size()) {
      std::size_t k = j;
      while (k < n && tokens[k].ignorable)
        ++k;
      ok = k == n;
      if (!ok)
        note(i, k);
    } else {
      const FlowStep& step = flow.steps[i];
      if (step.any) {
        ok = run(i + 1, j) || (j < n && run(i, j + 1));
      } else {
        ok = (j < n && matches(step, tokens[j]) && run(i + 1, j + 1)) ||
             ((step.optional || skippable_before(i, j)) && run(i + 1, j)) ||
             (j < n && tokens[j].ignorable && run(i, j + 1));
        if (!ok && (j == n || (!tokens[j].ignorable && !matches(step, tokens[j]))))
          note(i, j);
      }
    }
    if (!ok)
      seen = 1;
    return ok;
  }
};

} // namespace

std::string to_string(const FlowToken& t) {
  std::string s(1, side_letter(t.from));
  s += ": ";
  switch (t.kind) {
  case Kind::alert:
    s += std::string("alert(") + (t.fatal ? "fatal " : "warning ") + t.name + ")";
    break;
  default:
    s += t.name;
  }
  return s;
}

std::vector<FlowToken> flow_tokens(const std::vector<wire::TraceEvent>& trace,
                                   const std::vector<WireEvent>& connection, bool tls13) {
  std::vector<FlowToken> out;
  std::size_t c = 0;
  auto add_connection_events_until = [&](std::optional<std::chrono::microseconds> before) {
    for (; c < connection.size(); ++c) {
      const WireEvent& w = connection[c];
      if (before && w.since_start >= *before)
        return;
      if (w.kind != WireEventKind::fin && w.kind != WireEventKind::reset)
        continue;
      FlowToken t;
      t.from = w.client_to_server ? Direction::client_to_server : Direction::server_to_client;
      t.kind = w.kind == WireEventKind::fin ? Kind::close : Kind::reset;
      t.name = w.kind == WireEventKind::fin ? "close" : "reset";
      t.ignorable = true;
      out.push_back(std::move(t));
    }
  };
  bool ccs_from[2] = {false, false};
  bool finished_from[2] = {false, false};
  bool fatal_seen = false;
  bool fatal_from[2] = {false, false};
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const wire::TraceEvent& e = trace[i];
    const int side = e.direction == Direction::client_to_server ? 0 : 1;
    // A FIN or RST recorded strictly before the chunk that completed this event came first.
    add_connection_events_until(e.time);
    FlowToken t;
    t.from = e.direction;
    t.trace_index = i;
    t.name = e.name;
    switch (e.kind) {
    case wire::EventKind::handshake:
      t.kind = Kind::message;
      t.ignorable = e.name == "NewSessionTicket";
      break;
    case wire::EventKind::change_cipher_spec:
      t.kind = Kind::change_cipher_spec;
      t.ignorable = tls13;
      break;
    case wire::EventKind::alert:
      t.kind = Kind::alert;
      t.name = e.alert_description ? wire::alert_name(*e.alert_description) : e.name;
      t.fatal = e.alert_level == 2;
      t.ignorable = e.alert_description == 0; // close_notify
      break;
    case wire::EventKind::application_data:
      t.kind = Kind::application_data;
      t.ignorable = true;
      break;
    case wire::EventKind::encrypted:
      if (e.name == "ApplicationData") {
        // TLS 1.2 application data keeps its real outer type: it is application data, unread.
        t.kind = Kind::application_data;
        t.ignorable = true;
      } else if (!tls13 && e.name == "EncryptedHandshakeMessage" && ccs_from[side] &&
                 !finished_from[side]) {
        // TLS 1.2: the first handshake message after a side's ChangeCipherSpec is its Finished
        // (RFC 5246 §7.4.9), whether or not we hold the keys to read it.
        t.kind = Kind::message;
        t.name = "Finished";
      } else {
        // After a fatal alert the connection is dead (RFC 8446 §6.2); what the other side still
        // had in flight under keys we lack says nothing about the flow.
        t.kind = Kind::encrypted;
        t.ignorable = fatal_seen;
        t.name = "encrypted (" + e.name + ")";
      }
      break;
    case wire::EventKind::heartbeat:
    case wire::EventKind::sslv2_client_hello:
      t.kind = Kind::other;
      break;
    case wire::EventKind::malformed:
      t.kind = Kind::malformed;
      t.name = "malformed (" + e.name + (e.detail.empty() ? "" : ": " + e.detail) + ")";
      break;
    }
    // The rest of a flight the other side's fatal alert overtook: written before that side read
    // the alert, it says nothing about the flow (a step that names it still matches it).
    if (fatal_from[1 - side] && (t.kind == Kind::message || t.kind == Kind::change_cipher_spec))
      t.ignorable = true;
    if (t.kind == Kind::change_cipher_spec)
      ccs_from[side] = true;
    if (t.kind == Kind::message && t.name == "Finished")
      finished_from[side] = true;
    if (t.kind == Kind::alert && t.fatal) {
      fatal_seen = true;
      fatal_from[side] = true;
    }
    out.push_back(std::move(t));
  }
  add_connection_events_until(std::nullopt);
  return out;
}

FlowCheck check_flow(const Flow& flow, const std::vector<FlowToken>& tokens) {
  Matcher m{flow, tokens, std::vector<char>((flow.steps.size() + 1) * (tokens.size() + 1), 0)};
  FlowCheck r;
  if (m.run(0, 0)) {
    r.result = FlowResult::matched;
    r.detail = "flow matched (" + std::to_string(flow.steps.size()) + " steps)";
    return r;
  }
  r.step = m.best_step;
  if (m.best_token < tokens.size())
    r.found = tokens[m.best_token];
  const std::string found =
      !r.found
          ? "the trace ended"
          : "the trace had \"" + to_string(*r.found) + "\"" +
                (r.found->trace_index ? " (trace[" + std::to_string(*r.found->trace_index) + "])"
                                      : std::string());
  if (r.step < flow.steps.size())
    r.detail = "flow step " + std::to_string(r.step + 1) + " expected \"" +
               flow.steps[r.step].text + "\", " + found;
  else
    r.detail = "flow ended after step " + std::to_string(flow.steps.size()) + ", but " + found;
  return r;
}

namespace {

// The flow's steps for one side's events only (steps of the other side left out, steps that
// offered either side's event made optional), and that side's tokens.
std::pair<Flow, std::vector<FlowToken>> project(const Flow& flow,
                                                const std::vector<FlowToken>& tokens, Direction d) {
  Flow projected;
  for (const auto& step : flow.steps) {
    FlowStep p = step;
    if (!step.any) {
      std::erase_if(p.alternatives, [d](const FlowAtom& a) { return a.from != d; });
      if (p.alternatives.empty())
        continue;
      // A step that offered the other side's event too may now be skipped.
      p.optional = step.optional || p.alternatives.size() != step.alternatives.size();
    }
    projected.steps.push_back(std::move(p));
  }
  std::vector<FlowToken> own;
  std::copy_if(tokens.begin(), tokens.end(), std::back_inserter(own),
               [d](const FlowToken& t) { return t.from == d; });
  return {std::move(projected), std::move(own)};
}

// A mismatch at a token of the trace (not at its end): no way through the flow consumed it.
bool differs_within(const Flow& flow, const std::vector<FlowToken>& tokens) {
  const FlowCheck check = check_flow(flow, tokens);
  return check.result != FlowResult::matched && check.found.has_value();
}

} // namespace

bool flow_matches_per_direction(const Flow& flow, const std::vector<FlowToken>& tokens) {
  for (const auto d : {Direction::client_to_server, Direction::server_to_client}) {
    const auto [projected, own] = project(flow, tokens, d);
    if (check_flow(projected, own).result != FlowResult::matched)
      return false;
  }
  return true;
}

bool flow_prefix_cannot_match(const Flow& flow, const std::vector<FlowToken>& prefix) {
  if (!differs_within(flow, prefix))
    return false;
  for (const auto d : {Direction::client_to_server, Direction::server_to_client}) {
    const auto [projected, own] = project(flow, prefix, d);
    if (differs_within(projected, own))
      return true;
  }
  return false;
}

} // namespace harness
