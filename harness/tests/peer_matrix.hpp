// Shared by the per-peer integration tests: run `tlsmatrix run --peers local,<peer>` once and check
// its matrix against the stack's known differences (peers_integration_test.cpp,
// langs_integration_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/model/scenario.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace peer_matrix {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

// A case the stack decides differently from the scenario's expectation, and how it must show.
struct KnownDifference {
  const char* scenario;
  const char* tls; // "" = both versions
  const char* client;
  const char* server;
  const char* grade;
  const char* reason;     // the verdict's reason
  const char* alert;      // the verdict's alert ("" = none reported)
  const char* alert_from; // who sent it
  const char* why;
  // A race the stack's behaviour makes (a reset overtaking an EOF): this grade, reported as
  // documented, or else a pass.
  bool or_pass = false;
};

// The scenarios whose known differences these tables pin: the suite's first 22 (seed and
// default-suite scenarios 01-22), copied to a folder of their own once per test program. The rest
// of the suite (every defect of the catalog in both roles) is held by the expectations file, the
// baseline and DefaultSuite, not by a second table per peer.
inline const fs::path& known_differences_suite() {
  static ScratchDir dir;
  static const fs::path suite = [] {
    const fs::path out = dir / "scenarios";
    fs::create_directories(out);
    for (const auto& e : fs::directory_iterator(testing_support::source_dir() / "scenarios")) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.ends_with(".json") && name.size() > 3 &&
          std::isdigit(static_cast<unsigned char>(name[0])) && std::stoi(name.substr(0, 2)) <= 22)
        fs::copy_file(e.path(), out / name);
    }
    return out;
  }();
  return suite;
}

inline std::optional<std::string> unavailable(const std::string& peer) {
  for (const auto& p : harness::load_peers())
    if (p->info().name == peer)
      return p->info().unavailable;
  return "no peer definition named " + peer;
}

// Runs `tlsmatrix run --peers local,<peer>` (or local,<with>,<peer>) once for a suite and keeps
// results.json.
class PeerRun {
public:
  explicit PeerRun(const std::string& peer, const std::string& with = "") {
    if (auto why = unavailable(peer)) {
      skip_ = *why;
      return;
    }
    run_ = testing_support::run({testing_support::tlsmatrix_binary(), "run", "--scenarios",
                                 known_differences_suite().string(), "--peers",
                                 "local," + (with.empty() ? "" : with + ",") + peer, "--jobs", "2",
                                 "--out", (dir_ / "results").string(),
                                 // the stack's own grades: these tests check the known differences
                                 "--no-expectations"},
                                "", std::chrono::seconds(400));
    const fs::path latest = dir_ / "results" / "latest" / "results.json";
    if (fs::exists(latest))
      results_ = json::parse(testing_support::read_text(latest));
  }
  const std::string& skip() const { return skip_; }
  const testing_support::CommandResult& command() const { return run_; }
  const json& results() const { return results_; }

private:
  ScratchDir dir_;
  std::string skip_;
  testing_support::CommandResult run_;
  json results_;
};

inline const KnownDifference* known(const json& c, const KnownDifference* begin,
                                    const KnownDifference* end) {
  for (auto* d = begin; d != end; ++d)
    if (c.at("scenario") == d->scenario && (!*d->tls || c.at("tls") == d->tls) &&
        c.at("client") == d->client && c.at("server") == d->server)
      return d;
  return nullptr;
}

inline std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : std::string();
}

// A case that matches a known difference is reported exactly as documented (grade, reason, the
// alert and who sent it) — or, for a race the entry allows, passes.
inline void expect_reported_as_documented(const json& c, const KnownDifference& d) {
  const auto& v = c.at("verdict");
  if (d.or_pass && v.at("grade") == "pass")
    return;
  EXPECT_EQ(v.at("grade"), d.grade) << c.at("id") << ": " << v.at("detail") << " (" << d.why << ")";
  if (*d.reason) {
    EXPECT_EQ(str(v.at("reason")), d.reason) << c.at("id");
  }
  EXPECT_EQ(str(v.at("alert")), d.alert) << c.at("id") << ": " << v.at("detail");
  EXPECT_EQ(str(v.at("alert_from")), d.alert_from) << c.at("id");
}

