// The planner: which cases a run has (scenario × TLS version × peer pair).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harness/model/case.hpp"
#include "harness/model/scenario.hpp"
#include "harness/peers/peer.hpp"

namespace harness {

struct PlanOptions {
  std::vector<std::string> peers;   // names; empty: every peer
  std::vector<TlsVersion> versions; // empty: each scenario's own
  std::string filter;               // glob over case ids; empty: all
  bool cross = false;               // every client × every server
};

// The default pairs: local↔local; every peer P: P→local and local→P; openssl→P and P→openssl.
[[nodiscard]] std::vector<CaseSpec> plan_cases(const std::vector<Scenario>& scenarios,
                                               const std::vector<std::unique_ptr<Peer>>& peers,
                                               const PlanOptions& options);

} // namespace harness
