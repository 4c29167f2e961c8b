// Starting a child, the parts that need no Boost: what runs in the child between vfork and exec,
// its pipes and its environment. Private to the process module (process.cpp launches).
#pragma once

#include <sys/types.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

namespace harness::child {

// In the child, after vfork: its own process group, PDEATHSIG, default signal dispositions and
// an empty mask, `cwd` (nullptr: stay), every fd above 2 close-on-exec. Async-signal-safe, no
// allocation, nothing that writes the harness's memory (the child borrows it until exec).
// Returns 0, or the errno of the call that failed.
[[nodiscard]] int setup_child(pid_t parent, const char* cwd) noexcept;

// A pipe whose fds are both close-on-exec and above 2 (so dup2 onto 0..2 in the child is safe).
// Throws tlsmatrix::Error(Errc::peer) naming `program`.
[[nodiscard]] std::array<int, 2> make_pipe(const std::string& program);

// The harness's environment with `overrides` set on top (the last of a name wins). Throws
// tlsmatrix::Error(Errc::invalid_input) for an empty name or one with '='.
[[nodiscard]] std::vector<std::string>
build_environment(const std::vector<std::pair<std::string, std::string>>& overrides);

} // namespace harness::child
