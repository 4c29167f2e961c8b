// The HTML report: the page template with the results (and the small logs) embedded, and the
// writer that puts every report into a run folder.
#include <system_error>

#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/report/report.hpp"
#include "report_model.hpp"

namespace harness {
namespace report {
std::string_view html_template(); // generated from report_template.html
} // namespace report

namespace {

namespace fs = std::filesystem;
using report::json;
using report::str;

std::string html_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

// JSON that can sit inside <script type="application/json">: the only way out of a script element
// is "</script" (and "<!--" changes how it is parsed), so no "<" is left; in JSON text "<" only
// occurs inside strings, where \u003c means the same.
std::string script_json(const json& j) {
  const std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else
      out += c;
  }
  return out;
}

std::string url_path(const fs::path& p) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : p.generic_string()) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/')
      out += c;
    else
      out += {'%', hex[u >> 4], hex[u & 15]};
  }
  return out;
}

// Where a recorded log path is now. Runs record paths as given on their command line (relative
// to where they were started, e.g. results/<run-id>/cases/…), and run folders get copied (CI
// artifacts): so also look for the part after the run id, or from "cases" on, under the folder
// results.json was read from.
fs::path locate_log(const std::string& recorded, const fs::path& results_dir,
                    const std::string& run_id) {
  const fs::path p(recorded);
  std::error_code ec;
  if (fs::exists(p, ec))
    return fs::absolute(p, ec);
  if (results_dir.empty())
    return p;
  for (const std::string& anchor : {run_id, std::string("cases")}) {
    if (anchor.empty())
      continue;
    fs::path rest;
    bool found = false;
    for (const auto& part : p) {
      if (found)
        rest /= part;
      else if (part == anchor)
        found = true;
    }
    if (!found)
      continue;
    const fs::path candidate = results_dir / (anchor == "cases" ? fs::path("cases") / rest : rest);
    if (fs::exists(candidate, ec))
      return fs::absolute(candidate, ec);
  }
  return p;
}

bool inlinable(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".out") || ends(".err") || ends(".log") || ends(".txt");
}

// Per case: its log files with a link relative to the report and, for small text logs, their text.
json logs_json(const json& results, const HtmlOptions& options) {
  json logs = json::object();
  const std::string run_id = str(results, "run_id");
  std::error_code ec;
  const fs::path out_dir =
      options.output.empty() ? fs::path() : fs::absolute(options.output, ec).parent_path();
  std::size_t budget = options.log_budget;
  const auto& cases = results["cases"];
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i].contains("logs") || !cases[i]["logs"].is_object())
      continue;
    json files = json::array();
    for (const auto& [name, value] : cases[i]["logs"].items()) {
      if (name == "dir" || !value.is_string())
        continue;
      json f = {{"name", name}, {"path", value.get<std::string>()}};
      const fs::path at = locate_log(value.get<std::string>(), options.results_dir, run_id);
      const bool present = fs::is_regular_file(at, ec);
      if (!present) {
        f["note"] = "not found";
        files.push_back(f);
        continue;
      }
      const auto size = fs::file_size(at, ec);
      if (!ec)
        f["size"] = size;
      if (!out_dir.empty()) {
        const fs::path rel = at.lexically_relative(out_dir);
        f["href"] = rel.empty() ? "file://" + url_path(at) : url_path(rel);
      } else {
        f["href"] = "file://" + url_path(at);
      }
      if (!options.inline_logs || !inlinable(name)) {
        if (name.find("keylog") != std::string::npos)
          f["note"] = "TLS secrets: linked, not inlined";
      } else if (ec || size > options.log_limit) {
        f["note"] =
            "larger than " + std::to_string(options.log_limit / 1024) + " KiB: linked, not inlined";
      } else if (size > budget) {
        f["note"] = "the report's inline budget is spent: linked, not inlined";
      } else if (size > 0) {
        try {
          f["text"] = common::read_file(at);
          budget -= size;
        } catch (const std::exception&) {
          f["note"] = "unreadable";
        }
      }
      files.push_back(f);
    }
    if (!files.empty())
      logs[std::to_string(i)] = files;
  }
  return logs;
}

} // namespace

std::string render_html(const json& results, const HtmlOptions& options) {
  check_results(results, "results");
  const report::RunView v = report::view(results);
  int failing = 0;
  for (const auto& c : v.cases)
    if (report::is_failure(c.grade))
      ++failing;
  std::string title = "tlsmatrix";
  if (!str(results, "run_id").empty())
    title += " \u00b7 " + str(results, "run_id");
  title += " \u00b7 " +
           (failing ? std::to_string(failing) + " of " + std::to_string(v.cases.size()) + " failed"
                    : std::to_string(v.cases.size()) + " cases");
  const json extra = {{"logs", logs_json(results, options)}};

  // Placeholders are found in the template, never in what was substituted (results may contain
  // any text, including a placeholder's spelling).
  const std::string_view page = report::html_template();
  const std::pair<std::string_view, std::string> fills[] = {
      {"{{TLSMATRIX:TITLE}}", html_text(title)},
      {"{{TLSMATRIX:RESULTS}}", script_json(results)},
      {"{{TLSMATRIX:EXTRA}}", script_json(extra)},
  };
  std::string out;
  out.reserve(page.size() + fills[1].second.size() + fills[2].second.size());
  std::size_t at = 0;
  for (const auto& [token, value] : fills) {
    const std::size_t pos = page.find(token, at);
    if (pos == std::string_view::npos)
      throw tlsmatrix::Error(tlsmatrix::Errc::internal,
                             "report template lacks " + std::string(token));
    out.append(page.substr(at, pos - at));
    out += value;
    at = pos + token.size();
  }
  out.append(page.substr(at));
  return out;
}

void write_reports(const json& results, const fs::path& run_dir) {
  HtmlOptions html;
  html.output = run_dir / "report.html";
  html.results_dir = run_dir;
  MarkdownOptions markdown;
  markdown.html_link = "report.html";
  markdown.html_text = (run_dir / "report.html").string();
  common::write_file_atomic(run_dir / "report.html", render_html(results, html));
  common::write_file_atomic(run_dir / "junit.xml", render_junit(results));
  common::write_file_atomic(run_dir / "summary.md", render_markdown(results, markdown));
}

} // namespace harness