// A not_applicable case must give one of the documented reasons; counts it in `na_seen`.
inline void expect_documented_not_applicable(const json& c,
                                             const std::vector<std::string>& not_applicable,
                                             std::map<std::string, int>& na_seen) {
  const std::string detail = str(c.at("verdict").at("detail"));
  const bool documented =
      std::find(not_applicable.begin(), not_applicable.end(), detail) != not_applicable.end();
  na_seen[detail] += documented;
  EXPECT_TRUE(documented) << c.at("id")
                          << ": not_applicable for an undocumented reason: " << detail;
}

// Every known difference showed up (once per version it names, else in both), and every
// documented not_applicable reason at least once: a stale entry is a failure too.
inline void expect_every_documented_seen(const KnownDifference* begin, const KnownDifference* end,
                                         std::map<const KnownDifference*, int> seen,
                                         const std::vector<std::string>& not_applicable,
                                         std::map<std::string, int> na_seen) {
  for (auto* d = begin; d != end; ++d)
    EXPECT_EQ(seen[d], *d->tls ? 1 : 2)
        << d->scenario << " " << d->tls << " " << d->client << "->" << d->server;
  for (const auto& why : not_applicable)
    EXPECT_GT(na_seen[why], 0) << "documented not_applicable reason never seen: " << why;
}

// Every case passes, or is a known difference reported exactly as documented; each known
// difference shows up (a stack that changed its behaviour must be noticed, not silently pass).
inline void check_matrix(const PeerRun& run, const std::string& peer, const KnownDifference* begin,
                         const KnownDifference* end) {
  ASSERT_FALSE(run.results().is_null()) << run.command().out << run.command().err;
  const json& r = run.results();
  EXPECT_TRUE(r.at("peers").at(peer).at("available").get<bool>());
  std::set<std::string> pairs;
  std::map<const KnownDifference*, int> seen;
  for (const auto& c : r.at("cases")) {
    const auto& v = c.at("verdict");
    pairs.insert(str(c.at("client")) + ">" + str(c.at("server")) + " " + str(c.at("tls")));
    if (const auto* d = known(c, begin, end)) {
      ++seen[d];
      expect_reported_as_documented(c, *d);
      continue;
    }
    EXPECT_EQ(v.at("grade"), "pass")
        << c.at("id") << ": " << v.at("detail") << "\nreproduce: " << c.at("reproduce").dump()
        << "\nlogs: " << c.at("logs").at("dir");
  }
  expect_every_documented_seen(begin, end, seen, {}, {});
  // Every scenario × its versions × the default pairs (local→local, peer→local, local→peer).
  std::size_t expected = 0;
  for (const auto& s : harness::load_scenarios(known_differences_suite(), nullptr))
    expected += 3 * s.tls.size();
  EXPECT_EQ(r.at("cases").size(), expected);
  for (const std::string tls : {"1.2", "1.3"})
    for (const std::string& pair : {peer + ">local", "local>" + peer})
      EXPECT_TRUE(pairs.contains(pair + " " + tls)) << pair << " " << tls;
}

inline const json* find_case(const json& results, const std::string& id) {
  for (const auto& c : results.at("cases"))
    if (c.at("id") == id)
      return &c;
  return nullptr;
}

inline bool has_alert(const json& side, const std::string& direction, const std::string& name) {
  for (const auto& a : side.at("alerts"))
    if (a.at("direction") == direction && a.at("description") == name)
      return true;
  return false;
}

