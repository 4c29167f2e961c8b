// Sharding (--shard K/N): a deterministic split of the planned cases across CI jobs.
#pragma once

#include <string>
#include <vector>

#include "harness/run/runner.hpp"

namespace harness {

struct Shard {
  unsigned index = 1; // 1-based: K of K/N
  unsigned count = 1; // N
};

// Parses "K/N" (1 <= K <= N <= 1000). Throws Error(invalid_input) naming --shard.
[[nodiscard]] Shard parse_shard(const std::string& text);

// The cases of shard K/N, in plan order. The case ids are sorted bytewise and dealt round-robin:
// the i-th id (0-based) belongs to shard (i mod N) + 1. Shards therefore differ by at most one
// case, the split depends only on the set of planned ids (not on the machine, the thread count or
// the order the planner produced), and the N shards together hold every case exactly once.
[[nodiscard]] std::vector<CaseSpec> select_shard(const std::vector<CaseSpec>& cases, Shard shard);

} // namespace harness
