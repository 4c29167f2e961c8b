// Verdicts: the grade of a case and why (grading/grade.hpp gives them).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "harness/model/observation.hpp"

namespace harness {

// refused: a side refused its own identity or configuration at setup (Outcome::refused) — the
// stack under test was never exercised; shown as "refused to present", not a failure.
// flaky: a case run several times (--repeat) whose runs disagreed; adapter_broken: the peer's
// sanity gate failed, so its column says nothing about the stack (see sanity.hpp).
// expected_failure / unexpected_pass are given by an expectations file (expectations.hpp), never
// by grade_case: the case's own grade stays in Verdict::original.
enum class Grade {
  invalid,
  pass,
  wrong_reason,
  fail,
  not_applicable,
  refused,
  timeout,
  harness_error,
  flaky,
  adapter_broken,
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
  // expect.flow: "" (the scenario has none for this version), "matched", "mismatch: <first
  // differing step>" or "not checked: <why>".
  std::string flow;
  // The grade from the outcomes alone, before the flow was checked (the sanity gate asks whether
  // an adapter accepts and refuses; a stack whose wire flow differs still passes it).
  Grade outcome_grade = Grade::invalid;
  // Set when an expectations entry matched: the grade grade_case gave, the entry's reason, and
  // where the entry is ("FILE#/entries/3").
  std::optional<Grade> original;
  std::string expectation;
  std::string expectation_ref;
};

} // namespace harness
