// Expectations files: strict parsing, matching a case against the entries, and regrading.
#include "harness/grading/expectations.hpp"

#include "harness/report/grades.hpp"

#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/glob.hpp"
#include "harness/peers/peer.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;
using json = nlohmann::json;

[[noreturn]] void invalid(const fs::path& file, const std::string& pointer,
                          const std::string& what) {
  throw Error(Errc::invalid_input, file.string() + ": " + pointer + ": " + what);
}

// Grades an entry may name: the failing ones grade_case gives.
constexpr std::array<std::string_view, 4> coverable = {"wrong_reason", "fail", "timeout",
                                                       "harness_error"};

// Case ids are made of scenario ids, versions and peer names: no spaces, no '/' inside a part,
// no "->", and glob_match knows only * and ?, so brackets are a mistake, not a character class.
void check_glob(const fs::path& file, const std::string& pointer, std::string glob) {
  if (glob.starts_with("!")) // an exclusion, in a list of globs
    glob.erase(0, 1);
  if (glob.empty())
    invalid(file, pointer, "empty pattern (use \"*\" for any)");
  for (const char c : glob)
    if (c == '/' || c == '[' || c == ']' || c == '{' || c == '}' || c == '\\' ||
        static_cast<unsigned char>(c) <= ' ')
      invalid(file, pointer,
              "bad pattern \"" + glob + "\": only names, * and ? (got '" + std::string(1, c) +
                  "')");
  if (glob.find("->") != std::string::npos)
    invalid(file, pointer, "bad pattern \"" + glob + "\": use \"client\" and \"server\", not ->");
}

std::string get_string(const fs::path& file, const std::string& pointer, const json& v) {
  if (!v.is_string())
    invalid(file, pointer, "expected a string, got " + std::string(v.type_name()));
  return v.get<std::string>();
}

std::vector<std::string> get_list(const fs::path& file, const std::string& pointer, const json& v) {
  if (v.is_string())
    return {v.get<std::string>()};
  if (!v.is_array() || v.empty())
    invalid(file, pointer, "expected a string or a non-empty array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i)
    out.push_back(get_string(file, pointer + "/" + std::to_string(i), v[i]));
  return out;
}

ExpectationEntry parse_entry(const fs::path& file, const std::string& at, const json& j) {
  if (!j.is_object())
    invalid(file, at, "expected an object, got " + std::string(j.type_name()));
  ExpectationEntry e;
  e.ref = file.string() + "#" + at;
  for (const auto& [key, value] : j.items()) {
    const std::string p = at + "/" + key;
    if (key == "scenario" || key == "tls" || key == "client" || key == "server" || key == "peer") {
      std::vector<std::string> globs = get_list(file, p, value);
      for (std::size_t i = 0; i < globs.size(); ++i) {
        const std::string at_i = p + (value.is_array() ? "/" + std::to_string(i) : "");
        check_glob(file, at_i, globs[i]);
        if (key == "tls" && !common::glob_match(globs[i], "1.2") &&
            !common::glob_match(globs[i], "1.3"))
          invalid(file, at_i, "\"" + globs[i] + "\" matches neither 1.2 nor 1.3");
      }
      (key == "scenario" ? e.scenario
       : key == "tls"    ? e.tls
       : key == "client" ? e.client
       : key == "server" ? e.server
                         : e.peer) = std::move(globs);
    } else if (key == "grades") {
      e.grades = get_list(file, p, value);
      for (std::size_t i = 0; i < e.grades.size(); ++i)
        if (std::find(coverable.begin(), coverable.end(), e.grades[i]) == coverable.end())
          invalid(file, p + (value.is_array() ? "/" + std::to_string(i) : ""),
                  "expected one of wrong_reason, fail, timeout, harness_error, got \"" +
                      e.grades[i] + "\"");
    } else if (key == "reasons") {
      e.reasons = get_list(file, p, value);
      for (std::size_t i = 0; i < e.reasons.size(); ++i)
        check_glob(file, p + (value.is_array() ? "/" + std::to_string(i) : ""), e.reasons[i]);
    } else if (key == "reason") {
      e.reason = get_string(file, p, value);
      if (e.reason.find_first_not_of(" \t\n") == std::string::npos)
        invalid(file, p, "empty: say why this deviation is expected");
    } else if (key == "racy") {
      if (!value.is_boolean())
        invalid(file, p, "expected true or false, got " + std::string(value.type_name()));
      e.racy = value.get<bool>();
    } else if (key == "checks") {
      e.checks = get_list(file, p, value);
      for (std::size_t i = 0; i < e.checks.size(); ++i)
        if (e.checks[i] != "alerts" && e.checks[i] != "flow")
          invalid(file, p + (value.is_array() ? "/" + std::to_string(i) : ""),
                  "expected alerts or flow, got \"" + e.checks[i] + "\"");
    } else if (key == "note") {
      get_string(file, p, value); // free text for people, e.g. how it was checked
    } else {
      invalid(file, p,
              "unknown key (expected scenario, tls, client, server, peer, grades, reasons, "
              "checks, reason, racy, note)");
    }
  }
  if (e.reason.empty())
    invalid(file, at + "/reason", "missing: every entry says why the deviation is expected");
  return e;
}

// What a cell's scenario checks, as far as its wire could show it: a check the wire could not show
// (records left encrypted for want of a key log) did not happen — the flow unless every record
// was read, the alerts unless one was seen.
CellChecks cell_checks(bool alerts_expected, bool flow_expected, bool wire_readable,
                       bool alert_seen) {
  return {alerts_expected && (wire_readable || alert_seen), flow_expected && wire_readable};
}

} // namespace

