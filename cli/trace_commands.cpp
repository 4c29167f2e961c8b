// `tlsmatrix trace CASE`: a saved case's wire trace as a ladder diagram (thin: the harness
// renders).
#include <iostream>

#include "commands.hpp"
#include "harness/report/ladder.hpp"
#include "harness/report/report.hpp"
#include "harness/results/results_file.hpp"

namespace cli {
namespace {

struct TraceArgs {
  std::string query;
  std::string results = "results/latest/results.json";
};

int trace(const TraceArgs& a) {
  const harness::SavedRun run = harness::load_results(a.results);
  std::cout << harness::render_ladder(harness::find_case(run.results, a.query)) << std::flush;
  return 0;
}

} // namespace

void add_trace_commands(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<TraceArgs>();
  auto* t = app.add_subcommand("trace", "Show a case's handshake on the wire as a ladder diagram");
  t->add_option("case", a->query, "Case id, or a unique substring or glob of one")->required();
  t->add_option("--results", a->results, "results.json, a run folder, or results/latest")
      ->capture_default_str();
  t->callback([a, &run] { run = [a] { return trace(*a); }; });
}

} // namespace cli
