// JUnit XML from results.json: what CI test reporters show and gate on, with the evidence inline.
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>

#include "harness/report/report.hpp"
#include "report_model.hpp"

namespace harness {
namespace {

using report::json;
using report::str;

// XML 1.0 §2.2 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
bool xml_char(std::uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) ||
         (cp >= 0xE000 && cp <= 0xFFFD) || (cp >= 0x10000 && cp <= 0x10FFFF);
}

// Decodes one UTF-8 sequence at text[i]; returns its length, or 0 when malformed (overlong,
// surrogate, truncated, out of range).
std::size_t decode_utf8(std::string_view text, std::size_t i, std::uint32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  std::size_t n = 0;
  std::uint32_t min = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > text.size())
    return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

std::string attr(std::string_view text) {
  return xml_escape(text);
}

// Attribute values lose their line breaks to XML's normalisation unless written as references.
std::string attr_multiline(std::string_view text) {
  std::string out;
  for (char c : xml_escape(text)) {
    if (c == '\n')
      out += "&#10;";
    else if (c == '\t')
      out += "&#9;";
    else
      out += c;
  }
  return out;
}

std::string seconds(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", ms < 0 ? 0.0 : ms / 1000.0);
  return buf;
}

// Ant's schema (which Jenkins follows) wants a timestamp without a zone: results.json times are
// UTC.
std::string ant_timestamp(const std::string& rfc3339) {
  static const std::regex pattern(R"(^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$)");
  std::smatch m;
  return std::regex_match(rfc3339, m, pattern) ? m[1].str() : std::string();
}

std::string indent_block(const std::string& text, const std::string& prefix) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string alerts_text(const json& side) {
  std::string out;
  if (!side.contains("alerts") || !side["alerts"].is_array())
    return out;
  for (const auto& a : side["alerts"])
    out += (out.empty() ? "" : ", ") + str(a, "direction") + " " + str(a, "level") + " " +
           str(a, "description");
  return out;
}

// Everything a person needs to understand a failing case without opening another file.
std::string evidence(const report::CaseView& c) {
  const json& raw = *c.raw;
  std::string out = c.id + ": " + c.grade + "\n";
  out += "expected:  " + report::expectation_text(raw) + "\n";
  out += "verdict:   " + (c.detail.empty() ? c.grade : c.detail) + "\n";
  if (!c.reason.empty())
    out += "reason:    " + c.reason +
           (c.rejected_by.empty() ? "" : " (rejected by the " + c.rejected_by + ")") + "\n";
  if (!c.alert.empty())
    out += "alert:     " + c.alert + (c.alert_from.empty() ? "" : ", sent by the " + c.alert_from) +
           "\n";
  const json& obs = report::child(raw, "observation");
  for (const char* side : {"client", "server"}) {
    const json& s = report::child(obs, side);
    const std::string peer = str(s, "peer").empty()
                                 ? (side == std::string("client") ? c.client : c.server)
                                 : str(s, "peer");
    out += std::string(side) + ":    " + peer + ": " + report::side_text(s) + "\n";
    if (const std::string a = alerts_text(s); !a.empty())
      out += "  alerts:  " + a + "\n";
    if (!str(s, "peer_identity").empty())
      out += "  peer identity: " + str(s, "peer_identity") + "\n";
    if (const std::string e = str(s, "error_text"); !e.empty())
      out += "  error text:\n" + indent_block(e, "    | ");
  }
  if (raw.contains("reproduce") && raw["reproduce"].is_object() && !raw["reproduce"].empty()) {
    out += "reproduce:\n";
    for (const char* side : {"server", "client"})
      if (!str(raw["reproduce"], side).empty())
        out += "  " + std::string(side) + ": " + str(raw["reproduce"], side) + "\n";
  }
  if (raw.contains("logs") && !str(raw["logs"], "dir").empty())
    out += "logs:      " + str(raw["logs"], "dir") + "\n";
  return out;
}

struct Counts {
  int tests = 0, failures = 0, errors = 0, skipped = 0;
  double ms = 0;
};

std::string counts_attrs(const Counts& n) {
  return " tests=\"" + std::to_string(n.tests) + "\" failures=\"" + std::to_string(n.failures) +
         "\" errors=\"" + std::to_string(n.errors) + "\" skipped=\"" + std::to_string(n.skipped) +
         "\" time=\"" + seconds(n.ms) + "\"";
}

std::string testcase(const report::CaseView& c, Counts& n, bool strict) {
  ++n.tests;
  n.ms += c.elapsed_ms;
  std::string out = "    <testcase classname=\"" + attr(c.scenario) + "\" name=\"" +
                    attr(c.label()) + "\" time=\"" + seconds(c.elapsed_ms) + "\"";
  const std::string message = c.detail.empty() ? c.grade : c.detail;
  if (c.grade == "pass")
    return out + "/>\n";
  out += ">\n";
  if (report::is_skip(c.grade)) {
    ++n.skipped;
    const std::string why =
        c.grade == "expected_failure" ? "expected failure: " + message : message;
    out += "      <skipped message=\"" + attr_multiline(why) + "\"/>\n";
  } else if (c.grade == "unexpected_pass" && strict) {
    // Under --strict a stale expectation fails the run, so CI shows it as a failure.
    ++n.failures;
    out += "      <failure message=\"" + attr_multiline("unexpected_pass: " + message) +
           "\" type=\"unexpected_pass\">" + xml_escape(evidence(c)) + "</failure>\n";
  } else if (c.grade == "unexpected_pass") {
    // A known deviation that no longer happens: CI shows it passing; the note says to drop the
    // entry.
    out +=
        "      <system-out>" + xml_escape("unexpected pass: " + message + "\n") + "</system-out>\n";
  } else {
    // A broken adapter (failed sanity gate) is an error of the setup, not a stack's failure.
    const bool error = c.grade == "harness_error" || c.grade == "adapter_broken";
    ++(error ? n.errors : n.failures);
    const char* tag = error ? "error" : "failure";
    out += "      <" + std::string(tag) + " message=\"" + attr_multiline(c.grade + ": " + message) +
           "\" type=\"" + attr(c.grade) + "\">" + xml_escape(evidence(c)) + "</" + tag + ">\n";
  }
  return out + "    </testcase>\n";
}

std::string properties(const json& results) {
  std::vector<std::pair<std::string, std::string>> props;
  props.push_back({"tool", str(results, "tool")});
  props.push_back({"run_id", str(results, "run_id")});
  props.push_back({"started", str(results, "started")});
  props.push_back({"finished", str(results, "finished")});
  props.push_back({"interrupted", results.value("interrupted", false) ? "true" : "false"});
  if (results.contains("pki") && !str(results["pki"], "dir").empty())
    props.push_back({"pki", str(results["pki"], "dir")});
  if (!str(results, "scenarios").empty())
    props.push_back({"scenarios", str(results, "scenarios")});
  if (results.contains("peers"))
    for (const auto& [name, p] : results["peers"].items()) {
      std::string value = str(p, "version");
      if (p.is_object() && p.contains("available") && p["available"] == false)
        value = "unavailable: " + str(p, "unavailable");
      props.push_back({"peer." + name, value});
    }
  // Rejections neither output nor wire explains: adapter defects, visible in CI too.
  if (const auto u = results.find("unmapped"); u != results.end() && u->is_object()) {
    props.push_back({"unmapped", u->value("count", json(0)).dump() + " of " +
                                     u->value("rejecting_sides", json(0)).dump() +
                                     " rejecting sides"});
    if (const auto by = u->find("by_peer"); by != u->end() && by->is_object())
      for (const auto& [peer, n] : by->items())
        if (n.is_object())
          props.push_back({"unmapped." + peer, std::to_string(n.value("unmapped", 0)) + " of " +
                                                   std::to_string(n.value("rejecting", 0))});
  }
  if (results.contains("options") && results["options"].is_object())
    for (const auto& [key, value] : results["options"].items())
      props.push_back(
          {"option." + key, value.is_string() ? value.get<std::string>() : value.dump()});
  std::string out = "    <properties>\n";
  for (const auto& [name, value] : props)
    out +=
        "      <property name=\"" + attr(name) + "\" value=\"" + attr_multiline(value) + "\"/>\n";
  return out + "    </properties>\n";
}

} // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t n = decode_utf8(text, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD for a byte that starts no valid UTF-8 sequence
      ++i;
      continue;
    }
    const std::string_view bytes = text.substr(i, n);
    i += n;
    if (!xml_char(cp))
      continue;
    switch (cp) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break; // also keeps "]]>" out of content
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '\r':
      out += "&#13;";
      break; // a literal CR would be normalised away
    default:
      out += bytes;
    }
  }
  return out;
}