Expectations load_expectations(const fs::path& file) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw Error(Errc::io, "cannot read expectations " + file.string() + ": no such file");
  json j;
  try {
    j = json::parse(common::read_file(file));
  } catch (const json::parse_error& e) {
    throw Error(Errc::invalid_input, file.string() + ": not valid JSON: " + e.what());
  }
  if (!j.is_object())
    invalid(file, "", "expected an object with \"version\": 1 and \"entries\"");
  Expectations out;
  out.file = file;
  bool has_version = false;
  for (const auto& [key, value] : j.items()) {
    if (key == "version") {
      if (!value.is_number_integer() || value.get<long long>() != 1)
        invalid(file, "/version", "expected 1, got " + value.dump());
      has_version = true;
    } else if (key == "description") {
      get_string(file, "/description", value);
    } else if (key == "entries") {
      if (!value.is_array())
        invalid(file, "/entries", "expected an array, got " + std::string(value.type_name()));
      for (std::size_t i = 0; i < value.size(); ++i)
        out.entries.push_back(parse_entry(file, "/entries/" + std::to_string(i), value[i]));
    } else {
      invalid(file, "/" + key, "unknown key (expected version, description, entries)");
    }
  }
  if (!has_version)
    invalid(file, "/version", "missing (expected 1)");
  if (!j.contains("entries"))
    invalid(file, "/entries", "missing (expected an array)");
  return out;
}

bool entry_matches_cell(const ExpectationEntry& entry, const std::string& scenario,
                        const std::string& tls, const std::string& client,
                        const std::string& server) {
  // Any glob matches and no "!glob" does (a list of exclusions alone starts from "*").
  auto any = [](const std::vector<std::string>& globs, const std::string& part) {
    bool included = false, only_exclusions = true;
    for (const auto& g : globs) {
      if (g.starts_with("!")) {
        if (common::glob_match(g.substr(1), part))
          return false;
      } else {
        only_exclusions = false;
        included = included || common::glob_match(g, part);
      }
    }
    return included || only_exclusions;
  };
  return any(entry.scenario, scenario) && any(entry.tls, tls) && any(entry.client, client) &&
         any(entry.server, server) && (any(entry.peer, client) || any(entry.peer, server));
}

const ExpectationEntry* find_expectation(const Expectations& e, const std::string& scenario,
                                         const std::string& tls, const std::string& client,
                                         const std::string& server, const std::string& grade,
                                         const std::string& reason, CellChecks checks) {
  if (grade == "not_applicable")
    return nullptr; // nothing ran: there is no behaviour to excuse
  const bool passed = grade == "pass";
  auto checked = [&](const ExpectationEntry& entry) {
    return entry.checks.empty() ||
           std::any_of(entry.checks.begin(), entry.checks.end(), [&](const std::string& c) {
             return c == "alerts" ? checks.alerts : checks.flow;
           });
  };
  for (const auto& entry : e.entries) {
    if (!entry_matches_cell(entry, scenario, tls, client, server) || !checked(entry))
      continue;
    if (passed) {
      // A pass says the deviation is gone, for an entry that speaks about this cell: not for a
      // racy one, nor for one narrowed to reasons the pass does not have (an entry for every
      // rejection, "?*", says nothing about a scenario whose cells are accepted).
      if (entry.racy ||
          (!entry.reasons.empty() &&
           std::none_of(entry.reasons.begin(), entry.reasons.end(),
                        [&](const std::string& r) { return common::glob_match(r, reason); })))
        continue;
      return &entry;
    }
    if (!entry.grades.empty() &&
        std::find(entry.grades.begin(), entry.grades.end(), grade) == entry.grades.end())
      continue;
    if (!entry.reasons.empty() &&
        std::none_of(entry.reasons.begin(), entry.reasons.end(),
                     [&](const std::string& r) { return common::glob_match(r, reason); }))
      continue;
    return &entry;
  }
  return nullptr;
}

