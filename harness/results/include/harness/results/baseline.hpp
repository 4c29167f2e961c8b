// Baselines (the behaviour of every cell of a run, compact and stable) and the diff of two runs.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/grading/expectations.hpp"

namespace harness {

// What a cell did, without anything timing-dependent: the case's own grade (before any
// expectations file), the canonical reason, the first fatal alert on the wire and its sender (from
// the relay's trace, which sees what was sent; the endpoints' own reports, which lose an alert
// that races a connection reset, only when there is no trace), and the phase in which the
// deciding side ended (the rejecting side, else the client). Empty: none.
struct CellBehaviour {
  std::string grade, reason, alert, alert_from, phase;
  bool operator==(const CellBehaviour&) const = default;
};

// A run as the diff sees it: case id -> behaviour, and the peers that could not run here.
struct RunCells {
  std::string origin; // the file it came from
  std::map<std::string, CellBehaviour> cells;
  // Other behaviours a cell showed in the runs a baseline was merged from (a race in a stack:
  // Node's close without an alert against our client's read). Any of them is "no change".
  std::map<std::string, std::vector<CellBehaviour>> alternatives;
  std::set<std::string> unavailable_peers;
};

// From results.json (in memory).
[[nodiscard]] RunCells cells_of_results(const nlohmann::ordered_json& results,
                                        const std::string& origin);

// Reads a baseline file, a results.json or a run folder (results/latest too). Errors name the
// file and JSON pointer.
[[nodiscard]] RunCells load_cells(const std::filesystem::path& path);

// Several runs of the same matrix as one: each cell's behaviour in the first run, the different
// ones of the others as alternatives. Cells of a peer unavailable in a run are taken from others.
[[nodiscard]] RunCells merge_runs(const std::vector<RunCells>& runs);

// The baseline of a run: {"version": 1, "kind": "tlsmatrix-baseline", "cases": {ID: {"grade",
// "reason", "alert", "alert_from", "phase"}}} (a cell with alternatives: an array of such
// objects), keys sorted, one case per line, so a change in review is one line.
[[nodiscard]] std::string render_baseline(const RunCells& run);

struct CellChange {
  // alert_unseen: the same behaviour, but one run saw an alert and the other none. Not a change:
  // a peer that closes with unread data resets the connection, and the reset can discard the alert
  // before the relay or the other side reads it (seen with Python's TLS 1.3 server).
  // racy: the grade flipped within what a `racy` expectations entry documents (mark_racy).
  enum class Kind { changed, only_old, only_new, not_run, alert_unseen, racy };
  Kind kind = Kind::changed;
  std::string id;
  CellBehaviour before, after;
  std::vector<std::string> fields; // changed: grade, reason, alert, alert_from, phase
  std::string note;                // not_run: why
};
[[nodiscard]] std::string_view to_string(CellChange::Kind k);

struct RunDiff {
  std::vector<CellChange> changes; // sorted by id; not_run entries too
  std::size_t compared = 0;        // cells in both
  [[nodiscard]] std::size_t count(CellChange::Kind k) const;
  [[nodiscard]] bool changed() const; // anything but not_run and alert_unseen
};

// OLD against NEW. A cell whose client or server is unavailable in NEW (not installed here) is
// not_run, not a change, whether NEW lacks it or graded it not_applicable. `in_scope`, when set,
// drops OLD cells NEW did not try to run (a --filter, --peers or --tls subset).
[[nodiscard]] RunDiff diff_runs(const RunCells& old_run, const RunCells& new_run,
                                const std::function<bool(const std::string& id)>& in_scope = {});

// Turns each `changed` cell whose old and new grades are both a pass or a grade the covering
// `racy` entry of `expectations` names (Node's TLS 1.3 close race) into `racy`: documented timing,
// not a change. The entry must cover the cell's scenario, version and peers.
void mark_racy(RunDiff& d, const Expectations& expectations);

[[nodiscard]] std::string render_diff(const RunDiff& d, const RunCells& old_run,
                                      const RunCells& new_run);
[[nodiscard]] nlohmann::ordered_json diff_json(const RunDiff& d, const RunCells& old_run,
                                               const RunCells& new_run);

} // namespace harness
