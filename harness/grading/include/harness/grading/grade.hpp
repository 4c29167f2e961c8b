// Grading: what both sides did, against what the scenario expects.
#pragma once

#include <string>
#include <vector>

#include "harness/model/observation.hpp"
#include "harness/model/scenario.hpp"
#include "harness/model/verdict.hpp"
#include "harness/wire/relay.hpp"
#include "harness/wire/trace.hpp"

namespace harness {

// `trace` (the case's decoded wire, when there is one) names the first fatal alert and its
// sender; without it the sides' own records do.
[[nodiscard]] Verdict grade_case(const Scenario& scenario, const SideObservation& client,
                                 const SideObservation& server,
                                 const std::vector<wire::TraceEvent>* trace = nullptr);

// Checks the scenario's flow for `version` (if any) against the case's trace and the relay's
// FIN/RST events, after grade_case. A mismatch turns pass or wrong_reason into fail and puts the
// first differing step in front of the detail. Not checked (a note in `flow` and the detail,
// never a different grade): no trace (`trace` null; `note` says why), records that could not be
// decrypted, a recording cut short (`complete` false) that ended before the flow did, and cases
// graded not_applicable, timeout or harness_error.
void grade_flow(const Scenario& s, TlsVersion version, const std::vector<wire::TraceEvent>* trace,
                const std::vector<WireEvent>& connection, bool complete, const std::string& note,
                Verdict& v);

} // namespace harness
