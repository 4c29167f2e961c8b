// The per-peer sanity gate: a peer's column counts only after the peer, in that role and against
// our own endpoint (`local`), accepted a known-good 1-way and 2-way case and rejected an
// untrusted certificate. A peer that fails it is `adapter_broken` for every case in that role.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/peers/peer.hpp"
#include "harness/run/runner.hpp"

namespace harness {

// The gate's scenarios, by role of the peer under test (the other side is `local`):
//   client: one-way, mutual, server-untrusted-root (the peer must reject our server's certificate)
//   server: one-way, mutual, client-untrusted-root (the peer must reject our client's certificate)
// plus the positive controls, when given, in both roles.
// Each at TLS 1.3 when the peer and the scenario can do it, else 1.2.
// The ids of the gate's scenarios (all four).
[[nodiscard]] const std::vector<std::string>& gate_scenario_ids();

struct SanityCheck {
  std::string peer;
  Side role = Side::client;
  std::vector<std::string> case_ids; // the gate cases of this peer in this role
  bool ok = true;
  std::string why; // when not ok: the gate cases that went wrong, with their grade and detail
};

struct SanityPlan {
  std::vector<CaseSpec> cases; // distinct gate cases, ids as the planner spells them
  std::vector<SanityCheck> checks;
};

// Gate cases for every non-local peer that appears in `matrix` in a role. `scenarios` must hold
// the gate scenarios (throws Error(invalid_input) naming the missing one and --no-sanity);
// `local` is our endpoint peer. `controls` (scenarios/controls: good configurations in every
// form an option takes) join the gate too, each in both roles: a peer that mistranslates an
// option is adapter_broken before its cells are believed. A control the peer lacks a capability
// for is not_applicable, which the gate accepts. `controls` must outlive the plan.
[[nodiscard]] SanityPlan plan_sanity(const std::vector<CaseSpec>& matrix,
                                     const std::vector<Scenario>& scenarios, Peer& local,
                                     const std::vector<Scenario>& controls = {});

// Grades the checks from the gate cases' results (by id): a check is ok when each of its cases is
// `pass`, `wrong_reason` (the right side rejected, with another reason or alert: a difference
// between stacks, not a broken adapter) or `not_applicable` (a capability the peer lacks, or the
// peer is not installed — then its column is not applicable anyway).
void evaluate_sanity(SanityPlan& plan, const std::map<std::string, const CaseResult*>& results);

// The result that stands for `spec` when its client or server failed the gate (else nullopt):
// grade adapter_broken, detail "adapter broken: <peer> as <role>: <why>". Nothing ran.
[[nodiscard]] std::optional<CaseResult> broken_result(const CaseSpec& spec, const SanityPlan& plan);

// results.json's "sanity": {"enabled", "peers": {name: {role: {ok, why, cases: [{id, grade,
// detail}]}}}}.
[[nodiscard]] nlohmann::ordered_json
sanity_json(const SanityPlan& plan, bool enabled,
            const std::map<std::string, const CaseResult*>& results);

} // namespace harness
