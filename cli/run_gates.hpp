// What `tlsmatrix run` checks besides the verdicts: an expectations file and a baseline.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "harness/grading/expectations.hpp"
#include "harness/results/baseline.hpp"

namespace cli {

struct GateArgs {
  std::string expectations = TLSMATRIX_DEFAULT_EXPECTATIONS;
  bool no_expectations = false;
  bool strict = false;
  std::string baseline;
  bool fail_on_change = false;
  std::string write_baseline;
};

// Adds --expectations, --no-expectations, --strict, --baseline, --fail-on-change,
// --write-baseline.
void add_gate_options(CLI::App& run, GateArgs& g);

struct Gates {
  std::optional<harness::Expectations> expectations;
  std::optional<harness::RunCells> baseline;
};

// Reads both files before the run starts, so bad input costs nothing.
[[nodiscard]] Gates load_gates(const GateArgs& g);

// After the run: records the expectations in results.json's "expectations".
void note_expectations(const Gates& gates, const GateArgs& g, nlohmann::ordered_json& results);

// After results.json is written: the unexpected passes, the baseline diff (printed unless quiet;
// a change is printed always) and --write-baseline.
// `in_scope` says which baseline cells this run tried. Returns whether the gate failed (a change
// under --fail-on-change).
[[nodiscard]] bool finish_gates(const Gates& gates, const GateArgs& g,
                                const nlohmann::ordered_json& results, const std::string& origin,
                                const std::function<bool(const std::string&)>& in_scope,
                                bool quiet);

} // namespace cli