std::string render_junit(const json& results) {
  check_results(results, "results");
  const report::RunView v = report::view(results);
  const std::string props = properties(results);
  const std::string timestamp = ant_timestamp(str(results, "started"));
  const std::string stamp_attr = timestamp.empty() ? "" : " timestamp=\"" + timestamp + "\"";

  std::string suites;
  Counts total;
  auto add_suite = [&](const std::string& name, const std::string& body, const Counts& n) {
    suites += "  <testsuite name=\"" + attr(name) + "\"" + counts_attrs(n) + stamp_attr + ">\n" +
              props + body + "  </testsuite>\n";
    total.tests += n.tests;
    total.failures += n.failures;
    total.errors += n.errors;
    total.skipped += n.skipped;
    total.ms += n.ms;
  };
  std::map<std::string, std::vector<const report::CaseView*>> by_scenario;
  for (const auto& c : v.cases)
    by_scenario[c.scenario].push_back(&c);
  const bool strict = report::child(results, "expectations").value("strict", false);
  for (const auto& scenario : v.scenarios) {
    Counts n;
    std::string body;
    for (const auto* c : by_scenario[scenario])
      body += testcase(*c, n, strict);
    add_suite(scenario, body, n);
  }
  const bool interrupted = results.value("interrupted", false);
  if (interrupted || v.cases.empty()) {
    Counts n;
    std::string body;
    if (interrupted) {
      n.tests = n.errors = 1;
      body = "    <testcase classname=\"tlsmatrix\" name=\"run completed\" time=\"0.000\">\n"
             "      <error message=\"" +
             attr("the run was interrupted: " + std::to_string(v.cases.size()) +
                  " cases saved, the rest never ran") +
             "\" type=\"interrupted\"/>\n    </testcase>\n";
    }
    add_suite("tlsmatrix", body, n);
  }
  const std::string name =
      "tlsmatrix" + (str(results, "run_id").empty() ? "" : " " + str(results, "run_id"));
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"" + attr(name) + "\"" +
         counts_attrs(total) + stamp_attr + ">\n" + suites + "</testsuites>\n";
}

} // namespace harness
