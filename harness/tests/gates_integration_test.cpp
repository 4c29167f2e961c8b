// `tlsmatrix run` with an expectations file and a baseline, end to end over our own endpoints:
// each exit code of --expectations, --strict, --baseline and --fail-on-change, and a missing peer
// that is "not run", not a change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

class RunGates : public ::testing::Test {
protected:
  // one-way as shipped (passes) and a copy whose expectation is wrong on purpose (fails: the
  // server is not supposed to be accepted), over local->local in TLS 1.3 only: 2 cases.
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    const fs::path scenarios = *dir_ / "scenarios";
    fs::create_directories(scenarios);
    fs::copy_file(testing_support::source_dir() / "scenarios" / "01-one-way.json",
                  scenarios / "01-one-way.json");
    json broken = json::parse(testing_support::read_text(scenarios / "01-one-way.json"));
    broken["id"] = "one-way-misjudged";
    broken["expect"] = {{"result", "rejected"}, {"by", "client"}, {"reasons", {"expired"}}};
    testing_support::write_text(scenarios / "02-misjudged.json", broken.dump(2));
    // A PKI once for every run of the suite.
    const auto pki = testing_support::run(
        {testing_support::tlsmatrix_binary(), "pki", "generate", "--out", (*dir_ / "pki").string()},
        "", std::chrono::seconds(120));
    ASSERT_EQ(pki.exit_code, 0) << pki.err;
  }
  static void TearDownTestSuite() { delete dir_; }

  static testing_support::CommandResult run(std::vector<std::string> extra,
                                            const std::string& peers = "local") {
    std::vector<std::string> argv = {
        testing_support::tlsmatrix_binary(),
        "run",
        "--scenarios",
        (*dir_ / "scenarios").string(),
        "--pki",
        (*dir_ / "pki").string(),
        "--peers",
        peers,
        "--peer-defs",
        (testing_support::source_dir() / "harness" / "tests" / "data" / "fault-peers").string(),
        "--tls",
        "1.3",
        "--out",
        (*dir_ / "results").string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing_support::run(argv, "", std::chrono::seconds(120));
  }
  static json latest() {
    return json::parse(testing_support::read_text(*dir_ / "results" / "latest" / "results.json"));
  }
  static fs::path file(const std::string& name, const std::string& text) {
    testing_support::write_text(*dir_ / name, text);
    return *dir_ / name;
  }
  static ScratchDir* dir_;
};
ScratchDir* RunGates::dir_ = nullptr;

TEST_F(RunGates, ExpectationsDecideTheExitCode) {
  // Without expectations the misjudged scenario fails the run.
  auto plain = run({"--no-expectations"});
  EXPECT_EQ(plain.exit_code, tlsmatrix::exit_codes::cases_failed) << plain.out << plain.err;

  const auto exp = file("exp.json", R"({"version": 1, "entries": [
    {"scenario": "one-way-misjudged", "grades": ["fail"], "reason": "the scenario is wrong on purpose"}]})");
  auto expected = run({"--expectations", exp.string()});
  EXPECT_EQ(expected.exit_code, 0) << expected.out << expected.err;
  const json r = latest();
  EXPECT_EQ(r["expectations"]["file"], exp.string());
  for (const auto& c : r["cases"])
    if (c["scenario"] == "one-way-misjudged") {
      EXPECT_EQ(c["verdict"]["grade"], "expected_failure");
      EXPECT_EQ(c["verdict"]["original_grade"], "fail");
      EXPECT_EQ(c["verdict"]["expectation"]["reason"], "the scenario is wrong on purpose");
    }
  EXPECT_NE(expected.out.find("xf"), std::string::npos) << expected.out;

  // An entry that no longer fails: unexpected_pass, exit 0, or 1 under --strict.
  const auto stale = file("stale.json", R"({"version": 1, "entries": [
    {"scenario": "one-way-misjudged", "grades": ["fail"], "reason": "the scenario is wrong on purpose"},
    {"scenario": "one-way", "reason": "was broken once"}]})");
  auto lenient = run({"--expectations", stale.string()});
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out << lenient.err;
  EXPECT_NE(lenient.out.find("UP"), std::string::npos) << lenient.out;
  auto strict = run({"--expectations", stale.string(), "--strict"});
  EXPECT_EQ(strict.exit_code, tlsmatrix::exit_codes::cases_failed) << strict.out << strict.err;
  EXPECT_NE(strict.out.find("unexpected pass: one-way/1.3/local->local: passes now: remove the "
                            "expectation " +
                            stale.string() + "#/entries/1"),
            std::string::npos)
      << strict.out;

  // A grade the entry does not cover is still a failure.
  const auto narrow = file("narrow.json", R"({"version": 1, "entries": [
    {"scenario": "one-way-misjudged", "grades": ["wrong_reason"], "reason": "not this grade"}]})");
  EXPECT_EQ(run({"--expectations", narrow.string()}).exit_code,
            tlsmatrix::exit_codes::cases_failed);

  // A malformed file is rejected before anything runs.
  const auto bad = file("bad.json", R"({"version": 1, "entries": [{"scenario": "x"}]})");
  auto rejected = run({"--expectations", bad.string()});
  EXPECT_EQ(rejected.exit_code, tlsmatrix::exit_codes::invalid_input);
  EXPECT_NE(rejected.err.find("bad.json: /entries/0/reason"), std::string::npos) << rejected.err;
}

