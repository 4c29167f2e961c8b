// Matching a scenario's `expect.flow` (model/flow.hpp) against a case's wire trace and the relay's
// connection events.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "harness/model/flow.hpp"
#include "harness/wire/relay.hpp"
#include "harness/wire/trace.hpp"

namespace harness {

// What the matcher sees of one trace or connection event, in wire order.
struct FlowToken {
  wire::Direction from = wire::Direction::client_to_server;
  FlowAtom::Kind kind = FlowAtom::Kind::invalid;
  std::string name;       // message name, alert description, "close", "reset", …
  bool fatal = false;     // alerts
  bool ignorable = false; // skipped when the current step does not name it (see flow.cpp)
  std::optional<std::size_t> trace_index; // position in the case's trace (none: a TCP event)
};
[[nodiscard]] std::string to_string(const FlowToken& t); // "S: alert(fatal unknown_ca)", "C: close"

// The trace's events and the relay's FIN/RST events merged in wire order and classified.
// `tls13`: ChangeCipherSpec is then middlebox compatibility (RFC 8446 §D.4) and ignorable.
[[nodiscard]] std::vector<FlowToken> flow_tokens(const std::vector<wire::TraceEvent>& trace,
                                                 const std::vector<WireEvent>& connection,
                                                 bool tls13);

enum class FlowResult { matched, mismatch };
struct FlowCheck {
  FlowResult result = FlowResult::mismatch;
  // mismatch: the first differing step (0-based; steps.size() when events were left over), the
  // event found there (nullopt: the trace ended) and a one-line explanation.
  std::size_t step = 0;
  std::optional<FlowToken> found;
  std::string detail;
};

// Matches the whole token list against the flow, skipping ignorable tokens the current step does
// not name. The mismatch reported is the one that got furthest into the trace.
[[nodiscard]] FlowCheck check_flow(const Flow& flow, const std::vector<FlowToken>& tokens);

// Each side's events against the flow's steps for that side, ignoring how the two directions
// interleave: both sides write concurrently, so a client's alert can overtake the rest of the
// server's flight on the wire (a JSSE server writes ServerKeyExchange after its Certificate as a
// record of its own). The order within each direction is still the flow's.
[[nodiscard]] bool flow_matches_per_direction(const Flow& flow,
                                              const std::vector<FlowToken>& tokens);

// True when no trace that starts with `prefix` can match the flow, in wire order or per
// direction: a message in the prefix itself differs, so nothing that follows it can change the
// verdict (e.g. a plaintext ClientKeyExchange where the flow has the client's alert, before the
// records nobody could decrypt). False when the prefix could still begin a match.
[[nodiscard]] bool flow_prefix_cannot_match(const Flow& flow, const std::vector<FlowToken>& prefix);

} // namespace harness
