// A case — one scenario at one TLS version between a client and a server peer — and what running
// it gave.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/model/observation.hpp"
#include "harness/model/resource.hpp"
#include "harness/model/scenario.hpp"
#include "harness/model/verdict.hpp"
#include "harness/wire/trace.hpp"

namespace harness {

class Peer; // peers/peer.hpp: the model names peers, it does not run them

struct CaseSpec {
  std::string id; // "<scenario>/<tls>/<client>-><server>"
  const Scenario* scenario = nullptr;
  TlsVersion version = TlsVersion::invalid;
  Peer* client = nullptr;
  Peer* server = nullptr;
};

struct CaseResult {
  CaseSpec spec;
  SideObservation client;
  SideObservation server;
  Verdict verdict;
  std::chrono::microseconds elapsed{0};
  std::filesystem::path dir; // logs
  std::string reproduce_server;
  std::string reproduce_client;
  // What the relay between the two saw, decoded (empty when the case never ran or the relay
  // failed; then trace_note says why — a relay problem never changes the verdict).
  std::vector<wire::TraceEvent> trace;
  std::optional<wire::HandshakeSummary> trace_summary;
  std::string trace_note;
  std::filesystem::path pcap; // cases/<…>/case.pcapng when written
  // Whether the protected resource reached the client, and the evidence (reconcile()).
  ResourceDelivery resource;
};

// A case id's parts: "<scenario>/<tls>/<client>-><server>" (CaseSpec::id); nullopt when `id` is
// not one.
struct CaseIdParts {
  std::string scenario, tls, client, server;
};
[[nodiscard]] std::optional<CaseIdParts> parse_case_id(std::string_view id);

} // namespace harness
