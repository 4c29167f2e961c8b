// `tlsmatrix report`: renders a saved run as HTML, JUnit XML and Markdown (thin: the harness
// renders).
#include <iostream>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/grading/expectations.hpp"
#include "harness/report/divergence.hpp"
#include "harness/report/report.hpp"
#include "harness/results/results_file.hpp"

namespace cli {
namespace {

namespace fs = std::filesystem;

struct ReportArgs {
  std::string results;
  std::string html, junit, markdown;
  bool no_inline_logs = false;
  std::string expectations;
  bool strict = false;
};

// "-" is standard output; anything else is replaced atomically.
void emit(const std::string& target, const std::string& text) {
  if (target == "-") {
    std::cout << text << std::flush;
    return;
  }
  common::write_file_atomic(target, text);
  std::cerr << "tlsmatrix: wrote " << target << "\n";
}

// How the Markdown summary refers to the HTML report: a link relative to the summary, saying the
// path.
void link_html(harness::MarkdownOptions& md, const std::string& markdown, const fs::path& html) {
  md.html_text = html.string();
  std::error_code ec;
  const fs::path from =
      markdown == "-" ? fs::current_path(ec) : fs::absolute(markdown, ec).parent_path();
  const fs::path rel = fs::absolute(html, ec).lexically_relative(from);
  md.html_link = rel.empty() ? fs::absolute(html, ec).string() : rel.generic_string();
}

int report(const ReportArgs& a) {
  if ((a.html == "-") + (a.junit == "-") + (a.markdown == "-") > 1)
    throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                           "report: only one of --html, --junit, --markdown can be '-'");
  harness::SavedRun run = harness::load_results(a.results);
  if (!a.expectations.empty()) {
    // Regraded in memory only: the run's results.json stays as the run wrote it.
    harness::apply_expectations(harness::load_expectations(a.expectations), run.results, a.strict);
    run.results["divergence"] = harness::divergence_json(run.results);
  }
  const fs::path run_dir = run.file.parent_path();
  if (a.html.empty() && a.junit.empty() && a.markdown.empty()) {
    harness::write_reports(run.results, run_dir);
    for (const char* f : {"report.html", "junit.xml", "summary.md"})
      std::cerr << "tlsmatrix: wrote " << (run_dir / f).string() << "\n";
    return tlsmatrix::exit_codes::ok;
  }
  if (!a.html.empty()) {
    harness::HtmlOptions options;
    options.output = a.html == "-" ? fs::path() : fs::path(a.html);
    options.results_dir = run_dir;
    options.inline_logs = !a.no_inline_logs;
    emit(a.html, harness::render_html(run.results, options));
  }
  if (!a.junit.empty())
    emit(a.junit, harness::render_junit(run.results));
  if (!a.markdown.empty()) {
    harness::MarkdownOptions options;
    std::error_code ec;
    if (!a.html.empty() && a.html != "-")
      link_html(options, a.markdown, a.html);
    else if (fs::exists(run_dir / "report.html", ec))
      link_html(options, a.markdown, run_dir / "report.html");
    emit(a.markdown, harness::render_markdown(run.results, options));
  }
  return tlsmatrix::exit_codes::ok;
}

} // namespace

void add_report_commands(CLI::App& app, std::function<int()>& run) {
  auto a = std::make_shared<ReportArgs>();
  auto* r = app.add_subcommand("report", "Render a saved run as HTML, JUnit XML and Markdown");
  r->add_option("results", a->results, "results.json, a run folder, or results/latest")->required();
  r->add_option("--html", a->html,
                "Write the self-contained HTML report here ('-': standard output)");
  r->add_option("--junit", a->junit, "Write JUnit XML here ('-': standard output)");
  r->add_option("--markdown", a->markdown,
                "Write the Markdown summary here ('-': standard output)");
  r->add_flag("--no-inline-logs", a->no_inline_logs,
              "Link the cases' log files from the HTML without copying their text");
  r->add_option("--expectations", a->expectations,
                "Regrade with this expectations file (the saved results.json is not changed)");
  r->add_flag("--strict", a->strict,
              "With --expectations: JUnit shows an unexpected_pass as a failure");
  r->footer("Without --html, --junit or --markdown, writes report.html, junit.xml and summary.md "
            "into the run "
            "folder. Exit 0 when the reports were written, 2 when RESULTS is not a tlsmatrix "
            "results file "
            "(version 1), 3 when a file cannot be read or written.");
  r->callback([a, &run] { run = [a] { return report(*a); }; });
}

} // namespace cli