// For a client-only peer (botan, curl): every case of <peer>->local passes, is a known difference
// reported as documented, or is not_applicable for one of the documented capability reasons
// (each of which must show up); the suite has local->local and <peer>->local for both versions.
inline void check_client_matrix(const PeerRun& run, const std::string& peer,
                                const KnownDifference* begin, const KnownDifference* end,
                                const std::vector<std::string>& not_applicable) {
  ASSERT_FALSE(run.results().is_null()) << run.command().out << run.command().err;
  const json& r = run.results();
  EXPECT_TRUE(r.at("peers").at(peer).at("available").get<bool>());
  std::map<std::string, int> na_seen;
  std::map<const KnownDifference*, int> seen;
  int peer_cases = 0, passed = 0;
  for (const auto& c : r.at("cases")) {
    const auto& v = c.at("verdict");
    if (c.at("client") == peer) {
      ++peer_cases;
      EXPECT_EQ(c.at("server"), "local") << c.at("id");
    }
    if (const auto* d = known(c, begin, end)) {
      ++seen[d];
      expect_reported_as_documented(c, *d);
      continue;
    }
    if (v.at("grade") == "not_applicable" && c.at("client") == peer) {
      expect_documented_not_applicable(c, not_applicable, na_seen);
      continue;
    }
    passed += c.at("client") == peer;
    EXPECT_EQ(v.at("grade"), "pass")
        << c.at("id") << ": " << v.at("detail") << "\nreproduce: " << c.at("reproduce").dump()
        << "\nlogs: " << c.at("logs").at("dir");
  }
  expect_every_documented_seen(begin, end, seen, not_applicable, na_seen);
  // Every scenario × its versions × (local→local, peer→local).
  std::size_t versions = 0;
  for (const auto& s : harness::load_scenarios(known_differences_suite(), nullptr))
    versions += s.tls.size();
  EXPECT_EQ(r.at("cases").size(), 2 * versions);
  EXPECT_EQ(peer_cases, static_cast<int>(versions));
  EXPECT_GT(passed, 0);
}

// For a peer run with others (PeerRun(peer, "openssl")): every case it takes part in passes, is a
// known difference reported as documented (or, for a race, a pass), or is not_applicable for one
// of the documented capability reasons (each of which must show up); each of `pairs` ("local>botan
// 1.2") has cases and passes in some of them. No case of the peer may wait until its deadline.
inline void check_peer_cells(const PeerRun& run, const std::string& peer,
                             const KnownDifference* begin, const KnownDifference* end,
                             const std::vector<std::string>& not_applicable,
                             const std::vector<std::string>& pairs) {
  ASSERT_FALSE(run.results().is_null()) << run.command().out << run.command().err;
  const json& r = run.results();
  EXPECT_TRUE(r.at("peers").at(peer).at("available").get<bool>());
  std::map<std::string, int> na_seen, pair_cases, pair_passes;
  std::map<const KnownDifference*, int> seen;
  for (const auto& c : r.at("cases")) {
    if (c.at("client") != peer && c.at("server") != peer)
      continue;
    const auto& v = c.at("verdict");
    const std::string pair =
        str(c.at("client")) + ">" + str(c.at("server")) + " " + str(c.at("tls"));
    ++pair_cases[pair];
    EXPECT_NE(v.at("grade"), "timeout") << c.at("id") << ": " << v.at("detail");
    if (const auto* d = known(c, begin, end)) {
      ++seen[d];
      expect_reported_as_documented(c, *d);
      continue;
    }
    if (v.at("grade") == "not_applicable") {
      expect_documented_not_applicable(c, not_applicable, na_seen);
      continue;
    }
    pair_passes[pair] += v.at("grade") == "pass";
    EXPECT_EQ(v.at("grade"), "pass")
        << c.at("id") << ": " << v.at("detail") << "\nreproduce: " << c.at("reproduce").dump()
        << "\nlogs: " << c.at("logs").at("dir");
  }
  expect_every_documented_seen(begin, end, seen, not_applicable, na_seen);
  for (const auto& pair : pairs) {
    EXPECT_GT(pair_cases[pair], 0) << "no case of " << pair;
    EXPECT_GT(pair_passes[pair], 0) << "no pass in " << pair;
  }
}

} // namespace peer_matrix
