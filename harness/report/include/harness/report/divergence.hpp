// The divergence view: per scenario and TLS version, the stacks grouped by the behaviour they
// showed, in results.json and in the terminal summary (the grouping is report_model.cpp's).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace harness {

// [{"scenario", "tls", "agree": bool, "groups": [{"behaviour": text, "outcome": {"client",
// "server"}, "phase": {"client", "server"}, "alert", "alert_from", "reason", "stacks": [...],
// "cases": [ids]}]}] for every (scenario, version) with at least one case that ran
// (not_applicable cells are left out; expected failures are in: they are behaviour).
[[nodiscard]] nlohmann::ordered_json divergence_json(const nlohmann::ordered_json& results);

// Only the (scenario, version) pairs where stacks differ, a few lines each; "" when all agree.
[[nodiscard]] std::string render_divergence(const nlohmann::ordered_json& results);

} // namespace harness
