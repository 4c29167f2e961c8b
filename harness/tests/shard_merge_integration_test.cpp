// Sharding, merging, repeats and the sanity gate end to end with the real binary and real peers
// (our endpoints and the openssl CLI): three shards merged must equal one unsharded run; merge
// must refuse runs that do not belong together; a deliberately broken openssl definition (docs/peers.md
// #advisory-verification: verification only advisory) must be caught by the gate.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::CommandResult;
using testing_support::ScratchDir;

CommandResult tlsmatrix(std::vector<std::string> args) {
  args.insert(args.begin(), testing_support::tlsmatrix_binary());
  return testing_support::run(args, "", std::chrono::seconds(240));
}

json load(const fs::path& file) {
  return json::parse(testing_support::read_text(file));
}

std::map<std::string, std::string> grades(const json& results) {
  std::map<std::string, std::string> out;
  for (const auto& c : results.at("cases"))
    out[c.at("id")] = c.at("verdict").at("grade");
  return out;
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

class ShardMerge : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    const auto pki = tlsmatrix({"pki", "generate", "--out", (*dir_ / "pki").string(), "-q"});
    ASSERT_EQ(pki.exit_code, 0) << pki.err;
    const std::vector<std::string> common = {"run", "--peers", "local,openssl",          "--tls",
                                             "1.3", "--pki",   (*dir_ / "pki").string(), "--jobs",
                                             "2",   "-q"};
    auto with = [&](std::vector<std::string> extra) {
      auto args = common;
      args.insert(args.end(), extra.begin(), extra.end());
      return args;
    };
    whole_ = new CommandResult(tlsmatrix(with({"--out", (*dir_ / "whole").string()})));
    for (int k = 1; k <= 3; ++k)
      shards_[k - 1] =
          new CommandResult(tlsmatrix(with({"--shard", std::to_string(k) + "/3", "--out",
                                            (*dir_ / ("shard-" + std::to_string(k))).string()})));
    merge_ = new CommandResult(tlsmatrix({"merge", shard(1).string(), shard(2).string(),
                                          shard(3).string(), "-o", (*dir_ / "merged").string()}));
  }
  static void TearDownTestSuite() {
    delete merge_;
    for (auto*& s : shards_)
      delete s;
    delete whole_;
    delete dir_;
  }
  static fs::path shard(int k) { return *dir_ / ("shard-" + std::to_string(k)) / "latest"; }
  static fs::path whole() { return *dir_ / "whole" / "latest"; }

  static ScratchDir* dir_;
  static CommandResult* whole_;
  static CommandResult* shards_[3];
  static CommandResult* merge_;
};
ScratchDir* ShardMerge::dir_ = nullptr;
CommandResult* ShardMerge::whole_ = nullptr;
CommandResult* ShardMerge::shards_[3] = {nullptr, nullptr, nullptr};
CommandResult* ShardMerge::merge_ = nullptr;

TEST_F(ShardMerge, MergedShardsEqualTheUnshardedRun) {
  ASSERT_EQ(whole_->exit_code, 0) << whole_->err;
  ASSERT_EQ(merge_->exit_code, 0) << merge_->err;
  const json w = load(whole() / "results.json");
  const json m = load(*dir_ / "merged" / "results.json");
  EXPECT_GE(w.at("cases").size(), 64u); // 16 scenarios × 4 pairs at TLS 1.3
  EXPECT_EQ(grades(m), grades(w));      // same case set, same verdicts
  EXPECT_EQ(m.at("totals"), w.at("totals"));
  EXPECT_FALSE(m.contains("shard"));
  ASSERT_EQ(m.at("merged_from").size(), 3u);
  EXPECT_EQ(m.at("fingerprints"), w.at("fingerprints"));
  // The merged folder carries the logs of every shard, at the rebased paths.
  for (const auto& c : m.at("cases")) {
    if (c.contains("logs")) {
      const std::string dir = c.at("logs").at("dir");
      EXPECT_TRUE(dir.starts_with((*dir_ / "merged").string())) << dir;
      EXPECT_TRUE(fs::is_directory(dir)) << dir;
    }
  }
}

