// Expectations files (BoGo-style known deviations): which non-passing cells are known, and why.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/case.hpp"

namespace harness {

// One entry. Globs (* and ?) over the parts of a case id "<scenario>/<tls>/<client>-><server>",
// each part one glob or a list of them (any may match); `peer` matches when the client or the
// server matches. `grades` and `reasons` (globs over the
// verdict's canonical reason) narrow which observed failures the entry covers; empty: any.
struct ExpectationEntry {
  std::vector<std::string> scenario{"*"}, tls{"*"}, client{"*"}, server{"*"}, peer{"*"};
  std::vector<std::string> grades;
  std::vector<std::string> reasons;
  std::string reason; // why this deviation is known (mandatory)
  bool racy = false;  // the deviation depends on timing: a pass is then just a pass
  // "alerts", "flow": the deviation shows only in these checks of a scenario, so the entry covers
  // only cells whose scenario has one of them (expect.alerts, expect.flow for the cell's version).
  std::vector<std::string> checks;
  std::string ref; // "FILE#/entries/3", for messages and results.json
};

struct Expectations {
  std::filesystem::path file;
  std::vector<ExpectationEntry> entries;
};

// Reads and checks an expectations file strictly: unknown keys, wrong types, empty or malformed
// globs, unknown grades and a missing `reason` are Error(invalid_input) naming the file and the
// JSON pointer; an unreadable file is Error(io).
[[nodiscard]] Expectations load_expectations(const std::filesystem::path& file);

// Whether the entry's globs (scenario, tls, client, server, peer) match the cell; grades and
// reasons aside.
[[nodiscard]] bool entry_matches_cell(const ExpectationEntry& entry, const std::string& scenario,
                                      const std::string& tls, const std::string& client,
                                      const std::string& server);

// The first entry covering a case with this id parts and verdict, or nullptr. A passing case is
// covered by an entry whose globs match (its grades/reasons are ignored: the deviation is gone)
// unless the entry is racy; not_applicable is never covered.
// What a cell's scenario checks besides the result (for entries with `checks`).
struct CellChecks {
  bool alerts = true; // expect.alerts is not empty, and the wire was readable
  bool flow = true;   // expect.flow has a flow for the cell's version, and the wire was readable
};
[[nodiscard]] const ExpectationEntry*
find_expectation(const Expectations& e, const std::string& scenario, const std::string& tls,
                 const std::string& client, const std::string& server, const std::string& grade,
                 const std::string& reason, CellChecks checks = {});

// Regrades one case: a covered failure becomes expected_failure, a covered pass unexpected_pass;
// Verdict::original keeps the case's own grade. Idempotent.
void apply_expectations(const Expectations& e, CaseResult& r);

// The same on a saved run (tlsmatrix report): regrades results["cases"] from each case's
// original grade, updates "totals" and records the file (and `strict`, which makes JUnit show an
// unexpected pass as a failure) under "expectations".
void apply_expectations(const Expectations& e, nlohmann::ordered_json& results, bool strict);

// The verdict's detail line with the expectation in front: "known deviation (<reason>); was
// wrong_reason: <detail>" or "passes now: remove the expectation <ref> (<reason>)". Just the detail
// when no expectation matched.
[[nodiscard]] std::string detail_with_expectation(const std::string& grade,
                                                  const std::string& original,
                                                  const std::string& reason, const std::string& ref,
                                                  const std::string& detail);

// Whether a grade makes `run` exit 1: not pass, not_applicable or expected_failure;
// unexpected_pass only when `strict`.
[[nodiscard]] bool fails_run(std::string_view grade, bool strict);

} // namespace harness
