// What the report writers share: the check of their input and a flat view of results.json.
#include "report_model.hpp"

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "harness/report/report.hpp"

namespace harness {
namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

namespace {

std::string type_name(const report::json& j) {
  if (j.is_null())
    return "null";
  if (j.is_string())
    return "a string";
  if (j.is_boolean())
    return "a boolean";
  if (j.is_number())
    return "a number";
  if (j.is_array())
    return "an array";
  return "an object";
}

[[noreturn]] void invalid(const std::string& origin, const std::string& pointer,
                          const std::string& what) {
  throw Error(Errc::invalid_input, origin + ": " + (pointer.empty() ? "" : pointer + ": ") + what);
}

void need(const report::json& parent, const std::string& key,
          bool (report::json::*is)() const noexcept, const char* expected,
          const std::string& origin, const std::string& pointer) {
  const auto it = parent.find(key);
  if (it == parent.end())
    invalid(origin, pointer + "/" + key, std::string("missing (expected ") + expected + ")");
  if (!((*it).*is)())
    invalid(origin, pointer + "/" + key,
            std::string("expected ") + expected + ", got " + type_name(*it));
}

} // namespace

void check_results(const report::json& results, const std::string& origin) {
  if (!results.is_object())
    invalid(origin, "", "expected a results object, got " + type_name(results));
  const auto version = results.find("version");
  if (version == results.end())
    invalid(origin, "/version", "missing: not a tlsmatrix results file");
  if (!version->is_number_integer() || version->get<long long>() != 1)
    invalid(origin, "/version",
            "unsupported results version " + version->dump() + " (this tlsmatrix reads version 1)");
  need(results, "cases", &report::json::is_array, "an array", origin, "");
  if (results.contains("interrupted") && !results["interrupted"].is_boolean())
    invalid(origin, "/interrupted", "expected a boolean, got " + type_name(results["interrupted"]));
  if (results.contains("peers") && !results["peers"].is_object())
    invalid(origin, "/peers", "expected an object, got " + type_name(results["peers"]));
  const auto& cases = results["cases"];
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string at = "/cases/" + std::to_string(i);
    if (!cases[i].is_object())
      invalid(origin, at, "expected an object, got " + type_name(cases[i]));
    for (const char* key : {"id", "scenario", "tls", "client", "server"})
      need(cases[i], key, &report::json::is_string, "a string", origin, at);
    need(cases[i], "verdict", &report::json::is_object, "an object", origin, at);
    need(cases[i]["verdict"], "grade", &report::json::is_string, "a string", origin,
         at + "/verdict");
    for (const char* key : {"observation", "expect", "logs", "reproduce"})
      if (cases[i].contains(key) && !cases[i][key].is_object())
        invalid(origin, at + "/" + key, "expected an object, got " + type_name(cases[i][key]));
  }
}

