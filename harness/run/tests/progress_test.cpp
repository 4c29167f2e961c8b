// The live status line is a pure function of the progress state.
#include <gtest/gtest.h>

#include "harness/run/progress.hpp"

namespace {

using harness::ProgressState;
using namespace std::chrono_literals;

TEST(Progress, ShowsCountsElapsedEtaAndTheSlowestRunningCase) {
  ProgressState st;
  const auto t0 = ProgressState::Clock::time_point{} + 1000s;
  st.started = t0;
  st.total = 40;
  st.done = 10;
  st.counts = {
      {"pass", 7}, {"fail", 1}, {"wrong_reason", 1}, {"timeout", 1}, {"not_applicable", 0}};
  st.running = {{"one-way/1.3/java->local", t0 + 3s},
                {"server-expired/1.3/go->local", t0 + 1500ms}};
  EXPECT_EQ(harness::render_progress(st, t0 + 5s, 200),
            "[10/40] pass 7  fail 2  other 1  5.0s  eta 15.0s  slowest 3.5s "
            "server-expired/1.3/go->local");
}

TEST(Progress, NoEtaBeforeTheFirstCaseAndNoSlowestWhenIdle) {
  ProgressState st;
  st.started = ProgressState::Clock::time_point{};
  st.total = 3;
  EXPECT_EQ(harness::render_progress(st, st.started + 260ms, 200),
            "[0/3] pass 0  fail 0  other 0  0.3s  eta ?");
}

TEST(Progress, CountsFlakyAndAdapterBrokenAsOtherAndCutsToWidth) {
  ProgressState st;
  st.started = ProgressState::Clock::time_point{};
  st.total = 200;
  st.done = 100;
  st.counts = {{"flaky", 2}, {"adapter_broken", 3}, {"harness_error", 1}};
  const auto line = harness::render_progress(st, st.started + 200s, 200);
  EXPECT_EQ(line, "[100/200] pass 0  fail 0  other 6  200s  eta 200s");
  const auto cut = harness::render_progress(st, st.started + 200s, 30);
  EXPECT_EQ(cut, line.substr(0, 29) + "…");
}

} // namespace
