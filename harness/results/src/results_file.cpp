// Reading saved runs back: results.json found from a file, a run folder or results/latest, and
// checked as the reports check it (report.hpp's check_results).
#include "harness/results/results_file.hpp"

#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/report/report.hpp"

namespace harness {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

SavedRun load_results(const fs::path& path) {
  std::error_code ec;
  fs::path file = path;
  if (fs::is_directory(path, ec)) {
    file = path / "results.json";
    if (!fs::exists(file, ec))
      throw Error(Errc::io, "cannot read " + path.string() + ": no results.json in this folder");
  } else if (!fs::exists(path, ec)) {
    throw Error(Errc::io, "cannot read " + path.string() + ": no such file or folder");
  }
  const std::string text = common::read_file(file);
  SavedRun run;
  run.file = file;
  try {
    run.results = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(Errc::invalid_input, file.string() + ": not valid JSON: " + e.what());
  }
  check_results(run.results, file.string());
  return run;
}

} // namespace harness
