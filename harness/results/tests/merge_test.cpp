// Merge's refusals on results documents, and the fingerprints that decide whether runs belong
// together: independent of paths, keys and dates, sensitive to what the scenarios and the PKI say.
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "harness/results/merge.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using testing_support::ScratchDir;

harness::SavedRun shard_run(unsigned k, unsigned n, std::vector<std::string> ids,
                            unsigned planned = 6, const std::string& pki = "p1") {
  json doc = {{"version", 1},
              {"run_id", "r" + std::to_string(k)},
              {"started", "2026-01-01T00:00:0" + std::to_string(k) + "Z"},
              {"finished", "2026-01-01T00:01:0" + std::to_string(k) + "Z"},
              {"interrupted", false},
              {"fingerprints", {{"scenarios", "s1"}, {"pki", pki}}},
              {"repeat", 1},
              {"shard", {{"index", k}, {"count", n}, {"planned", planned}}},
              {"peers", json::object()},
              {"cases", json::array()}};
  for (const auto& id : ids)
    doc["cases"].push_back({{"id", id}, {"verdict", {{"grade", id == "c" ? "fail" : "pass"}}}});
  return {doc, "shard-" + std::to_string(k) + "/results.json"};
}

std::string refusal(const std::vector<harness::SavedRun>& runs,
                    harness::MergeOptions options = {}) {
  try {
    (void)harness::merge_results(runs, options);
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
    return e.what();
  }
  return "(merged)";
}

TEST(Merge, UnitesShardsAndRecountsTotals) {
  const auto m =
      harness::merge_results({shard_run(2, 2, {"d", "b", "c"}), shard_run(1, 2, {"a", "e", "f"})});
  std::vector<std::string> ids;
  for (const auto& c : m["cases"])
    ids.push_back(c["id"]);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  EXPECT_EQ(m["totals"]["pass"], 5);
  EXPECT_EQ(m["totals"]["fail"], 1);
  EXPECT_EQ(m["started"], "2026-01-01T00:00:01Z");
  EXPECT_EQ(m["finished"], "2026-01-01T00:01:02Z");
  EXPECT_FALSE(m.contains("shard"));
  EXPECT_EQ(m["merged_from"].size(), 2u);
}

// Shards that each issued the same spec agree on what decides verdicts but not on key bytes: they
// merge, and the merged run claims a content fingerprint only when every shard used the same.
TEST(Merge, KeepsThePkiContentFingerprintOnlyWhenEveryShardUsedTheSame) {
  auto one = shard_run(1, 2, {"a"}), two = shard_run(2, 2, {"b"});
  one.results["fingerprints"]["pki_content"] = "aaaa";
  two.results["fingerprints"]["pki_content"] = "aaaa";
  auto m = harness::merge_results({one, two});
  EXPECT_EQ(m["fingerprints"]["pki_content"], "aaaa");
  EXPECT_EQ(m["merged_from"][1]["pki_content"], "aaaa");

  two.results["fingerprints"]["pki_content"] = "bbbb";
  m = harness::merge_results({one, two});
  EXPECT_FALSE(m["fingerprints"].contains("pki_content")) << m["fingerprints"].dump();
  EXPECT_EQ(m["fingerprints"]["pki"], "p1");
  EXPECT_EQ(m["merged_from"][0]["pki_content"], "aaaa");
  EXPECT_EQ(m["merged_from"][1]["pki_content"], "bbbb");
}

