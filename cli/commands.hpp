// Registration of the CLI's command groups (each in its own file).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace cli {
// Adds `pki` and its verbs. Each verb sets `run` to the action to execute after parsing.
void add_pki_commands(CLI::App& app, std::function<int()>& run);
// Adds `serve` and `connect` (our own TLS endpoints).
void add_endpoint_commands(CLI::App& app, std::function<int()>& run);
// Adds `run`, `scenarios check` and `peers`.
void add_run_commands(CLI::App& app, std::function<int()>& run);
// Adds `report` (HTML, JUnit and Markdown from a saved run).
void add_report_commands(CLI::App& app, std::function<int()>& run);
// Adds `merge` (shard runs into one run).
void add_merge_commands(CLI::App& app, std::function<int()>& run);
// Adds `trace` (a saved case's wire trace as a ladder diagram).
void add_trace_commands(CLI::App& app, std::function<int()>& run);
// Adds `diff` (two runs) and `baseline` (a run's baseline file).
void add_diff_commands(CLI::App& app, std::function<int()>& run);
} // namespace cli