TEST_F(ShardMerge, ShardsAreDisjointBalancedAndRecorded) {
  std::set<std::string> all;
  std::size_t smallest = 1000, largest = 0, total = 0;
  for (int k = 1; k <= 3; ++k) {
    ASSERT_EQ(shards_[k - 1]->exit_code, 0) << shards_[k - 1]->err;
    const json s = load(shard(k) / "results.json");
    EXPECT_EQ(s.at("shard").at("index"), k);
    EXPECT_EQ(s.at("shard").at("count"), 3);
    const std::size_t n = s.at("cases").size();
    smallest = std::min(smallest, n);
    largest = std::max(largest, n);
    total += n;
    for (const auto& c : s.at("cases"))
      EXPECT_TRUE(all.insert(c.at("id")).second) << c.at("id") << " twice";
    EXPECT_EQ(s.at("shard").at("planned"), load(whole() / "results.json").at("cases").size());
  }
  EXPECT_EQ(total, all.size());
  EXPECT_LE(largest - smallest, 1u);
}

TEST_F(ShardMerge, MergedReportsHaveEveryCase) {
  ASSERT_EQ(merge_->exit_code, 0) << merge_->err;
  const fs::path merged = *dir_ / "merged";
  for (const char* f : {"report.html", "junit.xml", "summary.md"})
    EXPECT_TRUE(fs::exists(merged / f)) << f;
  const std::string junit = testing_support::read_text(merged / "junit.xml");
  EXPECT_EQ(count(junit, "<testcase "),
            count(testing_support::read_text(whole() / "junit.xml"), "<testcase "));
  if (!testing_support::have_program("xmllint"))
    GTEST_SKIP() << "xmllint not installed (Debian libxml2-utils)";
  const fs::path xsd =
      testing_support::source_dir() / "harness" / "tests" / "data" / "junit" / "junit.xsd";
  const auto lint = testing_support::run(
      {"xmllint", "--noout", "--schema", xsd.string(), (merged / "junit.xml").string()});
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
}

