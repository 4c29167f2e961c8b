// Grading: what both sides did, against what the scenario expects.
#pragma once

#include <optional>
#include <string>

#include "harness/observation.hpp"
#include "harness/scenario.hpp"

namespace harness {

// expected_failure / unexpected_pass are given by an expectations file (expectations.hpp), never
// by grade_case: the case's own grade stays in Verdict::original.
enum class Grade {
  invalid,
  pass,
  wrong_reason,
  fail,
  not_applicable,
  timeout,
  harness_error,
  expected_failure,
  unexpected_pass
};
[[nodiscard]] std::string_view to_string(Grade g);

struct Verdict {
  Grade grade = Grade::invalid;
  std::string reason;              // the case's canonical reason: why the rejecting side refused
  std::optional<Side> rejected_by; // who refused, if anyone did
  std::string alert;               // the fatal alert that ended it (name), if seen
  std::optional<Side> alert_from;  // who sent it
  std::string detail;              // one line for people: what differed from the expectation
  // Set when an expectations entry matched: the grade grade_case gave, the entry's reason, and
  // where the entry is ("FILE#/entries/3").
  std::optional<Grade> original;
  std::string expectation;
  std::string expectation_ref;
};

[[nodiscard]] Verdict grade_case(const Scenario& scenario, const SideObservation& client,
                                 const SideObservation& server);

} // namespace harness
