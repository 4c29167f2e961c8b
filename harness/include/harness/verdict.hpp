// Grading: what both sides did, against what the scenario expects.
#pragma once

#include <optional>
#include <string>

#include "harness/observation.hpp"
#include "harness/scenario.hpp"

namespace harness {

enum class Grade { invalid, pass, wrong_reason, fail, not_applicable, timeout, harness_error };
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
