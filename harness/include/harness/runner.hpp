// The matrix runner: plans cases (scenario × TLS version × peer pair), runs them in parallel,
// each bounded by its own deadline, and collects observations and verdicts.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/peer.hpp"
#include "harness/pki_dir.hpp"
#include "harness/reconcile.hpp"
#include "harness/scenario.hpp"
#include "harness/verdict.hpp"
#include "harness/wire.hpp"

namespace harness {

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

struct RunOptions {
  unsigned jobs = 0; // 0: one per core
  std::chrono::milliseconds timeout{10000};
  std::filesystem::path run_dir; // cases/<…>/ logs and inputs/ go here
  bool pcap = false;             // a capture for every case (else only for cases that did not pass)
  // Called when a worker takes a case, before it runs (from worker threads, not serialised): with
  // the ProgressFn after it, a display knows which cases are running and since when.
  std::function<void(const CaseSpec&)> on_start;
  // Cases whose server peer can serve many connections share one server process per distinct
  // configuration (run_dir/servers/); false: one server process per case.
  bool reuse_servers = true;
};

// Called after each case (from worker threads, serialised by the runner).
using ProgressFn = std::function<void(const CaseResult&, std::size_t done, std::size_t total)>;

// Runs every case; stops taking new cases once `stop` is set (Ctrl-C). Returns the finished ones
// in plan order.
[[nodiscard]] std::vector<CaseResult> run_cases(const std::vector<CaseSpec>& cases,
                                                const PkiDir& pki, const RunOptions& options,
                                                const std::atomic<bool>& stop,
                                                const ProgressFn& progress);

// A case id's parts: "<scenario>/<tls>/<client>-><server>" (CaseSpec::id); nullopt when `id` is
// not one.
struct CaseIdParts {
  std::string scenario, tls, client, server;
};
[[nodiscard]] std::optional<CaseIdParts> parse_case_id(std::string_view id);

} // namespace harness