TEST_F(ShardMerge, RefusesDuplicateCases) {
  const auto r =
      tlsmatrix({"merge", whole().string(), whole().string(), "-o", (*dir_ / "dup").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("in more than one run"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(*dir_ / "dup" / "results.json"));
}

TEST_F(ShardMerge, RefusesMixingAShardWithAWholeRun) {
  const auto r =
      tlsmatrix({"merge", whole().string(), shard(1).string(), "-o", (*dir_ / "mixed").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("not a shard"), std::string::npos) << r.err;
}

TEST_F(ShardMerge, RefusesAMissingShardUnlessPartial) {
  const auto r = tlsmatrix(
      {"merge", shard(1).string(), shard(3).string(), "-o", (*dir_ / "partial").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("missing shard(s) 2/3"), std::string::npos) << r.err;
  const auto p = tlsmatrix({"merge", "--partial", shard(1).string(), shard(3).string(), "-o",
                            (*dir_ / "partial").string()});
  EXPECT_EQ(p.exit_code, 0) << p.err;
  EXPECT_EQ(load(*dir_ / "partial" / "results.json").at("cases").size(),
            load(shard(1) / "results.json").at("cases").size() +
                load(shard(3) / "results.json").at("cases").size());
}

TEST_F(ShardMerge, RefusesADifferentScenarioSet) {
  // The same suite with one scenario's title changed is a different scenario set.
  const fs::path scenarios = *dir_ / "scenarios";
  fs::create_directories(scenarios);
  for (const auto& e : fs::directory_iterator(testing_support::source_dir() / "scenarios"))
    if (e.path().extension() == ".json")
      fs::copy_file(e.path(), scenarios / e.path().filename());
  json one = load(scenarios / "01-one-way.json");
  one["title"] = one["title"].get<std::string>() + " (edited)";
  testing_support::write_text(scenarios / "01-one-way.json", one.dump(2));
  const auto run = tlsmatrix({"run", "--scenarios", scenarios.string(), "--peers", "local", "--tls",
                              "1.3", "--filter", "one-way/*", "--pki", (*dir_ / "pki").string(),
                              "--out", (*dir_ / "edited").string(), "-q"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto r = tlsmatrix({"merge", shard(1).string(), (*dir_ / "edited" / "latest").string(),
                            "-o", (*dir_ / "different").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("different scenario sets"), std::string::npos) << r.err;
}

TEST_F(ShardMerge, TheRealOpensslPassesTheSanityGate) {
  const json w = load(whole() / "results.json");
  ASSERT_TRUE(w.at("sanity").at("enabled").get<bool>());
  for (const char* role : {"client", "server"})
    EXPECT_TRUE(w.at("sanity").at("peers").at("openssl").at(role).at("ok").get<bool>())
        << w.at("sanity").at("peers").at("openssl").at(role).dump(2);
}

// An openssl definition written without knowing docs/peers.md#advisory-verification: no -verify_return_error, and nothing that
// reads s_client's advisory "verify error" lines. It accepts an untrusted server (and client).
class SanityGate : public ::testing::Test {
protected:
  void SetUp() override {
    json def = load(testing_support::source_dir() / "harness" / "peers" / "openssl.json");
    def["name"] = "openssl-noverify";
    std::function<void(json&)> strip = [&](json& j) {
      if (j.is_array()) {
        json kept = json::array();
        for (auto& x : j)
          if (x != "-verify_return_error")
            kept.push_back(x);
        j = kept;
      }
      if (j.is_structured())
        for (auto& x : j)
          strip(x);
    };
    strip(def);
    json classify = json::array();
    for (const auto& rule : def.at("classify"))
      if (rule.at("match").get<std::string>().find("verify error") == std::string::npos)
        classify.push_back(rule);
    def["classify"] = classify;
    fs::create_directories(dir_ / "defs");
    testing_support::write_text(dir_ / "defs" / "openssl-noverify.json", def.dump(2));
  }
  CommandResult run(std::vector<std::string> extra) {
    std::vector<std::string> args = {"run",
                                     "--peers",
                                     "local,openssl-noverify",
                                     "--peer-defs",
                                     (dir_ / "defs").string(),
                                     "--tls",
                                     "1.3",
                                     "--filter",
                                     "server-expired/*",
                                     "--out",
                                     (dir_ / "results").string(),
                                     "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return tlsmatrix(args);
  }
  ScratchDir dir_;
};

TEST_F(SanityGate, CatchesAnOpensslDefinitionWithoutVerifyReturnError) {
  const auto r = run({});
  EXPECT_EQ(r.exit_code, 1) << r.err; // adapter_broken fails the run
  const fs::path latest = dir_ / "results" / "latest";
  const json res = load(latest / "results.json");
  const auto& gate = res.at("sanity").at("peers").at("openssl-noverify");
  EXPECT_FALSE(gate.at("client").at("ok").get<bool>());
  EXPECT_NE(gate.at("client").at("why").get<std::string>().find(
                "server-untrusted-root/1.3/openssl-noverify->local"),
            std::string::npos)
      << gate.dump(2);
  EXPECT_FALSE(gate.at("server").at("ok").get<bool>());
  EXPECT_NE(gate.at("server").at("why").get<std::string>().find("client-untrusted-root"),
            std::string::npos);
  const auto g = grades(res);
  EXPECT_EQ(g.at("server-expired/1.3/local->local"), "pass");
  EXPECT_EQ(g.at("server-expired/1.3/openssl-noverify->local"), "adapter_broken");
  EXPECT_EQ(g.at("server-expired/1.3/local->openssl-noverify"), "adapter_broken");
  for (const auto& c : res.at("cases")) {
    if (c.at("verdict").at("grade") == "adapter_broken") {
      EXPECT_TRUE(c.at("verdict").at("detail").get<std::string>().starts_with(
          "adapter broken: openssl-noverify as "));
    }
  }
  // Every report shows it, as a setup error rather than a stack failure.
  const std::string junit = testing_support::read_text(latest / "junit.xml");
  EXPECT_EQ(count(junit, "<error "), 2u);
  EXPECT_EQ(count(junit, "type=\"adapter_broken\""), 2u);
  EXPECT_EQ(count(junit, "<failure "), 0u);
  EXPECT_NE(testing_support::read_text(latest / "summary.md").find("adapter broken"),
            std::string::npos);
  EXPECT_NE(testing_support::read_text(latest / "report.html").find("adapter_broken"),
            std::string::npos);
}

TEST_F(SanityGate, WithoutTheGateTheBrokenPeerLooksLikeAStackThatAcceptsExpiredCertificates) {
  const auto r = run({"--no-sanity"});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const json res = load(dir_ / "results" / "latest" / "results.json");
  EXPECT_FALSE(res.at("sanity").at("enabled").get<bool>());
  EXPECT_EQ(grades(res).at("server-expired/1.3/openssl-noverify->local"), "fail");
}

TEST(RepeatRun, EveryRunIsKeptAndRoundsHaveTheirOwnFolders) {
  ScratchDir dir;
  const auto r =
      tlsmatrix({"run", "--peers", "local", "--tls", "1.3", "--filter", "server-expired/*",
                 "--repeat", "3", "--no-sanity", "--out", (dir / "results").string(), "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path latest = dir / "results" / "latest";
  const json res = load(latest / "results.json");
  EXPECT_EQ(res.at("repeat"), 3);
  ASSERT_EQ(res.at("cases").size(), 1u);
  const auto& c = res.at("cases").at(0);
  EXPECT_EQ(c.at("verdict").at("grade"), "pass");
  EXPECT_EQ(c.at("distribution"), "pass 3/3");
  ASSERT_EQ(c.at("runs").size(), 3u);
  std::set<std::string> dirs;
  for (const auto& run : c.at("runs")) {
    EXPECT_EQ(run.at("reason"), "expired");
    dirs.insert(run.at("logs"));
  }
  EXPECT_EQ(dirs.size(), 3u) << "each run has its own log folder";
  EXPECT_TRUE(fs::is_directory(latest / "repeat-2"));
  EXPECT_TRUE(fs::is_directory(latest / "repeat-3"));
}

} // namespace

namespace {

// A client that really is flaky: the openssl client on odd runs, exit 3 on even ones (a state file
// flips between runs; rounds run one after the other).
TEST(RepeatRun, DisagreeingRunsMakeAFlakyCellInEveryReport) {
  ScratchDir dir;
  json def = load(testing_support::source_dir() / "harness" / "peers" / "openssl.json");
  def["name"] = "coin";
  def["roles"] = json::array({"client"});
  def.erase("server");
  json argv =
      json::array({"-c",
                   "if [ -e \"$0\" ]; then rm -f \"$0\"; echo 'coin: tails' >&2; exit 3; fi; "
                   ": > \"$0\"; exec openssl \"$@\"",
                   (dir / "coin-state").string()});
  for (const auto& a : def["client"]["argv"])
    argv.push_back(a);
  def["client"]["program"] = "/bin/sh";
  def["client"]["argv"] = argv;
  fs::create_directories(dir / "defs");
  testing_support::write_text(dir / "defs" / "coin.json", def.dump(2));
  const auto r = tlsmatrix({"run", "--peer-defs", (dir / "defs").string(), "--peers", "local,coin",
                            "--filter", "one-way/1.3/coin->local", "--repeat", "3", "--timeout",
                            "2", "--no-sanity", "--out", (dir / "results").string(), "-q"});
  EXPECT_EQ(r.exit_code, 1) << r.err; // a flaky cell fails the run
  const fs::path latest = dir / "results" / "latest";
  const json res = load(latest / "results.json");
  ASSERT_EQ(res.at("cases").size(), 1u) << res.dump(2).substr(0, 2000);
  const auto& c = res.at("cases").at(0);
  EXPECT_EQ(c.at("verdict").at("grade"), "flaky");
  const std::string distribution = c.at("distribution");
  EXPECT_TRUE(distribution.starts_with("pass 2/3, ")) << distribution;
  EXPECT_TRUE(distribution.ends_with(" 1/3")) << distribution;
  EXPECT_TRUE(c.at("verdict").at("detail").get<std::string>().starts_with(
      "runs disagree: " + distribution + "; run 2: "))
      << c.at("verdict").at("detail");
  ASSERT_EQ(c.at("runs").size(), 3u);
  EXPECT_EQ(c.at("runs")[0].at("grade"), "pass");
  EXPECT_NE(c.at("runs")[1].at("grade"), "pass");
  EXPECT_EQ(c.at("runs")[2].at("grade"), "pass");
  const std::string junit = testing_support::read_text(latest / "junit.xml");
  EXPECT_EQ(count(junit, "type=\"flaky\""), 1u);
  EXPECT_NE(testing_support::read_text(latest / "summary.md").find("flaky"), std::string::npos);
}

} // namespace
