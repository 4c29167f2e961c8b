// Reconciliation rules: the wire and the resource outrank what a side prints about itself.
#include "harness/grading/reconcile.hpp"

#include <algorithm>

#include "harness/model/reasons.hpp"
#include "harness/model/resource.hpp"

namespace harness {
namespace {

using wire::Direction;
using wire::EventKind;
using wire::TraceEvent;

Direction direction_from(Side s) {
  return s == Side::client ? Direction::client_to_server : Direction::server_to_client;
}

// The decoder's preview of a record's plaintext is quoted: "\"HTTP/1.0 200 OK\\r\\n…\"".
std::string_view preview_text(const TraceEvent& e) {
  std::string_view d = e.detail;
  if (d.starts_with('"'))
    d.remove_prefix(1);
  return d;
}

// The first fatal alert of the connection and who sent it: the wire when there is one (plaintext or
// decrypted), else the sides' own records (the client's first, as it cannot tell order).
struct FirstAlert {
  Side from = Side::invalid;
  int description = 0;
};
std::optional<FirstAlert> first_fatal_alert(const SideObservation& client,
                                            const SideObservation& server,
                                            const std::vector<TraceEvent>* trace) {
  if (trace != nullptr)
    for (const auto& e : *trace)
      if (e.kind == EventKind::alert && e.alert_level == 2 && e.alert_description &&
          *e.alert_description != 0)
        return FirstAlert{e.direction == Direction::client_to_server ? Side::client : Side::server,
                          *e.alert_description};
  for (auto [o, side] : {std::pair{&client, Side::client}, std::pair{&server, Side::server}})
    for (const auto& a : o->alerts)
      if (a.sent && a.fatal && a.description != 0)
        return FirstAlert{side, a.description};
  return std::nullopt;
}

// The first fatal alert `side` sent: on the wire, else by its own record.
std::optional<int> fatal_alert_sent(const SideObservation& o, Side side,
                                    const std::vector<TraceEvent>* trace) {
  if (trace != nullptr)
    for (const auto& e : *trace)
      if (e.kind == EventKind::alert && e.direction == direction_from(side) && e.alert_level == 2 &&
          e.alert_description)
        return *e.alert_description;
  for (const auto& a : o.alerts)
    if (a.sent && a.fatal && a.description != 0)
      return a.description;
  return std::nullopt;
}

// A reason the side's own output or verify error gave (not one read off an alert).
bool own_reason(const SideObservation& o) {
  return (o.reason_source == ReasonSource::output ||
          o.reason_source == ReasonSource::verify_error) &&
         !o.reason.empty() && o.reason != "unmapped";
}

// Where a side that sent a fatal alert stopped: after its own Finished it was reading (the
// request or the response), before it the handshake.
Phase phase_of_alert(Side side, const std::vector<TraceEvent>* trace) {
  if (trace == nullptr)
    return Phase::handshake;
  bool finished = false;
  for (const auto& e : *trace) {
    if (e.direction != direction_from(side))
      continue;
    if (e.kind == EventKind::handshake && e.name == "Finished")
      finished = true;
    if (e.kind == EventKind::alert && e.alert_level == 2)
      break;
  }
  return finished ? Phase::first_read : Phase::handshake;
}

std::string claim_text(const SideObservation& o) {
  std::string s = o.outcome == Outcome::rejected  ? "claimed a rejection"
                  : o.outcome == Outcome::timeout ? "timed out"
                                                  : "reported an error";
  std::string why = o.reason;
  if (o.verify_error)
    why += (why.empty() ? "" : ", ") + ("verify error " + std::to_string(*o.verify_error));
  return why.empty() ? s : s + " (" + why + ")";
}

void overrule(SideObservation& o, bool conflict, std::string note) {
  o.overruled = OverruledClaim{o.outcome, o.reason, o.reason_source, conflict, std::move(note)};
}

} // namespace

bool carries_resource(const TraceEvent& e, bool server_echoes) {
  if (e.kind != EventKind::application_data || e.direction != Direction::server_to_client)
    return false;
  return shows_resource(preview_text(e), server_echoes);
}

ResourceDelivery reconcile(SideObservation& client, SideObservation& server,
                           const std::vector<TraceEvent>* trace, bool server_echoes,
                           const AlertMeanings& meanings) {
  ResourceDelivery d;
  d.served = server.resource;
  d.received = client.resource;
  if (trace != nullptr) {
    bool unreadable = false;
    for (const auto& e : *trace) {
      if (e.direction != Direction::server_to_client)
        continue;
      if (carries_resource(e, server_echoes)) {
        d.on_wire = true;
        break;
      }
      if (e.kind == EventKind::encrypted)
        unreadable = true;
      else if (e.kind == EventKind::application_data)
        d.on_wire = false;
    }
    if (unreadable && d.on_wire == false)
      d.on_wire.reset(); // what we could read did not carry it; what we could not might have
    bool client_unreadable = false;
    d.requested = false;
    for (const auto& e : *trace)
      if (e.direction == Direction::client_to_server && e.kind == EventKind::application_data)
        d.requested = true;
      else if (e.direction == Direction::client_to_server && e.kind == EventKind::encrypted)
        client_unreadable = true;
    if (client_unreadable && d.requested == false)
      d.requested.reset();
  }
  d.delivered = d.served || d.received || d.on_wire == true;
  const std::string what = server_echoes ? "the echo" : "the resource";
  for (const auto& [fact, text] : {std::pair{d.served, "the server sent " + what},
                                   std::pair{d.received, "the client received " + what},
                                   std::pair{d.on_wire == true, what + " crossed the wire"}})
    if (fact)
      d.evidence += (d.evidence.empty() ? "" : "; ") + text;
  if (!d.delivered)
    d.evidence = "no side reports " + what + (d.on_wire == false ? ", nor does the wire" : "");

  const std::optional<FirstAlert> first = first_fatal_alert(client, server, trace);
  for (auto [o, side] : {std::pair{&client, Side::client}, std::pair{&server, Side::server}}) {
    const AlertReasons* own_meanings = side == Side::client ? meanings.client : meanings.server;
    const AlertReasons* peer_meanings = side == Side::client ? meanings.server : meanings.client;
    // A server that answered no request (it read the client's close as an empty one) proves
    // nothing of the client: the client went on only if it got the resource or asked for it.
    const bool went_on =
        d.delivered && (side == Side::server || d.received || d.requested != false);
    // Rule 1: the resource decides "accepted".
    if (went_on && (o->outcome == Outcome::rejected || o->outcome == Outcome::error)) {
      const bool claimed_rejection = o->outcome == Outcome::rejected;
      overrule(*o, claimed_rejection,
               claim_text(*o) + (claimed_rejection ? " but continued: " : " after the exchange: ") +
                   d.evidence);
      o->outcome = Outcome::completed;
      o->phase = Phase::done;
      o->reason.clear();
      o->reason_source = ReasonSource::none;
      continue;
    }
    if (went_on || o->outcome == Outcome::refused)
      continue;
    const auto sent = fatal_alert_sent(*o, side, trace);
    // Rule 2: a claimed completion with a fatal alert sent is a rejection, and a conflict.
    if (o->outcome == Outcome::completed && sent) {
      overrule(*o, true,
               "claimed completion but sent a fatal " + wire::alert_name(*sent) + " alert (" +
                   d.evidence + ")");
      o->outcome = Outcome::rejected;
      o->reason = reason_for_alert(*sent, own_meanings);
      o->reason_source = ReasonSource::alert;
      o->phase = phase_of_alert(side, trace);
      continue;
    }
    // Rule 3: the side that sent the connection's first fatal alert rejected, whatever it printed
    // of itself; its reason stays its own when its output or verify error explained it.
    if ((o->outcome == Outcome::error || o->outcome == Outcome::timeout) && first &&
        first->from == side) {
      overrule(*o, false,
               claim_text(*o) + " but sent the first fatal alert, " +
                   wire::alert_name(first->description));
      o->outcome = Outcome::rejected;
      o->phase = phase_of_alert(side, trace);
      if (!own_reason(*o)) {
        o->reason = reason_for_alert(first->description, own_meanings);
        o->reason_source = ReasonSource::alert;
      }
      continue;
    }
    // Rule 4: a rejection its output did not explain is explained by the alert it sent.
    if (o->outcome == Outcome::rejected && !own_reason(*o) && sent) {
      o->reason = reason_for_alert(*sent, own_meanings);
      o->reason_source = ReasonSource::alert;
      continue;
    }
    // Rule 5: a side that failed because its peer refused: the peer's alert says why, read with
    // the peer's own meaning of it.
    if (o->outcome == Outcome::error && !own_reason(*o) && first && first->from != side) {
      o->reason = reason_for_alert(first->description, peer_meanings);
      o->reason_source = ReasonSource::peer_alert;
    }
  }
  return d;
}

std::string overruled_notes(const SideObservation& client, const SideObservation& server) {
  std::string out;
  for (const auto& [o, name] : {std::pair{&client, "client"}, std::pair{&server, "server"}})
    if (o->overruled)
      out += (out.empty() ? "" : "; ") + std::string(name) + ": " + o->overruled->note;
  return out;
}

} // namespace harness
