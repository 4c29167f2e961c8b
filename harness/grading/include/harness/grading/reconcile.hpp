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

// Rules, in order, for each side (their effect is recorded in SideObservation::overruled):
//  1. The resource decides "accepted": when it was delivered (either side's record of it, or the
//     trace), a side that claimed a rejection or an error accepted, whatever it printed — a
//     claimed rejection is a conflict (advisory verification: "printed verify error 20 but
//     continued"). A timeout stays a timeout.
//  2. A fatal alert is a rejection: a side that claimed completion but sent a fatal alert on the
//     wire, with no resource delivered, rejected; the reason is the alert's. A conflict.
// Without a trace only the sides' records of the resource count.
[[nodiscard]] ResourceDelivery reconcile(SideObservation& client, SideObservation& server,
                                         const std::vector<wire::TraceEvent>* trace,
                                         bool server_echoes);

// The notes of both sides' overruled claims, "client: …; server: …" ("" when none).
[[nodiscard]] std::string overruled_notes(const SideObservation& client,
                                          const SideObservation& server);

} // namespace harness
