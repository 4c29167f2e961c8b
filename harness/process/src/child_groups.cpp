// The live-group registry: an array of atomics, so a signal handler may read it while threads
// register and unregister groups.
#include "harness/process/child_groups.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>

#include <algorithm>

namespace harness {
namespace {

std::array<std::atomic<pid_t>, max_child_groups> live_groups{};
static_assert(std::atomic<pid_t>::is_always_lock_free);

} // namespace

std::size_t register_group(pid_t pgid) noexcept {
  for (std::size_t i = 0; i < max_child_groups; ++i) {
    pid_t expected = 0;
    if (live_groups[i].compare_exchange_strong(expected, pgid))
      return i;
  }
  return max_child_groups;
}

void unregister_group(std::size_t slot) noexcept {
  if (slot < max_child_groups)
    live_groups[slot].store(0);
}

void kill_all_children() noexcept {
  const int saved_errno = errno;
  for (auto& slot : live_groups) {
    const pid_t pgid = slot.load();
    if (pgid > 0)
      ::kill(-pgid, SIGKILL);
  }
  errno = saved_errno;
}

std::size_t live_child_groups() noexcept {
  return static_cast<std::size_t>(std::count_if(live_groups.begin(), live_groups.end(),
                                                [](const auto& slot) { return slot.load() > 0; }));
}

} // namespace harness
