// The Markdown summary: what a CI job summary or a PR comment shows, within GitHub's size limit.
#include <algorithm>
#include <set>

#include "harness/report/report.hpp"
#include "report_model.hpp"

namespace harness {
namespace {

using report::json;
using report::str;

// Text that Markdown (GitHub's, with its HTML) shows as written, on one line.
std::string md(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '\n':
    case '\r':
    case '\t':
      out += ' ';
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '&':
      out += "&amp;";
      break;
    case '|':
      out += "\\|";
      break;
    case '\\':
    case '`':
    case '*':
    case '_':
    case '[':
    case ']':
    case '#':
    case '~':
      out += {'\\', c};
      break;
    default:
      if (static_cast<unsigned char>(c) >= 0x20 || c < 0)
        out += c;
    }
  }
  return out;
}

// A link destination: CommonMark ends it at a space or an unbalanced parenthesis.
std::string link_target(std::string_view path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '(' || c == ')' || c == '<' || c == '>' || c == '%' || c == '\\' ||
        u >= 0x7F)
      out += {'%', hex[u >> 4], hex[u & 15]};
    else
      out += c;
  }
  return out;
}

std::string pair_label(const std::string& client, const std::string& server) {
  return md(client) + " → " + md(server);
}

std::string pretty_grade(const std::string& g) {
  std::string out = g;
  std::replace(out.begin(), out.end(), '_', ' ');
  return out == "not applicable" ? "n/a" : out;
}

