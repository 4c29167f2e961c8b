// The live status line of `tlsmatrix run` on a terminal.
#include "harness/run/progress.hpp"

#include <algorithm>
#include <cstdio>

#include "harness/results/results.hpp"

namespace harness {
namespace {

std::string seconds(double s) {
  char buf[32];
  if (s < 100)
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  else
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  return buf;
}

} // namespace

std::string render_progress(const ProgressState& st, ProgressState::Clock::time_point now,
                            std::size_t width) {
  auto count = [&](const char* g) {
    const auto it = st.counts.find(g);
    return it == st.counts.end() ? 0 : it->second;
  };
  const double elapsed = std::chrono::duration<double>(now - st.started).count();
  std::string line = "[" + std::to_string(st.done) + "/" + std::to_string(st.total) + "] pass " +
                     std::to_string(count("pass")) + "  fail " +
                     std::to_string(count("fail") + count("wrong_reason")) + "  other " +
                     std::to_string(count("timeout") + count("harness_error") + count("flaky") +
                                    count("adapter_broken")) +
                     "  " + seconds(elapsed) + "  eta ";
  if (st.done == 0)
    line += "?";
  else
    line += seconds(elapsed / static_cast<double>(st.done) *
                    static_cast<double>(st.total > st.done ? st.total - st.done : 0));
  if (!st.running.empty()) {
    const auto slowest =
        std::min_element(st.running.begin(), st.running.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    line += "  slowest " + seconds(std::chrono::duration<double>(now - slowest->second).count()) +
            " " + slowest->first;
  }
  width = std::max<std::size_t>(width, 20);
  if (line.size() > width)
    line = line.substr(0, width - 1) + "…";
  return line;
}

LiveProgress::LiveProgress(std::FILE* out, std::size_t total, std::size_t width,
                           std::chrono::milliseconds tick)
    : out_(out), width_(width), tick_(tick) {
  state_.total = total;
  state_.started = ProgressState::Clock::now();
  ticker_ = std::jthread([this] {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      wake_.wait_for(lock, tick_, [this] { return stopping_; });
      if (!stopping_)
        draw_locked();
    }
  });
}

LiveProgress::~LiveProgress() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    draw_locked();
    std::fputs("\n", out_);
    std::fflush(out_);
  }
  wake_.notify_all();
}

void LiveProgress::started(const CaseSpec& spec) {
  std::lock_guard lock(mutex_);
  state_.running[spec.id] = ProgressState::Clock::now();
}

void LiveProgress::finished(const CaseResult& r, std::size_t total, bool print_line) {
  std::lock_guard lock(mutex_);
  state_.total = total;
  state_.running.erase(r.spec.id);
  ++state_.done;
  ++state_.counts[std::string(to_string(r.verdict.grade))];
  if (print_line)
    std::fprintf(out_, "\r\033[K%s\n", case_line(r, true).c_str());
  draw_locked();
}

void LiveProgress::draw_locked() {
  std::fprintf(out_, "\r\033[K%s",
               render_progress(state_, ProgressState::Clock::now(), width_).c_str());
  std::fflush(out_);
}

} // namespace harness
