// Reconciliation: each side's account of itself checked against the wire and the other side before
// grading. A log line is a claim; the wire and the protected resource are evidence.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/model/observation.hpp"
#include "harness/model/resource.hpp"
#include "harness/wire/trace.hpp"

namespace harness {

// How the resource shows in a server->client application-data preview ("HTTP/1.0 200 …", our
// marker, or, from a server that echoes, the request's first line).
[[nodiscard]] bool carries_resource(const wire::TraceEvent& e, bool server_echoes);

// What each side's stack means by the alerts it sends (PeerInfo::alert_reasons); null: the
// alerts' general meanings.
struct AlertMeanings {
  const AlertReasons* client = nullptr;
  const AlertReasons* server = nullptr;
};

// Rules, in order, for each side (their effect is recorded in SideObservation::overruled):
//  1. The resource decides "accepted": when it was delivered (either side's record of it, or the
//     trace), a side that claimed a rejection or an error accepted, whatever it printed — a
//     claimed rejection is a conflict (advisory verification: "printed verify error 20 but
//     continued"). A timeout stays a timeout.
//  2. A fatal alert is a rejection: a side that claimed completion but sent a fatal alert on the
//     wire, with no resource delivered, rejected; the reason is the alert's. A conflict.
//  3. The wire before the log: a side that reported an error or timed out but sent the
//     connection's first fatal alert, with no resource delivered, rejected. Its reason stays the
//     one its output or verify error gave; otherwise it is the alert's. Its phase is the trace's.
//  4. A rejection whose output did not say why takes the reason of the fatal alert it sent.
//  5. A side that failed because its peer refused, and did not say why itself, takes the reason of
//     the peer's fatal alert (reason_source peer_alert).
// Each reason read off an alert uses the sender's own meaning of it (`meanings`). A refusal at
// setup is left as it is. Without a trace, the sides' records of the resource and of the alerts
// they sent stand for the wire.
[[nodiscard]] ResourceDelivery reconcile(SideObservation& client, SideObservation& server,
                                         const std::vector<wire::TraceEvent>* trace,
                                         bool server_echoes, const AlertMeanings& meanings = {});

// The notes of both sides' overruled claims, "client: …; server: …" ("" when none).
[[nodiscard]] std::string overruled_notes(const SideObservation& client,
                                          const SideObservation& server);

} // namespace harness
