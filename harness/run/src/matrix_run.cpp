// The run's phases around run_cases: sanity gate, repeated rounds, aggregation.
#include "harness/run/matrix_run.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

namespace harness {

MatrixRun run_matrix(const std::vector<CaseSpec>& plan, const PkiDir& pki,
                     const RunOptions& options, const MatrixOptions& matrix,
                     const std::atomic<bool>& stop, const ProgressFn& progress) {
  MatrixRun out;
  const unsigned repeat = std::max(1u, matrix.repeat);
  std::set<std::string> planned;
  for (const auto& c : plan)
    planned.insert(c.id);

  std::vector<CaseResult> all; // every run, in run order
  std::size_t done = 0;
  std::size_t total = plan.size() * repeat;
  std::mutex mutex;
  auto forward = [&](const CaseResult& r, std::size_t, std::size_t) {
    std::lock_guard lock(mutex);
    ++done;
    if (progress)
      progress(r, done, total);
  };

  // (1) The gate.
  std::vector<CaseResult> gate_results;
  if (matrix.sanity && matrix.local && matrix.gate_scenarios) {
    static const std::vector<Scenario> no_controls;
    // Not a conditional expression: that would copy the controls into a temporary, and the gate's
    // cases point into them.
    const std::vector<Scenario>& controls =
        matrix.gate_controls != nullptr ? *matrix.gate_controls : no_controls;
    out.sanity = plan_sanity(plan, *matrix.gate_scenarios, *matrix.local, controls);
    for (const auto& c : out.sanity.cases)
      if (!planned.contains(c.id))
        ++total;
    gate_results = run_cases(out.sanity.cases, pki, options, stop, forward);
    std::map<std::string, const CaseResult*> by_id;
    for (const auto& r : gate_results)
      by_id[r.spec.id] = &r;
    evaluate_sanity(out.sanity, by_id);
    out.sanity_doc = sanity_json(out.sanity, true, by_id);
    for (const auto& r : gate_results)
      if (planned.contains(r.spec.id))
        all.push_back(r);
  } else {
    out.sanity_doc = {{"enabled", false}};
  }
  std::set<std::string> gate_ran;
  for (const auto& r : gate_results)
    gate_ran.insert(r.spec.id);

  // Cases of broken peers: one result each, nothing runs.
  std::vector<CaseSpec> runnable;
  std::vector<CaseResult> broken;
  for (const auto& c : plan) {
    // After Ctrl-C during the gate its verdicts are incomplete: nothing is called broken.
    if (auto b = stop ? std::nullopt : broken_result(c, out.sanity)) {
      broken.push_back(std::move(*b));
      continue;
    }
    runnable.push_back(c);
  }
  {
    // From here on the total is exact: the runs so far, one result per broken case, and the runs
    // still to come.
    std::lock_guard lock(mutex);
    total = done + broken.size();
    for (const auto& c : runnable)
      total += repeat - (gate_ran.contains(c.id) ? 1 : 0);
    for (const auto& b : broken) {
      ++done;
      if (progress)
        progress(b, done, total);
    }
  }
  std::erase_if(all, [&](const CaseResult& r) {
    return std::any_of(broken.begin(), broken.end(),
                       [&](const CaseResult& b) { return b.spec.id == r.spec.id; });
  });

  // (2) The rounds.
  for (unsigned round = 1; round <= repeat && !stop; ++round) {
    std::vector<CaseSpec> cases;
    for (const auto& c : runnable)
      if (round > 1 || !gate_ran.contains(c.id))
        cases.push_back(c);
    RunOptions o = options;
    if (round > 1)
      o.run_dir = options.run_dir / ("repeat-" + std::to_string(round));
    auto results = run_cases(cases, pki, o, stop, forward);
    all.insert(all.end(), std::make_move_iterator(results.begin()),
               std::make_move_iterator(results.end()));
  }
  all.insert(all.end(), broken.begin(), broken.end());
  out.aggregated = aggregate_runs(plan, all);
  return out;
}

void annotate_matrix(nlohmann::ordered_json& results, const MatrixRun& run, unsigned repeat) {
  annotate_runs(results, run.aggregated);
  results["repeat"] = std::max(1u, repeat);
  results["sanity"] = run.sanity_doc;
}

} // namespace harness
