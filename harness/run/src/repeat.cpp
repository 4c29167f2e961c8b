// Aggregation of repeated runs (--repeat): agreement, the flaky grade and its distribution.
#include "harness/run/repeat.hpp"

#include <algorithm>

namespace harness {
namespace {

RunRecord record(const CaseResult& r) {
  return {r.verdict.grade,
          r.verdict.reason,
          r.verdict.alert,
          r.verdict.detail,
          static_cast<double>(r.elapsed.count()) / 1000.0,
          r.dir.string()};
}

bool same_outcome(const RunRecord& a, const RunRecord& b) {
  return a.grade == b.grade && a.reason == b.reason && a.alert == b.alert;
}

} // namespace

std::string distribution(const std::vector<RunRecord>& runs) {
  // Does any grade occur with different reasons or alerts? Then outcomes name those too.
  bool detailed = false;
  for (const auto& a : runs)
    for (const auto& b : runs)
      if (a.grade == b.grade && !same_outcome(a, b))
        detailed = true;
  auto label = [&](const RunRecord& r) {
    std::string s(to_string(r.grade));
    if (detailed) {
      s += " " + (r.reason.empty() ? std::string("-") : r.reason);
      if (!r.alert.empty())
        s += "/alert " + r.alert;
    }
    return s;
  };
  std::vector<std::pair<std::string, int>> counts; // in order of first appearance
  for (const auto& r : runs) {
    const std::string l = label(r);
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& p) { return p.first == l; });
    if (it == counts.end())
      counts.emplace_back(l, 1);
    else
      ++it->second;
  }
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out;
  for (const auto& [l, n] : counts)
    out +=
        (out.empty() ? "" : ", ") + l + " " + std::to_string(n) + "/" + std::to_string(runs.size());
  return out;
}

Aggregated aggregate_runs(const std::vector<CaseSpec>& plan, const std::vector<CaseResult>& all) {
  std::map<std::string, std::vector<const CaseResult*>> by_id;
  for (const auto& r : all)
    by_id[r.spec.id].push_back(&r);
  Aggregated out;
  for (const auto& spec : plan) {
    const auto it = by_id.find(spec.id);
    if (it == by_id.end())
      continue; // never ran (interrupted)
    const auto& runs = it->second;
    std::vector<RunRecord> records;
    for (const auto* r : runs)
      records.push_back(record(*r));
    const bool agree = std::all_of(records.begin(), records.end(), [&](const RunRecord& r) {
      return same_outcome(r, records.front());
    });
    if (agree) {
      out.cases.push_back(*runs.front());
    } else {
      // The evidence: the first run that did not pass, else the first that differs from run 1.
      auto evidence = std::find_if(runs.begin(), runs.end(), [](const CaseResult* r) {
        return r->verdict.grade != Grade::pass;
      });
      if (evidence == runs.end())
        evidence = std::find_if(runs.begin(), runs.end(), [&](const CaseResult* r) {
          return !same_outcome(record(*r), records.front());
        });
      CaseResult r = **evidence;
      const auto n = static_cast<std::size_t>(evidence - runs.begin()) + 1;
      r.verdict.grade = Grade::flaky;
      r.verdict.detail = "runs disagree: " + distribution(records) + "; run " + std::to_string(n) +
                         ": " + std::string(to_string(records[n - 1].grade)) + ": " +
                         records[n - 1].detail;
      out.cases.push_back(std::move(r));
    }
    if (records.size() > 1)
      out.runs[spec.id] = std::move(records);
  }
  return out;
}

void annotate_runs(nlohmann::ordered_json& results, const Aggregated& aggregated) {
  for (auto& c : results["cases"]) {
    const auto it = aggregated.runs.find(c["id"].get<std::string>());
    if (it == aggregated.runs.end())
      continue;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& r : it->second)
      list.push_back({{"grade", to_string(r.grade)},
                      {"reason", r.reason},
                      {"alert", r.alert.empty() ? nlohmann::ordered_json(nullptr)
                                                : nlohmann::ordered_json(r.alert)},
                      {"detail", r.detail},
                      {"elapsed_ms", r.elapsed_ms},
                      {"logs", r.dir}});
    c["distribution"] = distribution(it->second);
    c["runs"] = std::move(list);
  }
}

} // namespace harness