// Cuts at a UTF-8 boundary at or below `n` bytes.
std::string cut_utf8(const std::string& s, std::size_t n) {
  if (s.size() <= n)
    return s;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

// A section: a heading, items that fit, and a note for the ones that did not.
struct Section {
  std::string heading;
  std::vector<std::string> items;
  std::string footer; // after the items (a legend), counted with the heading
  std::string noun;   // "failing cells", for the note
};

// Renders as much of `s` as fits in `cap` bytes; `omitted` gets what was left out.
std::string fill(const Section& s, std::size_t cap, std::string& omitted) {
  if (s.items.empty())
    return {};
  const std::size_t note_room = 120;
  std::string out = s.heading;
  if (out.size() + s.footer.size() + note_room > cap) {
    omitted += (omitted.empty() ? "" : ", ") + std::string("all ") +
               std::to_string(s.items.size()) + " " + s.noun;
    return {};
  }
  std::size_t shown = 0;
  for (const auto& item : s.items) {
    if (out.size() + item.size() + s.footer.size() + note_room > cap)
      break;
    out += item;
    ++shown;
  }
  if (shown < s.items.size()) {
    const std::string left = std::to_string(s.items.size() - shown) + " of " +
                             std::to_string(s.items.size()) + " " + s.noun;
    out += "\n_… " + left + " not shown here: see the HTML report._\n";
    omitted += (omitted.empty() ? "" : ", ") + left;
  }
  return out + s.footer;
}

std::string head(const json& results, const report::RunView& v) {
  const auto counts = report::count_grades(v);
  int failing = 0;
  for (const auto& [g, n] : counts)
    if (report::is_failure(g))
      failing += n;
  const bool interrupted = results.value("interrupted", false);
  std::string out = "## tlsmatrix";
  if (!str(results, "run_id").empty())
    out += " run " + md(str(results, "run_id"));
  out += ": ";
  if (v.cases.empty())
    out += "no cases";
  else if (failing == 0 && !interrupted)
    out += "✅ all " + std::to_string(v.cases.size()) + " cases as expected";
  else if (failing == 0)
    out += "⚠️ " + std::to_string(v.cases.size()) + " cases as expected, run incomplete";
  else
    out +=
        "❌ " + std::to_string(failing) + " of " + std::to_string(v.cases.size()) + " cases failed";
  out += "\n\n";

  std::string meta = md(str(results, "tool"));
  if (!str(results, "started").empty())
    meta += " · started " + md(str(results, "started"));
  if (!str(results, "finished").empty())
    meta += " · finished " + md(str(results, "finished"));
  std::string peers;
  std::set<std::string> used;
  for (const auto& c : v.cases)
    used.insert(c.client), used.insert(c.server);
  if (results.contains("peers"))
    for (const auto& [name, p] : results["peers"].items()) {
      if (!used.contains(name))
        continue; // defined, but in no case of this run
      std::string one = "**" + md(name) + "** ";
      if (p.is_object() && p.contains("available") && p["available"] == false)
        one += "unavailable (" + md(str(p, "unavailable")) + ")";
      else
        one += str(p, "version").empty() ? "(version unknown)" : md(str(p, "version"));
      peers += (peers.empty() ? "" : ", ") + one;
    }
  if (peers.size() > 4096)
    peers = cut_utf8(peers, 4096) + " …";
  if (!peers.empty())
    meta += " · peers: " + peers;
  out += meta + "\n\n";
  if (interrupted)
    out += "> [!WARNING]\n> The run was interrupted: only the " + std::to_string(v.cases.size()) +
           " finished cases are reported.\n\n";

  std::string header = "|", rule = "|", row = "|";
  for (const auto& g : report::grade_order(results)) {
    const auto it = counts.find(g);
    const int n = it == counts.end() ? 0 : it->second;
    // The grades every run can have are always shown; later ones only when they occur.
    const bool core = g == "pass" || g == "wrong_reason" || g == "fail" || g == "timeout" ||
                      g == "harness_error" || g == "not_applicable";
    if (!core && n == 0)
      continue;
    header += " " + std::string(report::emoji(g)) + " " + md(pretty_grade(g)) + " |";
    rule += "---:|";
    row += " " + std::to_string(n) + " |";
  }
  out += header + " total |\n" + rule + "---:|\n" + row + " " + std::to_string(v.cases.size()) +
         " |\n\n";
  return out;
}

Section matrix(const report::RunView& v) {
  Section s;
  s.noun = "scenarios (matrix rows)";
  if (v.cases.empty())
    return s;
  // Full pair names fit as headers for a few columns; beyond that, numbers and a legend.
  const bool numbered = v.columns.size() > 8;
  s.heading = "### Matrix\n\n| scenario |";
  std::string rule = "|---|";
  for (std::size_t i = 0; i < v.columns.size(); ++i) {
    const auto& col = v.columns[i];
    s.heading += numbered ? " " + std::to_string(i + 1) + " |"
                          : " " + pair_label(col.client, col.server) + "<br>" + md(col.tls) + " |";
    rule += ":-:|";
  }
  s.heading += "\n" + rule + "\n";
  for (const auto& scenario : v.scenarios) {
    std::string line = "| " + md(scenario) + " |";
    for (const auto& col : v.columns) {
      const auto it = v.cell.find({scenario, col.label()});
      line += it == v.cell.end()
                  ? " |"
                  : " " + std::string(report::emoji(v.cases[it->second].grade)) + " |";
    }
    s.items.push_back(line + "\n");
  }
  s.footer = "\n";
  if (numbered) {
    s.footer += "Columns (client → server, TLS version):";
    for (std::size_t i = 0; i < v.columns.size(); ++i)
      s.footer += std::string(i ? " ·" : "") + " **" + std::to_string(i + 1) + "** " +
                  pair_label(v.columns[i].client, v.columns[i].server) + " " + md(v.columns[i].tls);
    s.footer += "\n\n";
  }
  s.footer +=
      "✅ pass · 🟡 wrong reason · ❌ fail · ⏱️ timeout · 💥 harness error · ➖ "
      "not "
      "applicable\n\n";
  return s;
}

// Failing cells, one item per scenario and failure: cells that failed the same way (same grade,
// same detail) are listed together, with each side's distinct evidence once.
Section failing(const report::RunView& v) {
  struct Group {
    const report::CaseView* first = nullptr;
    std::vector<const report::CaseView*> cells;
    std::vector<std::string> client, server;
  };
  std::vector<Group> groups;
  std::size_t n = 0;
  for (const auto& c : v.cases) {
    if (!report::is_failure(c.grade))
      continue;
    ++n;
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& k) {
      return k.first->scenario == c.scenario && k.first->grade == c.grade &&
             k.first->detail == c.detail &&
             report::expectation_text(*k.first->raw) == report::expectation_text(*c.raw);
    });
    if (g == groups.end())
      g = groups.insert(groups.end(), Group{&c, {}, {}, {}});
    g->cells.push_back(&c);
    const json& obs = report::child(*c.raw, "observation");
    for (const char* side : {"client", "server"}) {
      const json& o = report::child(obs, side);
      const std::string text =
          md(str(o, "peer").empty()
                 ? std::string(side == std::string("client") ? c.client : c.server)
                 : str(o, "peer")) +
          ": " + md(report::side_text(o));
      auto& list = side == std::string("client") ? g->client : g->server;
      if (std::find(list.begin(), list.end(), text) == list.end())
        list.push_back(text);
    }
  }
  Section s;
  s.noun = "failing cells";
  for (const auto& g : groups) {
    const report::CaseView& c = *g.first;
    std::string cells;
    for (const auto* k : g.cells)
      cells += (cells.empty() ? "" : ", ") + pair_label(k->client, k->server) + " " + md(k->tls);
    std::string item =
        "- " + std::string(report::emoji(c.grade)) + " **" + md(c.scenario) + "** — " +
        md(pretty_grade(c.grade)) +
        (g.cells.size() > 1 ? " in " + std::to_string(g.cells.size()) + " cells" : "") + ": " +
        cells + "\n";
    if (!c.detail.empty())
      item += "  - " + md(c.detail) + "\n";
    item += "  - expected: " + md(report::expectation_text(*c.raw)) + "\n";
    std::string client, server;
    for (const auto& t : g.client)
      client += (client.empty() ? "" : " · ") + t;
    for (const auto& t : g.server)
      server += (server.empty() ? "" : " · ") + t;
    item += "  - client " + client + "\n  - server " + server + "\n";
    if (!c.alert.empty())
      item += "  - alert: " + md(c.alert) +
              (c.alert_from.empty() ? "" : " from the " + md(c.alert_from)) + "\n";
    s.items.push_back(std::move(item));
  }
  s.noun = "failures";
  s.heading = "### Failing cells (" + std::to_string(n) + ")\n\n";
  if (!s.items.empty())
    s.footer = "\n";
  return s;
}