void apply_expectations(const Expectations& e, CaseResult& r) {
  Verdict& v = r.verdict;
  const Grade own = v.original.value_or(v.grade);
  v.grade = own;
  v.original.reset();
  v.expectation.clear();
  v.expectation_ref.clear();
  const Expectation& expect = r.spec.scenario->expect;
  const CellChecks checks = cell_checks(
      !expect.alerts.empty(),
      std::any_of(expect.flows.begin(), expect.flows.end(),
                  [&](const auto& f) { return f.first == r.spec.version; }),
      std::none_of(r.trace.begin(), r.trace.end(),
                   [](const auto& ev) { return ev.kind == wire::EventKind::encrypted; }),
      !v.alert.empty());
  const auto* entry = find_expectation(
      e, r.spec.scenario->id, std::string(to_string(r.spec.version)), r.spec.client->info().name,
      r.spec.server->info().name, std::string(to_string(own)), v.reason, checks);
  if (entry == nullptr)
    return;
  v.original = own;
  v.grade = own == Grade::pass ? Grade::unexpected_pass : Grade::expected_failure;
  v.expectation = entry->reason;
  v.expectation_ref = entry->ref;
}

void apply_expectations(const Expectations& e, nlohmann::ordered_json& results, bool strict) {
  std::map<std::string, int> totals;
  for (auto& c : results["cases"]) {
    auto& v = c["verdict"];
    if (v.contains("original_grade") && v["original_grade"].is_string())
      v["grade"] = v["original_grade"];
    if (v.contains("expectation") && v["expectation"].is_object() &&
        v["expectation"].contains("original_detail"))
      v["detail"] = v["expectation"]["original_detail"];
    v.erase("original_grade");
    v.erase("expectation");
    const std::string own = v["grade"].get<std::string>();
    const std::string reason = v.contains("reason") && v["reason"].is_string()
                                   ? v["reason"].get<std::string>()
                                   : std::string();
    const std::string tls = c["tls"].get<std::string>();
    CellChecks checks;
    if (c.contains("expect") && c["expect"].is_object()) { // results.json keeps each case's
      const auto& x = c["expect"];
      bool readable = true;
      if (c.contains("trace") && c["trace"].is_array())
        for (const auto& ev : c["trace"])
          readable = readable && !(ev.is_object() && ev.value("kind", "") == "encrypted");
      checks =
          cell_checks(x.contains("alerts") && x["alerts"].is_array() && !x["alerts"].empty(),
                      x.contains("flow") && (x["flow"].is_array() ||
                                             (x["flow"].is_object() && x["flow"].contains(tls))),
                      readable, v.contains("alert") && v["alert"].is_string());
    }
    const auto* entry =
        find_expectation(e, c["scenario"].get<std::string>(), tls, c["client"].get<std::string>(),
                         c["server"].get<std::string>(), own, reason, checks);
    if (entry != nullptr) {
      const std::string detail =
          v.contains("detail") && v["detail"].is_string() ? v["detail"].get<std::string>() : "";
      v["original_grade"] = own;
      v["grade"] = own == "pass" ? "unexpected_pass" : "expected_failure";
      v["expectation"] = {
          {"reason", entry->reason}, {"entry", entry->ref}, {"original_detail", detail}};
      v["detail"] = detail_with_expectation(v["grade"].get<std::string>(), own, entry->reason,
                                            entry->ref, detail);
    }
    ++totals[v["grade"].get<std::string>()];
  }
  if (results.contains("totals") && results["totals"].is_object())
    for (auto& [grade, n] : results["totals"].items())
      n = totals.count(grade) ? totals[grade] : 0;
  for (const auto& [grade, n] : totals)
    results["totals"][grade] = n;
  results["expectations"] = {
      {"file", e.file.string()}, {"entries", e.entries.size()}, {"strict", strict}};
}

std::string detail_with_expectation(const std::string& grade, const std::string& original,
                                    const std::string& reason, const std::string& ref,
                                    const std::string& detail) {
  if (grade == "unexpected_pass")
    return "passes now: remove the expectation " + ref + " (" + reason + ")";
  if (grade == "expected_failure")
    return "known deviation (" + reason + "); was " + original + (detail.empty() ? "" : ": ") +
           detail;
  return detail;
}

bool fails_run(std::string_view grade, bool strict) {
  return report::fails_run(grade, strict);
}

} // namespace harness