TEST_F(RunGates, BaselineChangesAndMissingPeers) {
  const auto exp = file("exp2.json", R"({"version": 1, "entries": [
    {"scenario": "one-way-misjudged", "grades": ["fail"], "reason": "wrong on purpose"}]})");
  const fs::path base = *dir_ / "base.json";
  auto first = run({"--expectations", exp.string(), "--write-baseline", base.string()});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  const json b = json::parse(testing_support::read_text(base));
  ASSERT_EQ(b["cases"].size(), 2u) << b.dump(2);
  EXPECT_EQ(b["cases"]["one-way-misjudged/1.3/local->local"]["grade"], "fail")
      << "the case's own grade, not expected_failure";

  // The same matrix again: no change.
  auto same =
      run({"--expectations", exp.string(), "--baseline", base.string(), "--fail-on-change"});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_NE(same.out.find("2 cells compared: 0 changed"), std::string::npos) << same.out;

  // A baseline that says otherwise, and a cell of a peer that is not installed here.
  json edited = b;
  edited["cases"]["one-way/1.3/local->local"]["grade"] = "wrong_reason";
  edited["cases"]["one-way/1.3/ghost->local"] = {{"grade", "pass"}, {"phase", "done"}};
  testing_support::write_text(*dir_ / "edited.json", edited.dump(2));
  auto changed = run({"--expectations", exp.string(), "--baseline",
                      (*dir_ / "edited.json").string(), "--fail-on-change"},
                     "local,ghost");
  EXPECT_EQ(changed.exit_code, tlsmatrix::exit_codes::changed) << changed.out << changed.err;
  EXPECT_NE(changed.out.find("changed      one-way/1.3/local->local  grade wrong_reason -> pass"),
            std::string::npos)
      << changed.out;
  EXPECT_NE(changed.out.find("not run      one-way/1.3/ghost->local"), std::string::npos)
      << changed.out;
  // Reported, but not a gate without --fail-on-change.
  auto reported =
      run({"--expectations", exp.string(), "--baseline", (*dir_ / "edited.json").string()});
  EXPECT_EQ(reported.exit_code, 0) << reported.out << reported.err;
  EXPECT_NE(reported.out.find("1 changed"), std::string::npos) << reported.out;

  // Only the ghost cell differs from the real baseline: not run is no change.
  json with_ghost = b;
  with_ghost["cases"]["one-way/1.3/ghost->local"] = {{"grade", "pass"}, {"phase", "done"}};
  // ... and cells outside this run's scenarios and --tls are not compared at all.
  with_ghost["cases"]["server-expired/1.3/local->local"] = {{"grade", "pass"}};
  with_ghost["cases"]["one-way/1.2/local->local"] = {{"grade", "fail"}};
  testing_support::write_text(*dir_ / "ghost.json", with_ghost.dump(2));
  auto ghost = run({"--expectations", exp.string(), "--baseline", (*dir_ / "ghost.json").string(),
                    "--fail-on-change"},
                   "local,ghost");
  EXPECT_EQ(ghost.exit_code, 0) << ghost.out << ghost.err;

  // `tlsmatrix diff` of the run folder against the baseline agrees.
  auto diff = testing_support::run({testing_support::tlsmatrix_binary(), "diff",
                                    (*dir_ / "edited.json").string(),
                                    (*dir_ / "results" / "latest").string(), "--json"});
  EXPECT_EQ(diff.exit_code, tlsmatrix::exit_codes::changed) << diff.err;
  const json d = json::parse(diff.out);
  EXPECT_EQ(d["counts"]["changed"], 1);
  EXPECT_EQ(d["counts"]["only_old"], 0);
  // ghost->local in the baseline, and the run's three other ghost cells (not_applicable): the
  // run's results.json says ghost is not available.
  EXPECT_EQ(d["counts"]["not_run"], 4) << diff.out;
}

} // namespace
