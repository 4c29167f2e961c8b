// `tlsmatrix diff` and `tlsmatrix baseline`, and the expectations/baseline gates of `run`.
#include <iostream>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/grading/expectations.hpp"
#include "harness/results/baseline.hpp"
#include "run_gates.hpp"

namespace cli {
namespace {

struct DiffArgs {
  std::string old_run, new_run;
  bool json = false;
};

int diff(const DiffArgs& a) {
  const auto old_run = harness::load_cells(a.old_run);
  const auto new_run = harness::load_cells(a.new_run);
  const auto d = harness::diff_runs(old_run, new_run);
  if (a.json)
    std::cout << harness::diff_json(d, old_run, new_run).dump(2) << "\n";
  else
    std::cout << harness::render_diff(d, old_run, new_run);
  return d.changed() ? tlsmatrix::exit_codes::changed : tlsmatrix::exit_codes::ok;
}

struct BaselineArgs {
  std::vector<std::string> results;
  std::string out;
};

int baseline(const BaselineArgs& a) {
  std::vector<harness::RunCells> runs;
  for (const auto& r : a.results)
    runs.push_back(harness::load_cells(r));
  const std::string text = harness::render_baseline(harness::merge_runs(runs));
  if (a.out == "-") {
    std::cout << text;
  } else {
    common::write_file_atomic(a.out, text);
    std::cerr << "tlsmatrix: wrote " << a.out << "\n";
  }
  return tlsmatrix::exit_codes::ok;
}

} // namespace

void add_gate_options(CLI::App& run, GateArgs& g) {
  auto* exp = run.add_option("--expectations", g.expectations,
                             "Known deviations: matching failures are expected_failure, matching "
                             "passes unexpected_pass")
                  ->capture_default_str();
  run.add_flag("--no-expectations", g.no_expectations, "Grade without any expectations file")
      ->excludes(exp);
  run.add_flag("--strict", g.strict, "An unexpected_pass (a stale expectation) fails the run");
  auto* base = run.add_option("--baseline", g.baseline,
                              "Compare the run with this baseline (or results.json / run folder) "
                              "and print the cells that changed");
  run.add_flag("--fail-on-change", g.fail_on_change, "With --baseline: exit 6 when a cell changed")
      ->needs(base);
  run.add_option("--write-baseline", g.write_baseline, "Write the run's baseline to this file");
}

Gates load_gates(const GateArgs& g) {
  Gates gates;
  std::error_code ec;
  const bool missing_default = g.expectations == TLSMATRIX_DEFAULT_EXPECTATIONS &&
                               !std::filesystem::exists(g.expectations, ec);
  if (!g.no_expectations && !g.expectations.empty() && !missing_default)
    gates.expectations = harness::load_expectations(g.expectations);
  // An installed binary without its source tree: say so rather than grade silently without.
  if (!g.no_expectations && missing_default)
    std::cerr << "tlsmatrix: note: the default expectations file " << g.expectations
              << " is missing; every stack difference counts (--expectations FILE to give one)\n";
  if (!g.baseline.empty())
    gates.baseline = harness::load_cells(g.baseline);
  return gates;
}

void note_expectations(const Gates& gates, const GateArgs& g, nlohmann::ordered_json& results) {
  if (gates.expectations)
    results["expectations"] = {{"file", gates.expectations->file.string()},
                               {"entries", gates.expectations->entries.size()},
                               {"strict", g.strict}};
}

bool finish_gates(const Gates& gates, const GateArgs& g, const nlohmann::ordered_json& results,
                  const std::string& origin,
                  const std::function<bool(const std::string&)>& in_scope, bool quiet) {
  // Stale expectations, each with the entry to remove (also under --quiet: they are the point).
  for (const auto& c : results["cases"])
    if (c["verdict"]["grade"] == "unexpected_pass" && (!quiet || g.strict))
      std::cout << "unexpected pass: " << c["id"].get<std::string>() << ": "
                << c["verdict"]["detail"].get<std::string>() << "\n";
  const auto cells = harness::cells_of_results(results, origin);
  if (!g.write_baseline.empty()) {
    common::write_file_atomic(g.write_baseline, harness::render_baseline(cells));
    if (!quiet)
      std::cerr << "tlsmatrix: wrote baseline " << g.write_baseline << "\n";
  }
  if (!gates.baseline)
    return false;
  auto d = harness::diff_runs(*gates.baseline, cells, in_scope);
  if (gates.expectations)
    harness::mark_racy(d, *gates.expectations);
  if (!quiet || d.changed())
    std::cout << "\nbaseline " << harness::render_diff(d, *gates.baseline, cells);
  return g.fail_on_change && d.changed();
}

void add_diff_commands(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<DiffArgs>();
  auto* d = app.add_subcommand("diff", "List the cells whose behaviour changed between two runs");
  d->add_option("old", a->old_run, "results.json, run folder or baseline file")->required();
  d->add_option("new", a->new_run, "results.json, run folder or baseline file")->required();
  d->add_flag("--json", a->json, "Machine-readable output");
  d->footer("Compares per cell: grade (before expectations), reason, alert, alert sender, phase; "
            "lists cells only in OLD or only in NEW. A cell whose peer is not available in NEW is "
            "'not run', not a change. Exit 0: no change; 6: cells changed; 2: bad input; 3: a "
            "file cannot be read.");
  d->callback([a, &run] { run = [a] { return diff(*a); }; });

  auto b = std::make_shared<BaselineArgs>();
  auto* bl = app.add_subcommand("baseline", "Write the compact, sorted baseline of a saved run");
  bl->add_option("results", b->results,
                 "results.json, run folders or baselines; several runs of the same matrix are "
                 "merged (a cell that behaved differently keeps every behaviour as alternatives)")
      ->required();
  bl->add_option("-o,--out", b->out, "Baseline file to write ('-': standard output)")->required();
  bl->callback([b, &run] { run = [b] { return baseline(*b); }; });
}

} // namespace cli