Section diverging(const report::RunView& v) {
  Section s;
  s.noun = "divergences";
  std::size_t rows = 0;
  for (const auto& d : report::divergences(v)) {
    ++rows;
    if (d.groups.size() < 2)
      continue;
    std::string item = "- **" + md(d.scenario) + "** TLS " + md(d.tls) + ": " +
                       std::to_string(d.groups.size()) + " behaviours\n";
    for (const auto& [behaviour, cases] : d.groups) {
      std::string pairs;
      for (const auto* c : cases)
        pairs += (pairs.empty() ? "" : ", ") + pair_label(c->client, c->server);
      item += "  - " + pairs + ": " + md(behaviour) + "\n";
    }
    s.items.push_back(std::move(item));
  }
  s.heading = "### Divergences (" + std::to_string(s.items.size()) + " of " + std::to_string(rows) +
              " scenario × version rows)\n\nWhere the pairs of one row behaved differently "
              "(outcome, phase, "
              "alert, reason):\n\n";
  if (!s.items.empty())
    s.footer = "\n";
  return s;
}

// Rejections neither output nor wire explains (results.json "unmapped"): adapter defects.
std::string unmapped_line(const json& results) {
  const json& u = report::child(results, "unmapped");
  if (!u.contains("count") || !u["count"].is_number_integer())
    return {};
  const long n = u["count"].get<long>();
  std::string out = "Unmapped reasons: " + std::to_string(n) + " of " +
                    u.value("rejecting_sides", json(0)).dump() + " rejecting sides";
  std::string by;
  for (const auto& [peer, k] : report::child(u, "by_peer").items())
    if (k.is_object() && k.value("unmapped", 0) > 0)
      by += (by.empty() ? " (" : ", ") + md(peer) + " " + std::to_string(k.value("unmapped", 0)) +
            " of " + std::to_string(k.value("rejecting", 0));
  out += by.empty() ? "" : by + ")";
  return (n ? "> [!WARNING]\n> " + out + ": the adapters did not understand these sides.\n\n"
            : out + ".\n\n");
}

// Every side whose own account the evidence contradicted (reconciliation's conflicts).
Section conflicting(const report::RunView& v) {
  Section s;
  s.noun = "conflicts";
  for (const auto& c : v.cases)
    for (const char* side : {"client", "server"}) {
      const json& o = report::child(report::child(*c.raw, "observation"), side);
      const json& claim = report::child(o, "overruled");
      if (claim.value("conflict", false))
        s.items.push_back("- `" + md(c.id) + "` " + side + " " + md(str(o, "peer")) + ": " +
                          md(str(claim, "note")) + "\n");
    }
  s.heading = "### Claims the evidence contradicts (" + std::to_string(s.items.size()) +
              ")\n\nA side said it rejected while the resource got through, or said it completed "
              "after sending a fatal alert; the verdicts use the evidence:\n\n";
  if (!s.items.empty())
    s.footer = "\n";
  return s;
}

} // namespace

std::string render_markdown(const json& results, const MarkdownOptions& options) {
  check_results(results, "results");
  const report::RunView v = report::view(results);
  const std::string top = head(results, v) + unmapped_line(results);
  std::string pointer =
      options.html_link.empty()
          ? "Render the full report with `tlsmatrix report RESULTS --html report.html`.\n"
          : "Full report (matrix, divergences, both sides of every case, logs): [" +
                md(options.html_text.empty() ? options.html_link : options.html_text) + "](" +
                link_target(options.html_link) + ")\n";
  const std::size_t footer_room = pointer.size() + 600; // the pointer and the truncation note
  const std::size_t limit = std::max<std::size_t>(options.limit, 1024);

  std::string body, omitted;
  auto room = [&] {
    return limit > top.size() + body.size() + footer_room
               ? limit - top.size() - body.size() - footer_room
               : 0;
  };
  const Section m = matrix(v), f = failing(v), d = diverging(v), k = conflicting(v);
  body += fill(m, room() * 2 / 5, omitted);
  body += fill(k, room() / 4, omitted);
  body += fill(f, d.items.empty() ? room() : room() * 3 / 4, omitted);
  if (d.items.empty() && !v.cases.empty())
    body += "No divergences: the pairs of every scenario behaved alike.\n\n";
  body += fill(d, room(), omitted);

  std::string out = top + body + "---\n" + pointer;
  if (!omitted.empty())
    out += "\n> [!NOTE]\n> Shortened to fit " + std::to_string(limit / 1024) +
           " KiB: " + md(omitted) + " left out. The HTML report has everything.\n";
  if (out.size() >=
      limit) // the reservations above make this unreachable; never exceed the limit anyway
    out = cut_utf8(out, limit - 64) + "\n\n_… cut at " + std::to_string(limit) + " bytes._\n";
  return out;
}

} // namespace harness
