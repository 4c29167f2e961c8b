// The per-peer sanity gate (docs/peers.md#advisory-verification: a CLI whose verification is only
// advisory must not produce a column of results that look like a stack's behaviour).
#include "harness/run/sanity.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace harness {
namespace {

const Scenario& find_scenario(const std::vector<Scenario>& scenarios, const std::string& id) {
  for (const auto& s : scenarios)
    if (s.id == id)
      return s;
  throw tlsmatrix::Error(
      tlsmatrix::Errc::invalid_input,
      "sanity gate: scenario \"" + id +
          "\" is not in the scenario set (use the default suite, or --no-sanity)");
}

TlsVersion gate_version(const Scenario& s, const Peer& p) {
  const auto has = [&](TlsVersion v, const char* cap) {
    return std::find(s.tls.begin(), s.tls.end(), v) != s.tls.end() &&
           p.info().capabilities.contains(cap);
  };
  if (has(TlsVersion::tls13, "tls1.3"))
    return TlsVersion::tls13;
  if (has(TlsVersion::tls12, "tls1.2"))
    return TlsVersion::tls12;
  return s.tls.empty() ? TlsVersion::tls13 : s.tls.front(); // the case will be not_applicable
}

// The gate asks whether the adapter accepts and rejects, not why: a rejection for another reason or
// with another alert (wrong_reason) is a difference between stacks
// (docs/peers.md#same-fault-different-alerts), which the matrix is there to show. Likewise a case
// whose outcome was right but whose wire flow was not (Botan's tls_client reports its refusal and
// carries on, docs/peers.md#botan-tls_client-never-refuses; Node's TLS 1.2 client finishes the
// handshake before it refuses): the adapter works, the stack differs.
bool gate_passed(const Verdict& v) {
  const Grade g = v.outcome_grade == Grade::invalid ? v.grade : v.outcome_grade;
  return g == Grade::pass || g == Grade::wrong_reason || g == Grade::not_applicable;
}

} // namespace

const std::vector<std::string>& gate_scenario_ids() {
  static const std::vector<std::string> ids = {"one-way", "mutual", "server-untrusted-root",
                                               "client-untrusted-root"};
  return ids;
}

SanityPlan plan_sanity(const std::vector<CaseSpec>& matrix, const std::vector<Scenario>& scenarios,
                       Peer& local, const std::vector<Scenario>& controls) {
  std::vector<std::pair<Peer*, Side>> subjects;
  auto add = [&](Peer* p, Side role) {
    if (p == &local || p->info().name == local.info().name)
      return;
    if (std::find(subjects.begin(), subjects.end(), std::pair{p, role}) == subjects.end())
      subjects.emplace_back(p, role);
  };
  for (const auto& c : matrix) {
    add(c.client, Side::client);
    add(c.server, Side::server);
  }
  SanityPlan plan;
  if (subjects.empty())
    return plan;
  const std::vector<std::string> client_gate = {"one-way", "mutual", "server-untrusted-root"};
  const std::vector<std::string> server_gate = {"one-way", "mutual", "client-untrusted-root"};
  for (const auto& [peer, role] : subjects) {
    SanityCheck check{peer->info().name, role, {}, true, {}};
    std::vector<const Scenario*> gate;
    for (const auto& id : role == Side::client ? client_gate : server_gate)
      gate.push_back(&find_scenario(scenarios, id));
    for (const auto& control : controls)
      gate.push_back(&control);
    for (const Scenario* scenario : gate) {
      const Scenario& s = *scenario;
      const TlsVersion v = gate_version(s, *peer);
      Peer* client = role == Side::client ? peer : &local;
      Peer* server = role == Side::client ? &local : peer;
      CaseSpec spec{s.id + "/" + std::string(to_string(v)) + "/" + client->info().name + "->" +
                        server->info().name,
                    &s, v, client, server};
      check.case_ids.push_back(spec.id);
      if (std::none_of(plan.cases.begin(), plan.cases.end(),
                       [&](const CaseSpec& c) { return c.id == spec.id; }))
        plan.cases.push_back(spec);
    }
    plan.checks.push_back(std::move(check));
  }
  return plan;
}

void evaluate_sanity(SanityPlan& plan, const std::map<std::string, const CaseResult*>& results) {
  for (auto& check : plan.checks) {
    check.ok = true;
    check.why.clear();
    for (const auto& id : check.case_ids) {
      const auto it = results.find(id);
      std::string problem;
      if (it == results.end())
        problem = id + ": did not run";
      else if (!gate_passed(it->second->verdict))
        problem = id + ": " + std::string(to_string(it->second->verdict.grade)) + ": " +
                  it->second->verdict.detail;
      if (problem.empty())
        continue;
      check.ok = false;
      check.why += (check.why.empty() ? "" : "; ") + problem;
    }
  }
}

std::optional<CaseResult> broken_result(const CaseSpec& spec, const SanityPlan& plan) {
  for (const auto& check : plan.checks) {
    if (check.ok)
      continue;
    const Peer* p = check.role == Side::client ? spec.client : spec.server;
    if (p->info().name != check.peer)
      continue;
    CaseResult r;
    r.spec = spec;
    r.client.peer = spec.client->info().name;
    r.server.peer = spec.server->info().name;
    r.verdict.grade = Grade::adapter_broken;
    r.verdict.detail = "adapter broken: " + check.peer + " as " +
                       std::string(to_string(check.role)) + ": " + check.why;
    return r;
  }
  return std::nullopt;
}

nlohmann::ordered_json sanity_json(const SanityPlan& plan, bool enabled,
                                   const std::map<std::string, const CaseResult*>& results) {
  nlohmann::ordered_json j;
  j["enabled"] = enabled;
  j["peers"] = nlohmann::ordered_json::object();
  for (const auto& check : plan.checks) {
    nlohmann::ordered_json cases = nlohmann::ordered_json::array();
    for (const auto& id : check.case_ids) {
      const auto it = results.find(id);
      cases.push_back(
          {{"id", id},
           {"grade",
            it == results.end() ? "not_run" : std::string(to_string(it->second->verdict.grade))},
           {"detail", it == results.end() ? "" : it->second->verdict.detail}});
    }
    j["peers"][check.peer][std::string(to_string(check.role))] = {
        {"ok", check.ok}, {"why", check.why}, {"cases", cases}};
  }
  return j;
}

} // namespace harness
