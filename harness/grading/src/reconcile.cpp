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

// The first fatal alert `side` sent: on the wire (plaintext or decrypted), else by its own record.
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
  std::string s = o.outcome == Outcome::rejected ? "claimed a rejection" : "reported an error";
  std::string why = o.reason;
  if (o.verify_error)
    why += (why.empty() ? "" : ", ") + ("verify error " + std::to_string(*o.verify_error));
  return why.empty() ? s : s + " (" + why + ")";
}

void overrule(SideObservation& o, bool conflict, std::string note) {
  o.overruled = OverruledClaim{o.outcome, o.reason, conflict, std::move(note)};
}

} // namespace

bool carries_resource(const TraceEvent& e, bool server_echoes) {
  if (e.kind != EventKind::application_data || e.direction != Direction::server_to_client)
    return false;
  return shows_resource(preview_text(e), server_echoes);
}

ResourceDelivery reconcile(SideObservation& client, SideObservation& server,
                           const std::vector<TraceEvent>* trace, bool server_echoes) {
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

  for (auto [o, side] : {std::pair{&client, Side::client}, std::pair{&server, Side::server}}) {
    if (d.delivered && (o->outcome == Outcome::rejected || o->outcome == Outcome::error)) {
      const bool claimed_rejection = o->outcome == Outcome::rejected;
      overrule(*o, claimed_rejection,
               claim_text(*o) + (claimed_rejection ? " but continued: " : " after the exchange: ") +
                   d.evidence);
      o->outcome = Outcome::completed;
      o->phase = Phase::done;
      o->reason.clear();
      continue;
    }
    if (o->outcome != Outcome::completed || d.delivered)
      continue;
    if (const auto alert = fatal_alert_sent(*o, side, trace)) {
      overrule(*o, true,
               "claimed completion but sent a fatal " + wire::alert_name(*alert) + " alert (" +
                   d.evidence + ")");
      o->outcome = Outcome::rejected;
      o->reason = std::string(reason_for_alert(*alert));
      o->phase = phase_of_alert(side, trace);
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
