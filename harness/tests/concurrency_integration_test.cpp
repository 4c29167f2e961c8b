// What a run shares, tried for real with the binary: two runs started together on one results
// folder (and its default PKI, which neither has yet), `pki generate` over a run's PKI folder
// while the run goes on, and two shards in parallel on one machine merged. Each must end with
// every verdict right, and with results that name the PKI bytes they used (checked with
// coreutils' sha256sum over the run's own copy).
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "harness/process/process.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing_support::CommandResult;
using testing_support::ScratchDir;
using testing_support::sha256sum_listing;

CommandResult tlsmatrix(std::vector<std::string> args) {
  args.insert(args.begin(), testing_support::tlsmatrix_binary());
  return testing_support::run(args, "", 240s);
}

// The matrix these tests run: our endpoints and the openssl CLI, TLS 1.3 (64 cases).
std::vector<std::string> run_args(const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"run", "--peers", "local,openssl", "--tls",
                                "1.3", "--out",   out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

json load(const fs::path& file) {
  return json::parse(testing_support::read_text(file));
}

// The run folders under `out` that hold a results.json.
std::vector<fs::path> run_folders(const fs::path& out) {
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(out))
    if (e.is_directory() && !e.is_symlink() && fs::exists(e.path() / "results.json"))
      runs.push_back(e.path());
  std::sort(runs.begin(), runs.end());
  return runs;
}

std::map<std::string, std::string> grades(const json& results) {
  std::map<std::string, std::string> out;
  for (const auto& c : results.at("cases"))
    out[c.at("id")] = c.at("verdict").at("grade");
  return out;
}

// Every case is as the suite says: a pass, a deviation the expectations file documents (OpenSSL
// accepts a CA:TRUE leaf, …) or a side refusing its own key. With our endpoints and openssl,
// anything else is a wrong verdict.
void expect_every_case_passes(const json& results, const std::string& which) {
  EXPECT_GE(results.at("cases").size(), 64u) << which;
  for (const auto& c : results.at("cases")) {
    const std::string grade = c.at("verdict").at("grade");
    EXPECT_TRUE(grade == "pass" || grade == "expected_failure" || grade == "refused")
        << which << ": " << c.at("id") << ": " << grade << ": " << c.at("verdict").at("detail");
  }
}

// results.json names the PKI content it used, and that is the run's own copy, byte for byte.
void expect_names_its_pki(const fs::path& run, const json& results) {
  const std::string content = results.at("fingerprints").at("pki_content");
  EXPECT_EQ(content, sha256sum_listing(run / "pki")) << run;
  EXPECT_EQ(results.at("pki").at("dir"), (run / "pki").string());
  EXPECT_EQ(results.at("pki").at("verified_by"), "file digests");
}

// Anything left in `out` besides the runs, their PKI and `latest`: temporaries that leaked.
std::set<std::string> leftovers(const fs::path& out) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (name != "pki" && name != "latest" && !fs::exists(e.path() / "results.json"))
      names.insert(name);
  }
  return names;
}

TEST(Concurrency, TwoRunsAtOnceOnOneFolderShareOneIssuedPki) {
  const ScratchDir dir;
  const fs::path out = dir / "results"; // no PKI yet: both would issue the default one
  auto start = [&] {
    return std::async(std::launch::async, [&] {
      return tlsmatrix(run_args(out, {"--jobs", "2", "-q"}));
    });
  };
  auto first = start(), second = start();
  const CommandResult a = first.get(), b = second.get();
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;

  const auto runs = run_folders(out);
  ASSERT_EQ(runs.size(), 2u);
  std::set<std::string> contents;
  for (const auto& run : runs) {
    const json results = load(run / "results.json");
    expect_every_case_passes(results, run.string());
    expect_names_its_pki(run, results);
    EXPECT_EQ(results.at("pki").at("source"), (out / "pki").string());
    contents.insert(results.at("fingerprints").at("pki_content"));
  }
  // One of them issued the default PKI, the other waited for it and reused it.
  EXPECT_EQ(contents, std::set<std::string>{sha256sum_listing(out / "pki")});
  // latest names one of the two, complete.
  const fs::path latest = fs::canonical(out / "latest");
  EXPECT_TRUE(latest == fs::canonical(runs[0]) || latest == fs::canonical(runs[1])) << latest;
  EXPECT_TRUE(fs::exists(latest / "report.html"));
  EXPECT_EQ(leftovers(out), std::set<std::string>{});
}

