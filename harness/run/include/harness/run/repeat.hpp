// --repeat N: every case runs N times; runs that disagree make the cell `flaky` with the
// distribution of what was seen, instead of letting one run flip the verdict.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/run/runner.hpp"

namespace harness {

// What results.json keeps of every run of a repeated case.
struct RunRecord {
  Grade grade = Grade::invalid;
  std::string reason;
  std::string alert;
  std::string detail;
  double elapsed_ms = 0;
  std::string dir; // the run's logs
};

struct Aggregated {
  std::vector<CaseResult> cases;                      // one per case id, in plan order
  std::map<std::string, std::vector<RunRecord>> runs; // by case id, in run order
};

// Groups `all` (every run of every case, in run order) by case id. Runs agree when their grade,
// reason and alert are equal; then the case is its first run. Otherwise the case is its first run
// that did not pass (the evidence), graded `flaky`, its detail the distribution
// ("runs disagree: pass 2/3, timeout 1/3") followed by that run's detail.
[[nodiscard]] Aggregated aggregate_runs(const std::vector<CaseSpec>& plan,
                                        const std::vector<CaseResult>& all);

// "pass 2/3, timeout 1/3": each distinct outcome with its share, most frequent first (ties in
// order of first appearance). An outcome is the grade, plus the reason and alert when runs with
// the same grade differ in them ("wrong_reason expired/alert certificate_expired 1/2").
[[nodiscard]] std::string distribution(const std::vector<RunRecord>& runs);

// Adds "runs": [{grade, reason, alert, detail, elapsed_ms, logs}] and "distribution" to every
// case of `results` that ran more than once.
void annotate_runs(nlohmann::ordered_json& results, const Aggregated& aggregated);

} // namespace harness