TEST(Merge, RefusesRunsThatDoNotBelongTogether) {
  EXPECT_NE(refusal({shard_run(1, 2, {"a", "b"}), shard_run(2, 2, {"b", "c"})})
                .find("b (in shard-1/results.json and shard-2/results.json)"),
            std::string::npos);
  EXPECT_NE(refusal({shard_run(1, 2, {"a"}), shard_run(2, 3, {"b"})}).find("others are of 2"),
            std::string::npos);
  EXPECT_NE(refusal({shard_run(1, 2, {"a"}), shard_run(1, 2, {"b"})}).find("given twice"),
            std::string::npos);
  EXPECT_NE(refusal({shard_run(1, 3, {"a"}), shard_run(3, 3, {"b"})}).find("missing shard(s) 2/3"),
            std::string::npos);
  EXPECT_EQ(refusal({shard_run(1, 3, {"a"}), shard_run(3, 3, {"b"})}, {true}), "(merged)");
  EXPECT_NE(refusal({shard_run(1, 2, {"a"}), shard_run(2, 2, {"b"}, 7)}).find("planned cases"),
            std::string::npos);
  EXPECT_NE(
      refusal({shard_run(1, 2, {"a"}), shard_run(2, 2, {"b"}, 6, "p2")}).find("different PKIs"),
      std::string::npos);
  auto old = shard_run(2, 2, {"b"});
  old.results.erase("fingerprints");
  EXPECT_NE(refusal({shard_run(1, 2, {"a"}), old}).find("/fingerprints/scenarios is missing"),
            std::string::npos);
  auto repeated = shard_run(2, 2, {"b"});
  repeated.results["repeat"] = 3;
  EXPECT_NE(refusal({shard_run(1, 2, {"a"}), repeated}).find("/repeat"), std::string::npos);
}

TEST(Merge, PkiFingerprintIgnoresKeysButNotWhatTheCertificatesSay) {
  ScratchDir dir;
  auto generate = [&](const std::string& name, const std::string& seed, const std::string& spec) {
    std::vector<std::string> args = {testing_support::tlsmatrix_binary(),
                                     "pki",
                                     "generate",
                                     "--out",
                                     (dir / name).string(),
                                     "--seed",
                                     seed,
                                     "--formats",
                                     "pem",
                                     "-q"};
    if (!spec.empty())
      args.insert(args.end(), {"--spec", spec});
    const auto r = testing_support::run(args, "", std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  };
  // A small EC PKI (fast), and the same with one subject changed.
  const std::string spec = R"({"version": 1, "defaults": {"key": "ec-p256"}, "entities": {
    "root": {"profile": "root", "subject": "/CN=fp root"},
    "server": {"profile": "server", "issuer": "root"},
    "expired": {"from": "server", "defects": ["expired"]}}})";
  testing_support::write_text(dir / "spec.json", spec);
  std::string changed = spec;
  changed.replace(changed.find("fp root"), 7, "fp other root");
  testing_support::write_text(dir / "changed.json", changed);
  generate("a", "one", (dir / "spec.json").string());
  generate("b", "two", (dir / "spec.json").string());
  generate("c", "one", (dir / "changed.json").string());
  EXPECT_NE(testing_support::read_text(dir / "a" / "manifest.json"),
            testing_support::read_text(dir / "b" / "manifest.json"));
  EXPECT_EQ(harness::pki_fingerprint(dir / "a"), harness::pki_fingerprint(dir / "b"));
  EXPECT_NE(harness::pki_fingerprint(dir / "a"), harness::pki_fingerprint(dir / "c"));
}

TEST(Merge, ScenarioFingerprintIgnoresWhereTheFilesAre) {
  ScratchDir dir;
  const fs::path suite = testing_support::source_dir() / "scenarios";
  for (const char* copy : {"same", "edited"}) {
    fs::create_directories(dir / copy);
    for (const auto& e : fs::directory_iterator(suite))
      if (e.path().extension() == ".json")
        fs::copy_file(e.path(), dir / copy / e.path().filename());
  }
  const std::string one = testing_support::read_text(dir / "edited" / "02-mutual.json");
  testing_support::write_text(dir / "edited" / "02-mutual.json", one + "\n");
  const auto original = harness::scenarios_fingerprint(harness::load_scenarios(suite, nullptr));
  EXPECT_EQ(harness::scenarios_fingerprint(harness::load_scenarios(dir / "same", nullptr)),
            original);
  EXPECT_NE(harness::scenarios_fingerprint(harness::load_scenarios(dir / "edited", nullptr)),
            original);
}

} // namespace
