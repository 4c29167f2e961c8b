// Report writers: HTML (people), JUnit XML and Markdown (CI), all rendered from results.json alone
// (results/results_file.hpp reads one back).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace harness {

// The checks every report applies to its input, for results in memory (results_file.hpp's
// load_results applies them to a file): version 1, the cases and the fields the reports need.
// Throws Error(invalid_input) naming `origin` and the JSON pointer.
void check_results(const nlohmann::ordered_json& results, const std::string& origin);

// JUnit XML for CI test reporters (Jenkins, GitLab, GitHub actions): one testsuite per scenario,
// one testcase per case (classname = scenario id, name = "<client>-><server> TLS <version>").
// pass: a plain testcase; fail, wrong_reason, timeout: <failure>; harness_error: <error>;
// not_applicable: <skipped>; expected_failure: <skipped> whose message gives the expectation's
// reason and the original grade; unexpected_pass: passing with a note, or a <failure> when
// results["expectations"]["strict"] is true (run --strict / report --strict). The failure text
// carries the evidence. An interrupted run adds one testcase "tlsmatrix / run completed" with an
// <error>, so CI never shows a partial run as green.
[[nodiscard]] std::string render_junit(const nlohmann::ordered_json& results);

// Text made safe for XML 1.0 content and attribute values: markup characters escaped, characters
// XML cannot carry (most controls, U+FFFE, U+FFFF) and malformed UTF-8 removed.
[[nodiscard]] std::string xml_escape(std::string_view text);

struct MarkdownOptions {
  std::string html_link;     // link to the HTML report (relative to the summary); empty: none
  std::string html_text;     // what the link says (e.g. the report's path); empty: html_link
  std::size_t limit = 65535; // bytes; GitHub refuses PR comments of 65536 characters or more
};

// A summary for a CI job summary or a PR comment: totals, a compact matrix, the failing cells
// with their detail, the divergences between stacks, and where the HTML report is. Sections that
// do not fit in `limit` are cut with a note saying what was left out.
[[nodiscard]] std::string render_markdown(const nlohmann::ordered_json& results,
                                          const MarkdownOptions& options = {});

struct HtmlOptions {
  // Where the report will be written: log links are made relative to its folder.
  std::filesystem::path output;
  // The folder results.json was read from: relative log paths that do not exist from the current
  // directory are looked for under it (a run written with --out results, rendered elsewhere).
  std::filesystem::path results_dir;
  bool inline_logs = true;                  // *.out and *.err text, when present
  std::size_t log_limit = 64 * 1024;        // bytes per log file; larger ones are linked only
  std::size_t log_budget = 8 * 1024 * 1024; // bytes of log text in one report
};

// One self-contained HTML file (inline CSS and JS, no network): the matrix, filters, per-case
// details (both sides, raw errors, alert, handshake ladder, logs, reproduce commands) and the
// divergence view. The results are embedded verbatim in <script type="application/json"
// id="tlsmatrix-results">; a case's optional "trace" array, [{"direction": "client->server" |
// "server->client", "message" | "alert": NAME, "size": BYTES, "time_ms": MS}], is drawn as a
// ladder. The page reports its own health in #selfcheck (data-cells, data-cases, data-errors).
[[nodiscard]] std::string render_html(const nlohmann::ordered_json& results,
                                      const HtmlOptions& options = {});

// Writes report.html, junit.xml and summary.md into `run_dir`, each atomically. For `tlsmatrix
// run`.
void write_reports(const nlohmann::ordered_json& results, const std::filesystem::path& run_dir);

} // namespace harness