namespace report {

const json& child(const json& j, std::string_view key) {
  static const json empty = json::object();
  if (!j.is_object())
    return empty;
  const auto it = j.find(std::string(key));
  return it != j.end() && it->is_object() ? *it : empty;
}

std::string str(const json& j, std::string_view key) {
  if (!j.is_object())
    return {};
  const auto it = j.find(std::string(key));
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> grade_order(const json& results) {
  std::vector<std::string> out;
  for (const auto& g : grades())
    out.emplace_back(g.name);
  for (const auto& c : results["cases"]) {
    const std::string g = str(c["verdict"], "grade");
    if (std::find(out.begin(), out.end(), g) == out.end())
      out.push_back(g);
  }
  return out;
}

std::string stack_of(const std::string& client, const std::string& server) {
  // Our endpoints and the openssl CLI are the references every other peer is paired with.
  auto reference = [](const std::string& p) { return p == "local" || p == "openssl"; };
  if (!reference(client))
    return client;
  if (!reference(server))
    return server;
  return client != "local" ? client : server;
}

RunView view(const json& results) {
  RunView v;
  // Peers in the order results.json lists them (local first), then any others by name.
  std::vector<std::string> peer_order;
  if (results.contains("peers") && results["peers"].is_object())
    for (const auto& [name, _] : results["peers"].items())
      peer_order.push_back(name);
  auto rank = [&](const std::string& peer) {
    const auto it = std::find(peer_order.begin(), peer_order.end(), peer);
    return it == peer_order.end() ? peer_order.size()
                                  : static_cast<std::size_t>(it - peer_order.begin());
  };

  const auto& cases = results["cases"];
  v.cases.reserve(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const json& c = cases[i];
    CaseView cv;
    cv.raw = &c;
    cv.index = i;
    cv.id = str(c, "id");
    cv.scenario = str(c, "scenario");
    cv.title = str(c, "title");
    cv.tls = str(c, "tls");
    cv.client = str(c, "client");
    cv.server = str(c, "server");
    const json& verdict = c["verdict"];
    cv.grade = str(verdict, "grade");
    cv.reason = str(verdict, "reason");
    cv.detail = str(verdict, "detail");
    cv.alert = str(verdict, "alert");
    cv.alert_from = str(verdict, "alert_from");
    cv.rejected_by = str(verdict, "rejected_by");
    if (c.contains("elapsed_ms") && c["elapsed_ms"].is_number())
      cv.elapsed_ms = c["elapsed_ms"].get<double>();
    v.cases.push_back(std::move(cv));
  }
  std::set<std::string> labels;
  for (const auto& c : v.cases) {
    if (v.titles.emplace(c.scenario, c.title).second)
      v.scenarios.push_back(c.scenario);
    Column col{c.tls, c.client, c.server, stack_of(c.client, c.server)};
    if (labels.insert(col.label()).second)
      v.columns.push_back(col);
  }
  std::stable_sort(v.columns.begin(), v.columns.end(), [&](const Column& a, const Column& b) {
    auto key = [&](const Column& k) {
      return std::tuple(k.tls, rank(k.stack), k.stack, rank(k.client), k.client, rank(k.server),
                        k.server);
    };
    return key(a) < key(b);
  });
  for (const auto& c : v.cases)
    v.cell[{c.scenario, c.pair() + " " + c.tls}] = c.index;
  return v;
}

std::map<std::string, int> count_grades(const RunView& v) {
  std::map<std::string, int> t;
  for (const auto& c : v.cases)
    ++t[c.grade];
  return t;
}

namespace {
std::string join(const json& list, const char* sep) {
  std::string out;
  if (!list.is_array())
    return out;
  for (const auto& item : list)
    if (item.is_string())
      out += (out.empty() ? "" : sep) + item.get<std::string>();
  return out;
}
} // namespace

std::string expectation_text(const json& c) {
  const json& e = child(c, "expect");
  std::string out = str(e, "result");
  if (out.empty())
    return "no expectation recorded";
  if (!str(e, "by").empty())
    out += " by the " + str(e, "by");
  std::string extra;
  if (e.contains("reasons"))
    extra += "reason " + join(e["reasons"], " or ");
  if (e.contains("alerts"))
    extra += (extra.empty() ? "" : "; ") + std::string("alert ") + join(e["alerts"], " or ");
  return extra.empty() ? out : out + " (" + extra + ")";
}

std::string side_text(const json& side) {
  // The harness records "invalid" for a side that never ran (a peer missing, a capability lacking).
  const std::string outcome = str(side, "outcome");
  if (outcome.empty() || outcome == "invalid")
    return "did not run";
  std::string out = outcome;
  if (!str(side, "phase").empty())
    out += " in " + str(side, "phase");
  if (side.contains("exit_code") && side["exit_code"].is_number())
    out += ", exit " + side["exit_code"].dump();
  if (side.contains("verify_error") && side["verify_error"].is_number())
    out += ", verify error " + side["verify_error"].dump();
  if (!str(side, "reason").empty()) {
    out += ", reason " + str(side, "reason");
    if (const std::string from = str(side, "reason_source"); !from.empty() && from != "none")
      out += " (from " + from + ")";
  }
  // What the side claimed when the evidence said otherwise (reconciliation), shown, never lost.
  if (const json& o = child(side, "overruled"); !str(o, "note").empty())
    out += " (overruled: " + str(o, "note") + ")";
  return out;
}

std::string behaviour(const CaseView& c) {
  const json& obs = child(*c.raw, "observation");
  auto side = [&](const char* name) {
    const json& s = child(obs, name);
    const std::string outcome = str(s, "outcome");
    if (outcome.empty() || outcome == "invalid")
      return std::string(name) + " did not run";
    if (outcome == "refused")
      return std::string(name) + " refused to present";
    std::string out = std::string(name) + " " + outcome;
    if (!str(s, "phase").empty() && str(s, "phase") != "done")
      out += " in " + str(s, "phase");
    return out;
  };
  std::string out = side("client") + ", " + side("server");
  if (!c.alert.empty())
    out += "; alert " + c.alert + (c.alert_from.empty() ? "" : " from the " + c.alert_from);
  if (!c.reason.empty())
    out += "; reason " + c.reason;
  return out;
}

std::vector<Divergence> divergences(const RunView& v) {
  std::vector<Divergence> out;
  for (const auto& scenario : v.scenarios) {
    std::vector<std::string> versions;
    for (const auto& col : v.columns)
      if (std::find(versions.begin(), versions.end(), col.tls) == versions.end())
        versions.push_back(col.tls);
    for (const auto& tls : versions) {
      Divergence d{scenario, tls, {}};
      for (const auto& col : v.columns) {
        if (col.tls != tls)
          continue;
        const auto it = v.cell.find({scenario, col.label()});
        if (it == v.cell.end())
          continue;
        const CaseView& c = v.cases[it->second];
        if (c.grade == "not_applicable")
          continue; // a pair that did not run has no behaviour to compare (an expected failure
                    // ran: it is behaviour like any other)
        const std::string b = behaviour(c);
        auto g = std::find_if(d.groups.begin(), d.groups.end(),
                              [&](const auto& p) { return p.first == b; });
        if (g == d.groups.end())
          d.groups.push_back({b, {&c}});
        else
          g->second.push_back(&c);
      }
      if (!d.groups.empty())
        out.push_back(std::move(d));
    }
  }
  return out;
}

} // namespace report
} // namespace harness
