// `tlsmatrix merge`: unites shard runs into one run folder with one results.json and the reports.
#include <iostream>

#include "commands.hpp"
#include "common/error.hpp"
#include "harness/grading/expectations.hpp"
#include "harness/report/report.hpp"
#include "harness/results/merge.hpp"

namespace cli {
namespace {

struct MergeArgs {
  std::vector<std::string> runs;
  std::string out;
  bool partial = false;
};

int merge(const MergeArgs& a) {
  std::vector<harness::SavedRun> runs;
  for (const auto& r : a.runs)
    runs.push_back(harness::load_results(r));
  harness::MergeOptions options;
  options.allow_partial = a.partial;
  auto merged = harness::merge_results(runs, options);
  harness::write_merged(a.out, merged, runs);
  int failing = 0;
  for (const auto& c : merged["cases"]) {
    const std::string g = c["verdict"].value("grade", "");
    if (harness::fails_run(g, false)) // as the unsharded run without --strict
      ++failing;
  }
  std::cerr << "tlsmatrix: merged " << runs.size() << " runs, " << merged["cases"].size()
            << " cases (" << failing << " not passing) into " << a.out
            << " (results.json, report.html, junit.xml, summary.md)\n";
  if (merged.value("interrupted", false))
    return tlsmatrix::exit_codes::cases_failed;
  return failing ? tlsmatrix::exit_codes::cases_failed : tlsmatrix::exit_codes::ok;
}

} // namespace

void add_merge_commands(CLI::App& app, std::function<int()>& run_fn) {
  auto a = std::make_shared<MergeArgs>();
  auto* m = app.add_subcommand("merge",
                               "Unite shard runs (run --shard K/N) into one run and its reports");
  m->add_option("runs", a->runs, "results.json files or run folders")->required();
  m->add_option("-o,--out", a->out,
                "Run folder to write (results.json, report.html, junit.xml, summary.md)")
      ->required();
  m->add_flag("--partial", a->partial, "Merge even when some shards of K/N are missing");
  m->footer(
      "Refuses (exit 2) runs that share a case id, ran different scenario sets or PKIs "
      "(fingerprints in results.json), differ in --repeat or in N, or repeat a shard. Exit 0 when "
      "every merged case passed (or is not applicable), 1 when some did not or a shard was "
      "interrupted, 3 when a run cannot be read or the output written.");
  m->callback([a, &run_fn] { run_fn = [a] { return merge(*a); }; });
}

} // namespace cli
