// Live progress of a run: which cases are running, counts so far, and the one status line a
// terminal shows (a pure function of the state, so it can be tested).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "harness/run/runner.hpp"

namespace harness {

struct ProgressState {
  using Clock = std::chrono::steady_clock;
  std::size_t total = 0;
  std::size_t done = 0;
  std::map<std::string, int> counts; // by grade name
  Clock::time_point started{};
  std::map<std::string, Clock::time_point> running; // case id -> when it started
};

// "[12/40] pass 10  fail 1  other 1  3.2s  eta 7s  slowest 2.1s server-expired/1.3/java->local"
// fail counts fail and wrong_reason; other counts timeout, harness_error, flaky, adapter_broken;
// not_applicable cells count only in done. ETA = elapsed / done × remaining ("eta ?" before the
// first case). The slowest case is the running one that started first. Cut to `width` columns
// (at least 20).
[[nodiscard]] std::string render_progress(const ProgressState& state,
                                          ProgressState::Clock::time_point now, std::size_t width);

// The terminal display: keeps the state from the runner's hooks and redraws one status line on
// `out` at least every `tick` (from its own thread, until destroyed) and on every change. A case
// that did not pass is printed above the status line with `case_line`.
class LiveProgress {
public:
  LiveProgress(std::FILE* out, std::size_t total, std::size_t width,
               std::chrono::milliseconds tick = std::chrono::milliseconds(250));
  ~LiveProgress();
  LiveProgress(const LiveProgress&) = delete;
  LiveProgress& operator=(const LiveProgress&) = delete;

  void started(const CaseSpec& spec);
  // `total`: the runs planned now (it changes once the sanity gate has decided).
  void finished(const CaseResult& result, std::size_t total, bool print_line);

private:
  void draw_locked();
  std::FILE* out_;
  std::size_t width_;
  std::chrono::milliseconds tick_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  ProgressState state_;
  std::jthread ticker_;
};

} // namespace harness
