// A saved run read back: results.json as written by results.hpp (the reports, baselines, diffs and
// merges read runs through it).
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace harness {

// A saved run, read back from disk.
struct SavedRun {
  nlohmann::ordered_json results;
  std::filesystem::path file; // the results.json it came from
};

// Reads a results.json. `path` may name the file, a run folder, or results/latest. Throws
// Error(io) when nothing can be read there, Error(invalid_input) when the file is not JSON, is not
// results version 1, or lacks a field the reports need (the message names the file and the
// JSON pointer; the checks are report.hpp's check_results).
[[nodiscard]] SavedRun load_results(const std::filesystem::path& path);

} // namespace harness