// `pki generate` into the folder a run took its PKI from, once the run's cases have started:
// the run goes on with its own copy. `default_pki`: the run's default OUT/pki, else --pki DIR.
void generate_during_a_run(bool default_pki) {
  const ScratchDir dir;
  const fs::path out = dir / "results";
  const fs::path pki = default_pki ? out / "pki" : dir / "my-pki";
  const auto issued = tlsmatrix({"pki", "generate", "--out", pki.string(), "-q"});
  ASSERT_EQ(issued.exit_code, 0) << issued.err;
  const std::string before = sha256sum_listing(pki);

  // Both TLS versions, one case at a time: long enough (seconds) that the run is still going when
  // pki generate is done.
  harness::EventLoop loop;
  harness::ProcessSpec spec;
  spec.argv = {"run", "--peers", "local,openssl", "--jobs", "1", "--out", out.string()};
  if (!default_pki)
    spec.argv.insert(spec.argv.end(), {"--pki", pki.string()});
  spec.argv.insert(spec.argv.begin(), testing_support::tlsmatrix_binary());
  harness::Process run(loop, spec);
  // Its output is not a terminal: one line per finished case, each naming a case id.
  harness::Readiness first_case{harness::Readiness::Kind::stdout_marker, "->", 0, 60s};
  ASSERT_TRUE(run.wait_ready(first_case)) << run.out_so_far() << run.err_so_far();
  const auto regenerated = tlsmatrix({"pki", "generate", "--out", pki.string(), "-q"});
  EXPECT_EQ(regenerated.exit_code, 0) << regenerated.err;
  EXPECT_TRUE(run.running()) << "the run ended before the PKI changed: nothing was tried";
  const std::string after = sha256sum_listing(pki);
  EXPECT_NE(after, before) << "pki generate did not replace the PKI";

  const auto result = run.wait(240s);
  EXPECT_EQ(result.exit_code.value_or(-1), 0) << result.out << result.err;
  const auto runs = run_folders(out);
  ASSERT_EQ(runs.size(), 1u);
  const json results = load(runs[0] / "results.json");
  expect_every_case_passes(results, runs[0].string());
  expect_names_its_pki(runs[0], results);
  EXPECT_EQ(results.at("fingerprints").at("pki_content"), before);
  EXPECT_EQ(results.at("pki").at("source"), pki.string());
}

TEST(Concurrency, PkiGenerateIntoTheDefaultPkiDuringARunChangesNoVerdict) {
  generate_during_a_run(true);
}

TEST(Concurrency, PkiGenerateIntoAUsersPkiDuringARunChangesNoVerdict) {
  generate_during_a_run(false);
}

TEST(Concurrency, TwoShardsInParallelMergeIntoTheSingleRunsResults) {
  const ScratchDir dir;
  const fs::path out = dir / "results"; // one folder for both, as two CI jobs on one runner have
  auto shard = [&](int k) {
    return std::async(std::launch::async, [&, k] {
      return tlsmatrix(run_args(out, {"--jobs", "1", "-q", "--shard", std::to_string(k) + "/2"}));
    });
  };
  auto one = shard(1), two = shard(2);
  const CommandResult s1 = one.get(), s2 = two.get();
  EXPECT_EQ(s1.exit_code, 0) << s1.err;
  EXPECT_EQ(s2.exit_code, 0) << s2.err;
  std::vector<std::string> shard_runs;
  for (const auto& run : run_folders(out)) {
    expect_names_its_pki(run, load(run / "results.json"));
    shard_runs.push_back(run.string());
  }
  ASSERT_EQ(shard_runs.size(), 2u);
  const auto merged =
      tlsmatrix({"merge", shard_runs[0], shard_runs[1], "-o", (dir / "merged").string()});
  ASSERT_EQ(merged.exit_code, 0) << merged.err;

  const auto whole =
      tlsmatrix(run_args(dir / "whole", {"--jobs", "2", "-q", "--pki", (out / "pki").string()}));
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  const auto diff =
      tlsmatrix({"diff", (dir / "whole" / "latest").string(), (dir / "merged").string()});
  EXPECT_EQ(diff.exit_code, 0) << diff.out << diff.err;
  EXPECT_NE(diff.out.find(" 0 changed, 0 only in OLD, 0 only in NEW"), std::string::npos)
      << diff.out;
  const json m = load(dir / "merged" / "results.json"),
             w = load(dir / "whole" / "latest" / "results.json");
  EXPECT_EQ(grades(m), grades(w));
  expect_every_case_passes(m, "merged");
  // Both shards copied the one PKI the first of them issued; the single run copied it too.
  EXPECT_EQ(m.at("fingerprints"), w.at("fingerprints"));
}

} // namespace
