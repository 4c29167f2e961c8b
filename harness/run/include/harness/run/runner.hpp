// The matrix runner: runs planned cases (planner.hpp) in parallel, each bounded by its own
// deadline, and collects observations and verdicts.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/model/case.hpp"
#include "harness/model/pki_dir.hpp"

namespace harness {

struct RunOptions {
  unsigned jobs = 0; // 0: one per core
  std::chrono::milliseconds timeout{10000};
  std::filesystem::path run_dir; // cases/<…>/ logs and inputs/ go here
  bool pcap = false;             // a capture for every case (else only for cases that did not pass)
  // Called when a worker takes a case, before it runs (from worker threads, not serialised): with
  // the ProgressFn after it, a display knows which cases are running and since when.
  std::function<void(const CaseSpec&)> on_start;
  // Cases whose server peer can serve many connections share one server process per distinct
  // configuration (run_dir/servers/); false: one server process per case.
  bool reuse_servers = true;
};

// Called after each case (from worker threads, serialised by the runner).
using ProgressFn = std::function<void(const CaseResult&, std::size_t done, std::size_t total)>;

// Runs every case; stops taking new cases once `stop` is set (Ctrl-C). Returns the finished ones
// in plan order.
[[nodiscard]] std::vector<CaseResult> run_cases(const std::vector<CaseSpec>& cases,
                                                const PkiDir& pki, const RunOptions& options,
                                                const std::atomic<bool>& stop,
                                                const ProgressFn& progress);

} // namespace harness
