// Grading: what both sides did, against what the scenario expects.
#pragma once

#include <optional>
#include <string>

#include "harness/observation.hpp"
#include "harness/scenario.hpp"

namespace harness {

// flaky: a case run several times (--repeat) whose runs disagreed; adapter_broken: the peer's
// sanity gate failed, so its column says nothing about the stack (see sanity.hpp).
enum class Grade {
  invalid,
  pass,
  wrong_reason,
  fail,
  not_applicable,
  timeout,
  harness_error,
  flaky,
  adapter_broken
};
[[nodiscard]] std::string_view to_string(Grade g);

struct Verdict {
  Grade grade = Grade::invalid;
  std::string reason;              // the case's canonical reason: why the rejecting side refused
  std::optional<Side> rejected_by; // who refused, if anyone did
  std::string alert;               // the fatal alert that ended it (name), if seen
  std::optional<Side> alert_from;  // who sent it
  std::string detail;              // one line for people: what differed from the expectation
};

[[nodiscard]] Verdict grade_case(const Scenario& scenario, const SideObservation& client,
                                 const SideObservation& server);

} // namespace harness
