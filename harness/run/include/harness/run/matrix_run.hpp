// A whole matrix run around run_cases: the sanity gate first, then every case --repeat times,
// then aggregation. The case execution path itself stays in runner.cpp.
#pragma once

#include <atomic>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/run/repeat.hpp"
#include "harness/run/runner.hpp"
#include "harness/run/sanity.hpp"

namespace harness {

struct MatrixOptions {
  unsigned repeat = 1; // runs per case (>= 1)
  bool sanity = true;  // run the gate (needs the gate scenarios and the local peer)
  const std::vector<Scenario>* gate_scenarios = nullptr; // where the gate's scenarios come from
  const std::vector<Scenario>* gate_controls = nullptr;  // positive controls the gate adds
  Peer* local = nullptr;                                 // our endpoint, the gate's other side
};

struct MatrixRun {
  Aggregated aggregated;             // .cases: one result per planned case, plan order
  SanityPlan sanity;                 // checks evaluated (empty when disabled)
  nlohmann::ordered_json sanity_doc; // results.json's "sanity"
};

// Order: (1) the gate cases — those that are also planned count as the first run of that case;
// (2) round 1 of the remaining cases, then rounds 2..repeat of every case, each round with its
// own folder (<run_dir>/repeat-<r>, so runs of one case never share logs); cases of a peer that
// failed its gate are not run but reported adapter_broken. `progress` gets every finished run
// (and every adapter_broken case once) with a running done/total.
[[nodiscard]] MatrixRun run_matrix(const std::vector<CaseSpec>& plan, const PkiDir& pki,
                                   const RunOptions& options, const MatrixOptions& matrix,
                                   const std::atomic<bool>& stop, const ProgressFn& progress);

// Adds to a results.json document what a matrix run knows beyond results_json: every repeated
// case's runs and distribution, the sanity section and "repeat".
void annotate_matrix(nlohmann::ordered_json& results, const MatrixRun& run, unsigned repeat);

} // namespace harness
