// The grading rules. The client's handshake result alone is never the truth: in TLS 1.3 the
// client's handshake is done once it has sent its Finished, before the server has judged its
// certificate, so a rejection is attributed to the side that reported it, and the alert is taken
// from either.
#include "harness/grading/grade.hpp"

#include <algorithm>

#include "harness/grading/flow_match.hpp"
#include "harness/grading/reconcile.hpp"

namespace harness {
namespace {

std::string describe(const SideObservation& o) {
  std::string s(to_string(o.outcome));
  if (!o.reason.empty())
    s += " (" + o.reason + ")";
  s += " at " + std::string(to_string(o.phase));
  return s;
}

// The fatal alert that ended the connection and who sent it: the sender's own record first,
// then what the other side says it received.
// The connection's first fatal alert and its sender: the wire when it shows one (it knows the
// order; a side that does not print the alerts it sends, curl, is still heard), else the sides'
// own records — the sender's own first, then what the other side received.
void find_alert(const SideObservation& client, const SideObservation& server,
                const std::vector<wire::TraceEvent>* trace, Verdict& v) {
  if (trace != nullptr)
    for (const auto& e : *trace)
      if (e.kind == wire::EventKind::alert && e.alert_level == 2 && e.alert_description &&
          *e.alert_description != 0) {
        v.alert = wire::alert_name(*e.alert_description);
        v.alert_from =
            e.direction == wire::Direction::client_to_server ? Side::client : Side::server;
        return;
      }
  auto first = [](const SideObservation& o, bool sent) -> const AlertEvent* {
    for (const auto& a : o.alerts)
      if (a.sent == sent && a.fatal && a.description != 0)
        return &a;
    return nullptr;
  };
  if (const auto* a = first(client, true)) {
    v.alert = a->name();
    v.alert_from = Side::client;
  } else if (const auto* b = first(server, true)) {
    v.alert = b->name();
    v.alert_from = Side::server;
  } else if (const auto* c = first(server, false)) {
    v.alert = c->name();
    v.alert_from = Side::client;
  } else if (const auto* d = first(client, false)) {
    v.alert = d->name();
    v.alert_from = Side::server;
  }
}

} // namespace

namespace {

Verdict grade_outcomes(const Scenario& s, const SideObservation& client,
                       const SideObservation& server, const std::vector<wire::TraceEvent>* trace) {
  Verdict v;
  // A side that refused its own configuration: the other side was never exercised.
  for (const auto& [o, side] : {std::pair{&client, Side::client}, std::pair{&server, Side::server}})
    if (o->outcome == Outcome::refused) {
      v.grade = Grade::refused;
      v.reason = o->reason;
      std::string words = o->error_text.substr(0, o->error_text.find('\n'));
      v.detail = "the " + std::string(to_string(side)) + " (" + o->peer +
                 ") refused to present its configuration at setup (" + o->reason + ")" +
                 (words.empty() ? "" : ": " + words);
      return v;
    }
  find_alert(client, server, trace, v);
  const bool client_rejected = client.outcome == Outcome::rejected;
  const bool server_rejected = server.outcome == Outcome::rejected;
  if (client_rejected && server_rejected)
    v.rejected_by = s.expect.by.value_or(Side::client);
  else if (client_rejected)
    v.rejected_by = Side::client;
  else if (server_rejected)
    v.rejected_by = Side::server;
  if (v.rejected_by)
    v.reason = (*v.rejected_by == Side::client ? client : server).reason;

  const bool completed =
      client.outcome == Outcome::completed && server.outcome == Outcome::completed;
  // A server left waiting by a client that already failed is a consequence, not a timeout.
  const bool any_timeout =
      client.outcome == Outcome::timeout ||
      (server.outcome == Outcome::timeout && client.outcome == Outcome::completed);
  const std::string sides = "client " + describe(client) + "; server " + describe(server);

  if (s.expect.result == ExpectedResult::accepted) {
    if (completed) {
      v.grade = Grade::pass;
      v.detail = "accepted: both sides completed";
    } else if (v.rejected_by) {
      v.grade = Grade::fail;
      v.detail = "expected acceptance, but the " + std::string(to_string(*v.rejected_by)) +
                 " rejected (" + v.reason + "): " + sides;
    } else {
      v.grade = any_timeout ? Grade::timeout : Grade::fail;
      v.detail = "expected acceptance: " + sides;
    }
    return v;
  }

  const Side by = *s.expect.by;
  if (completed) {
    v.grade = Grade::fail;
    v.detail =
        "expected the " + std::string(to_string(by)) + " to reject, but both sides completed";
    return v;
  }
  if (!v.rejected_by) {
    v.grade = any_timeout ? Grade::timeout : Grade::fail;
    v.reason = (by == Side::client ? client : server).reason;
    v.detail = "no side reported a rejection: " + sides;
    return v;
  }
  if (*v.rejected_by != by) {
    v.grade = Grade::fail;
    v.detail = "rejected by the " + std::string(to_string(*v.rejected_by)) + " (" + v.reason +
               "), expected the " + std::string(to_string(by)) + ": " + sides;
    return v;
  }
  const bool reason_ok = std::find(s.expect.reasons.begin(), s.expect.reasons.end(), v.reason) !=
                         s.expect.reasons.end();
  if (!reason_ok) {
    v.grade = Grade::wrong_reason;
    std::string accepted;
    for (const auto& r : s.expect.reasons)
      accepted += (accepted.empty() ? "" : ", ") + r;
    v.detail = "rejected by the " + std::string(to_string(by)) + " for " + v.reason +
               ", expected " + accepted;
    return v;
  }
  if (!s.expect.alerts.empty() && !v.alert.empty() &&
      std::find(s.expect.alerts.begin(), s.expect.alerts.end(), v.alert) == s.expect.alerts.end()) {
    v.grade = Grade::wrong_reason;
    v.detail = "right reason (" + v.reason + ") but the alert was " + v.alert;
    return v;
  }
  v.grade = Grade::pass;
  v.detail = "rejected by the " + std::string(to_string(by)) + " (" + v.reason + ")" +
             (v.alert.empty() ? "" : ", alert " + v.alert);
  return v;
}

} // namespace

Verdict grade_case(const Scenario& s, const SideObservation& client, const SideObservation& server,
                   const std::vector<wire::TraceEvent>* trace) {
  Verdict v = grade_outcomes(s, client, server, trace);
  // A claim the evidence overruled is shown with the verdict it did not decide.
  if (const std::string notes = overruled_notes(client, server); !notes.empty())
    v.detail += " [overruled: " + notes + "]";
  return v;
}

void grade_flow(const Scenario& s, TlsVersion version, const std::vector<wire::TraceEvent>* trace,
                const std::vector<WireEvent>& connection, bool complete, const std::string& note,
                Verdict& v) {
  v.outcome_grade = v.grade;
  const Flow* flow = expected_flow(s, version);
  if (flow == nullptr)
    return;
  const auto not_checked = [&](const std::string& why) {
    v.flow = "not checked: " + why;
    v.detail += (v.detail.empty() ? "" : "; ") + ("flow " + v.flow);
  };
  if (v.grade == Grade::not_applicable || v.grade == Grade::timeout ||
      v.grade == Grade::harness_error || v.grade == Grade::refused) {
    v.flow = "not checked: the case is " + std::string(to_string(v.grade));
    return;
  }
  if (trace == nullptr)
    return not_checked("no trace" + (note.empty() ? "" : " (" + note + ")"));
  const auto tokens = flow_tokens(*trace, connection, version == TlsVersion::tls13);
  const FlowCheck check = check_flow(*flow, tokens);
  if (check.result == FlowResult::matched) {
    v.flow = "matched";
    return;
  }
  if (flow_matches_per_direction(*flow, tokens)) {
    v.flow = "matched (the directions interleaved differently: " + check.detail + ")";
    return;
  }
  // Stacks legitimately pick different alerts for the same refusal, and the
  // alert is already judged by expect.alerts: a flow whose shape holds and only an alert's name
  // differs is a wrong reason, not a wrong flow.
  Flow any_alert = *flow;
  for (auto& step : any_alert.steps)
    for (auto& atom : step.alternatives)
      if (atom.kind == FlowAtom::Kind::alert &&
          std::ranges::find(atom.alerts, "close_notify") == atom.alerts.end())
        atom.alerts.clear();
  const auto is_encrypted = [](const FlowToken& t) {
    return t.kind == FlowAtom::Kind::encrypted && !t.ignorable;
  };
  if (const auto encrypted = std::count_if(tokens.begin(), tokens.end(), is_encrypted)) {
    // What could not be decrypted may hold anything, unless the flow already broke before it: a
    // plaintext prefix that no match can start with (whatever its alerts' names) is a mismatch
    // for certain.
    const std::vector<FlowToken> plaintext(
        tokens.begin(), std::find_if(tokens.begin(), tokens.end(), is_encrypted));
    if (!flow_prefix_cannot_match(any_alert, plaintext))
      return not_checked(std::to_string(encrypted) +
                         " record(s) could not be decrypted (no key log for this connection); " +
                         check.detail);
  } else if (!complete && !check.found) {
    return not_checked("the recording was cut short" + (note.empty() ? "" : " (" + note + ")") +
                       "; " + check.detail);
  }
  if (check_flow(any_alert, tokens).result == FlowResult::matched ||
      flow_matches_per_direction(any_alert, tokens)) {
    v.flow = "alert differs: " + check.detail;
    // An alert the scenario's expect.alerts accepts was already judged there.
    const bool accepted_alert =
        std::ranges::find(s.expect.alerts, v.alert) != s.expect.alerts.end();
    if (v.grade == Grade::pass && !accepted_alert) {
      v.grade = Grade::wrong_reason;
      v.detail = check.detail + " [" + v.detail + "]";
    }
    return;
  }
  v.flow = "mismatch: " + check.detail;
  if (v.grade == Grade::pass || v.grade == Grade::wrong_reason) {
    v.grade = Grade::fail;
    v.detail = check.detail + " [" + v.detail + "]";
  } else {
    v.detail += "; " + check.detail;
  }
}

} // namespace harness
