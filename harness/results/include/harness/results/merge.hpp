// Merging shard runs (`tlsmatrix merge`) and the fingerprints that say two runs tested the same
// thing.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/scenario.hpp"
#include "harness/results/results_file.hpp"

namespace harness {

// Stable across machines and checkouts (FNV-1a 64, hex): the scenario set is fingerprinted by each
// scenario's id and file content; a PKI by what decides verdicts — per entity its profile,
// issuer, chain, trust, subject, SANs, key type, defects and expected verification — not by key
// material, serials or dates, so shards that each issued the same spec agree.
[[nodiscard]] std::string scenarios_fingerprint(const std::vector<Scenario>& scenarios);
[[nodiscard]] std::string pki_fingerprint(const std::filesystem::path& pki_dir);

struct MergeOptions {
  bool allow_partial = false; // accept shards of K/N with some K missing
};

// One results document from several runs: cases of all of them (sorted by id), totals
// recomputed, peers and sanity sections united, "merged_from" listing the inputs (with each one's
// /fingerprints/pki_content, which the merged /fingerprints keeps only when all agree). Refuses
// with Error(invalid_input), naming the files: a case id in more than one input, inputs without
// fingerprints or with different scenario/PKI fingerprints, different --repeat, shards of
// different N, the same shard twice, or (unless allow_partial) a missing shard.
[[nodiscard]] nlohmann::ordered_json merge_results(const std::vector<SavedRun>& runs,
                                                   const MergeOptions& options = {});

// Writes the merged run into `dir`: results.json and the reports (report.html, junit.xml,
// summary.md). With the input run folders given, copies their case logs (cases/, repeat-*/) into
// `dir` and rewrites the log paths, so the HTML links work where the merge ran.
void write_merged(const std::filesystem::path& dir, nlohmann::ordered_json merged,
                  const std::vector<SavedRun>& runs);

} // namespace harness
