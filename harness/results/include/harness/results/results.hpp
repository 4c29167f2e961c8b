// The result model on disk (results.json, versioned) and the terminal matrix.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/model/case.hpp"
#include "harness/peers/peer.hpp"

namespace harness {

struct RunInfo {
  std::string run_id;
  std::string started; // RFC 3339
  std::string finished;
  bool interrupted = false;
  std::filesystem::path pki_dir;
  std::filesystem::path scenarios;
  std::vector<const PeerInfo*> peers;
  nlohmann::ordered_json options;
};

// A case's trace as results.json holds it: per event direction, kind, name, "message" or "alert",
// size (= message_length), record_length, time_ms, decrypted, level (alerts), detail.
[[nodiscard]] nlohmann::ordered_json trace_json(const std::vector<wire::TraceEvent>& trace);
[[nodiscard]] nlohmann::ordered_json trace_summary_json(const wire::HandshakeSummary& summary);
[[nodiscard]] nlohmann::ordered_json observation_json(const SideObservation& o);
// A case's "resource": delivered, served, received, on_wire (true, false or null), evidence.
[[nodiscard]] nlohmann::ordered_json resource_json(const ResourceDelivery& d);
// results.json's "conflicts": {count, cases: [{case, side, peer, note}]} — every side whose claim
// the evidence contradicted (OverruledClaim::conflict), from the cases' observations.
[[nodiscard]] nlohmann::ordered_json conflicts_json(const nlohmann::ordered_json& cases);
// Rejecting sides whose reason is "unmapped", per peer: {rejecting_sides, count, by_peer: {peer:
// {rejecting, unmapped}}} (a merge recomputes it from the merged cases).
[[nodiscard]] nlohmann::ordered_json unmapped_json(const nlohmann::ordered_json& cases);
// The terminal's lines for it ("" when none).
[[nodiscard]] std::string render_unmapped(const nlohmann::ordered_json& results);
// For the terminal: the count and the first conflicts of results["conflicts"] ("" when none).
[[nodiscard]] std::string render_conflicts(const nlohmann::ordered_json& results);
[[nodiscard]] nlohmann::ordered_json results_json(const RunInfo& info,
                                                  const std::vector<CaseResult>& cases);

// Writes <run_dir>/results.json atomically and points <results_root>/latest at the run.
void write_results(const std::filesystem::path& run_dir, const nlohmann::ordered_json& results);

// Totals by grade name.
[[nodiscard]] std::map<std::string, int> totals(const std::vector<CaseResult>& cases);

// Scenario rows × (pair, version) columns, one mark per cell, then totals.
[[nodiscard]] std::string render_matrix(const std::vector<CaseResult>& cases, bool color);

// One line per case for logs: "PASS  server-expired 1.3 openssl->local  expired  41 ms".
[[nodiscard]] std::string case_line(const CaseResult& r, bool color);

// A fresh run id: UTC timestamp plus a random suffix ("20261126T173512Z-3f9a").
[[nodiscard]] std::string new_run_id();

} // namespace harness
