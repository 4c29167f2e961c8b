// The divergence view for results.json and the terminal, over report_model.cpp's grouping.
#include "harness/report/divergence.hpp"

#include <algorithm>

#include "report_model.hpp"

namespace harness {

using json = nlohmann::ordered_json;

json divergence_json(const json& results) {
  const report::RunView v = report::view(results);
  json out = json::array();
  for (const auto& d : report::divergences(v)) {
    json groups = json::array();
    for (const auto& [behaviour, cases] : d.groups) {
      const report::CaseView& first = *cases.front();
      const json& obs = report::child(*first.raw, "observation");
      json g;
      g["behaviour"] = behaviour;
      g["outcome"] = {{"client", report::str(report::child(obs, "client"), "outcome")},
                      {"server", report::str(report::child(obs, "server"), "outcome")}};
      g["phase"] = {{"client", report::str(report::child(obs, "client"), "phase")},
                    {"server", report::str(report::child(obs, "server"), "phase")}};
      g["alert"] = first.alert;
      g["alert_from"] = first.alert_from;
      g["reason"] = first.reason;
      json stacks = json::array();
      json ids = json::array();
      for (const auto* c : cases) {
        const std::string stack = report::stack_of(c->client, c->server);
        if (std::find(stacks.begin(), stacks.end(), stack) == stacks.end())
          stacks.push_back(stack);
        ids.push_back(c->id);
      }
      g["stacks"] = stacks;
      g["cases"] = ids;
      groups.push_back(g);
    }
    out.push_back({{"scenario", d.scenario},
                   {"tls", d.tls},
                   {"agree", d.groups.size() == 1},
                   {"groups", groups}});
  }
  return out;
}

std::string render_divergence(const json& results) {
  const report::RunView v = report::view(results);
  std::string out;
  std::size_t differing = 0, total = 0;
  for (const auto& d : report::divergences(v)) {
    ++total;
    if (d.groups.size() < 2)
      continue;
    ++differing;
    // The largest group is the norm and is only counted; the others name their pairs.
    const auto norm =
        std::max_element(d.groups.begin(), d.groups.end(), [](const auto& a, const auto& b) {
          return a.second.size() < b.second.size();
        });
    out += "  " + d.scenario + " TLS " + d.tls + ": " + std::to_string(norm->second.size()) +
           " cases: " + norm->first + "\n";
    for (auto g = d.groups.begin(); g != d.groups.end(); ++g) {
      if (g == norm)
        continue;
      std::string pairs;
      for (const auto* c : g->second)
        pairs += (pairs.empty() ? "" : " ") + c->pair();
      out += "    but " + pairs + ": " + g->first + "\n";
    }
  }
  if (differing == 0)
    return {};
  return "divergence: stacks differ in " + std::to_string(differing) + " of " +
         std::to_string(total) + " scenario/version pairs\n" + out;
}

} // namespace harness
