// The registry of live child process groups: fixed-size, lock-free, readable from a signal handler,
// so that Ctrl-C can kill every group the harness started (process.hpp registers each one).
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace harness {

inline constexpr std::size_t max_child_groups = 1024;

// Records a started group; returns its slot, or max_child_groups when the registry is full.
[[nodiscard]] std::size_t register_group(pid_t pgid) noexcept;
// Forgets the group in `slot` (a slot of max_child_groups is ignored).
void unregister_group(std::size_t slot) noexcept;

// Kills (SIGKILL) every live child process group this harness started. Async-signal-safe: a
// SIGINT handler may call it. Their Process objects then see them killed by signal 9.
void kill_all_children() noexcept;

// How many started process groups are not reaped yet (the registry kill_all_children() uses).
[[nodiscard]] std::size_t live_child_groups() noexcept;

} // namespace harness
