// --shard K/N: parsing, and that the split is a balanced partition that does not depend on the
// order the planner produced.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "common/error.hpp"
#include "harness/run/shard.hpp"
#include "support.hpp"

namespace {

using harness::CaseSpec;

std::vector<CaseSpec> plan_of(std::size_t n) {
  std::vector<CaseSpec> cases;
  for (std::size_t i = 0; i < n; ++i)
    cases.push_back(CaseSpec{"scenario-" + std::to_string(i % 7) + "/1." +
                                 std::to_string(2 + i % 2) + "/c" + std::to_string(i) + "->local",
                             nullptr, harness::TlsVersion::tls13, nullptr, nullptr});
  return cases;
}

std::set<std::string> ids(const std::vector<CaseSpec>& cases) {
  std::set<std::string> out;
  for (const auto& c : cases)
    out.insert(c.id);
  return out;
}

TEST(Shard, ParsesKOfN) {
  const auto s = harness::parse_shard("2/3");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_EQ(harness::parse_shard("1/1").count, 1u);
}

TEST(Shard, RejectsMalformedShards) {
  for (const char* bad :
       {"", "3", "0/3", "4/3", "1/0", "a/3", "1/3x", "-1/3", "1//3", "1/1001", "/3", "2/"}) {
    try {
      (void)harness::parse_shard(bad);
      ADD_FAILURE() << "accepted \"" << bad << "\"";
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input) << bad;
      EXPECT_NE(std::string(e.what()).find("--shard"), std::string::npos) << e.what();
    }
  }
}

TEST(Shard, ShardsPartitionThePlanAndAreBalanced) {
  for (const std::size_t n : {0u, 1u, 5u, 64u, 97u}) {
    for (const unsigned count : {1u, 2u, 3u, 7u}) {
      const auto plan = plan_of(n);
      std::multiset<std::string> seen;
      std::size_t smallest = n, largest = 0;
      for (unsigned k = 1; k <= count; ++k) {
        const auto part = harness::select_shard(plan, {k, count});
        for (const auto& c : part)
          seen.insert(c.id);
        smallest = std::min(smallest, part.size());
        largest = std::max(largest, part.size());
      }
      EXPECT_EQ(seen.size(), n) << n << " cases in " << count << " shards";
      EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), ids(plan))
          << "every case exactly once";
      EXPECT_LE(largest - smallest, 1u) << n << "/" << count;
    }
  }
}

TEST(Shard, SplitDependsOnlyOnTheIdsNotTheirOrder) {
  const auto plan = plan_of(50);
  auto shuffled = plan;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (unsigned k = 1; k <= 3; ++k)
    EXPECT_EQ(ids(harness::select_shard(plan, {k, 3})),
              ids(harness::select_shard(shuffled, {k, 3})));
}

TEST(Shard, KeepsPlanOrderAndDealsSortedIdsRoundRobin) {
  const std::vector<CaseSpec> plan = {{"d", nullptr, harness::TlsVersion::tls13, nullptr, nullptr},
                                      {"a", nullptr, harness::TlsVersion::tls13, nullptr, nullptr},
                                      {"c", nullptr, harness::TlsVersion::tls13, nullptr, nullptr},
                                      {"b", nullptr, harness::TlsVersion::tls13, nullptr, nullptr},
                                      {"e", nullptr, harness::TlsVersion::tls13, nullptr, nullptr}};
  // Sorted: a b c d e -> shard 1 of 2: a, c, e; shard 2: b, d. Plan order kept: d a c b e.
  const auto one = harness::select_shard(plan, {1, 2});
  ASSERT_EQ(one.size(), 3u);
  EXPECT_EQ(one[0].id, "a");
  EXPECT_EQ(one[1].id, "c");
  EXPECT_EQ(one[2].id, "e");
  const auto two = harness::select_shard(plan, {2, 2});
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].id, "d");
  EXPECT_EQ(two[1].id, "b");
}

} // namespace

namespace {

// The GitHub Actions workflow in scripts/ parses as YAML and its job matrix agrees with the N it
// passes to --shard (checked by PyYAML, independent of our code).
TEST(ShardWorkflow, ParsesAndRunsEveryShardOfN) {
  const auto probe = testing_support::run({"python3", "-c", "import yaml"});
  if (probe.exit_code != 0)
    GTEST_SKIP() << "python3 yaml not installed (Debian python3-yaml)";
  const auto file = testing_support::source_dir() / "scripts" / "github-workflow.yml";
  const char* check = R"(
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
jobs = d["jobs"]
n = int(d["env"]["SHARDS"])
assert jobs["shard"]["strategy"]["matrix"]["shard"] == list(range(1, n + 1)), "matrix != 1..SHARDS"
runs = " ".join(s.get("run", "") for s in jobs["shard"]["steps"])
assert "--shard" in runs and "tlsmatrix run" in runs, "no sharded run"
assert jobs["merge"]["needs"] == "shard", "merge does not wait for the shards"
merge = " ".join(s.get("run", "") for s in jobs["merge"]["steps"])
assert "tlsmatrix merge shards/shard-*" in merge, "no merge"
uses = [s.get("uses", "") for s in jobs["merge"]["steps"]]
assert any(u.startswith("actions/upload-artifact") for u in uses), "report not uploaded"
assert any("junit" in u for u in uses), "JUnit not published"
assert "GITHUB_STEP_SUMMARY" in merge, "no job summary"
print("ok", n)
)";
  const auto r = testing_support::run({"python3", "-c", check, file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "ok 4\n");
}

} // namespace
