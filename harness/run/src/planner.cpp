// The planner: the default pairs around our own endpoint and the reference peer, --cross for all
// of them, then --peers, --tls and --filter narrow the list.
#include "harness/run/planner.hpp"

#include <algorithm>
#include <utility>

#include "common/error.hpp"
#include "common/glob.hpp"

namespace harness {

using tlsmatrix::Errc;
using tlsmatrix::Error;

std::vector<CaseSpec> plan_cases(const std::vector<Scenario>& scenarios,
                                 const std::vector<std::unique_ptr<Peer>>& peers,
                                 const PlanOptions& options) {
  std::vector<Peer*> chosen;
  for (const auto& p : peers)
    if (options.peers.empty() || std::find(options.peers.begin(), options.peers.end(),
                                           p->info().name) != options.peers.end())
      chosen.push_back(p.get());
  for (const auto& name : options.peers)
    if (std::none_of(peers.begin(), peers.end(),
                     [&](const auto& p) { return p->info().name == name; })) {
      std::string known;
      for (const auto& p : peers)
        known += (known.empty() ? "" : ", ") + p->info().name;
      throw Error(Errc::invalid_input,
                  "--peers: unknown peer \"" + name + "\" (known: " + known + ")");
    }
  auto find = [&](const std::string& name) -> Peer* {
    for (auto* p : chosen)
      if (p->info().name == name)
        return p;
    return nullptr;
  };

  std::vector<std::pair<Peer*, Peer*>> pairs; // client, server
  auto add = [&](Peer* c, Peer* s) {
    if (!c || !s || !c->info().client || !s->info().server)
      return;
    if (std::find(pairs.begin(), pairs.end(), std::pair{c, s}) == pairs.end())
      pairs.emplace_back(c, s);
  };
  if (options.cross) {
    for (auto* c : chosen)
      for (auto* s : chosen)
        add(c, s);
  } else {
    Peer* local = find("local");
    Peer* openssl = find("openssl");
    add(local, local);
    for (auto* p : chosen) {
      if (p == local)
        continue;
      add(p, local);
      add(local, p);
    }
    for (auto* p : chosen) {
      if (p == local)
        continue;
      add(openssl, p);
      add(p, openssl);
    }
    if (!local) // without our endpoints, fall back to every pair of the chosen peers
      for (auto* c : chosen)
        for (auto* s : chosen)
          add(c, s);
  }

  std::vector<CaseSpec> cases;
  for (const auto& s : scenarios) {
    for (auto v : s.tls) {
      if (!options.versions.empty() &&
          std::find(options.versions.begin(), options.versions.end(), v) == options.versions.end())
        continue;
      for (const auto& [c, sv] : pairs) {
        CaseSpec spec{s.id + "/" + std::string(to_string(v)) + "/" + c->info().name + "->" +
                          sv->info().name,
                      &s, v, c, sv};
        if (!options.filter.empty() && !common::glob_match(options.filter, spec.id))
          continue;
        cases.push_back(spec);
      }
    }
  }
  return cases;
}

} // namespace harness
