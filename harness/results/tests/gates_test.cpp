// Expectations files, baselines, run diffs and the divergence section, on synthetic runs with
// known differences; `tlsmatrix diff`, `baseline` and `report --expectations` exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "harness/grading/expectations.hpp"
#include "harness/report/divergence.hpp"
#include "harness/report/grades.hpp"
#include "harness/report/report.hpp"
#include "harness/results/baseline.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using testing_support::ScratchDir;

struct Cell {
  std::string scenario, tls, client, server, grade;
  std::string reason = "";
  std::string alert = "";
  std::string alert_from = "";
  std::string phase = "handshake"; // of the rejecting side (the client here)
};

json make_case(const Cell& s) {
  const bool accepted = s.reason.empty() && s.grade != "not_applicable";
  auto side = [&](const std::string& peer, const std::string& outcome, const std::string& phase) {
    return json{{"peer", peer},       {"outcome", outcome},      {"phase", phase},
                {"reason", s.reason}, {"alerts", json::array()}, {"elapsed_ms", 3.5}};
  };
  json c;
  c["id"] = s.scenario + "/" + s.tls + "/" + s.client + "->" + s.server;
  c["scenario"] = s.scenario;
  c["title"] = s.scenario;
  c["tls"] = s.tls;
  c["client"] = s.client;
  c["server"] = s.server;
  if (s.grade == "not_applicable")
    c["observation"] = {{"client", side(s.client, "invalid", "invalid")},
                        {"server", side(s.server, "invalid", "invalid")}};
  else
    c["observation"] = {{"client", side(s.client, accepted ? "completed" : "rejected",
                                        accepted ? "done" : s.phase)},
                        {"server", side(s.server, accepted ? "completed" : "error",
                                        accepted ? "done" : "handshake")}};
  c["verdict"] = {{"grade", s.grade},
                  {"reason", s.reason},
                  {"rejected_by", accepted ? json(nullptr) : json("client")},
                  {"alert", s.alert.empty() ? json(nullptr) : json(s.alert)},
                  {"alert_from", s.alert_from.empty() ? json(nullptr) : json(s.alert_from)},
                  {"detail", s.grade + " detail"}};
  c["elapsed_ms"] = 100.0 + static_cast<double>(s.scenario.size()); // timing: never compared
  return c;
}

json make_run(const std::vector<Cell>& cells, const std::vector<std::string>& unavailable = {}) {
  json r;
  r["version"] = 1;
  r["peers"] = json::object();
  for (const char* p : {"local", "openssl", "nss", "gnutls"})
    r["peers"][p] = {{"available", true}};
  for (const auto& p : unavailable)
    r["peers"][p] = {{"available", false}, {"unavailable", "not installed"}};
  r["totals"] = json::object();
  r["cases"] = json::array();
  for (const auto& c : cells)
    r["cases"].push_back(make_case(c));
  return r;
}

const Cell expired_ok{"server-expired",      "1.3",   "nss", "local", "pass", "expired",
                      "certificate_expired", "client"};

json old_run() {
  return make_run({
      expired_ok,
      {"server-expired", "1.3", "gnutls", "local", "pass", "expired", "certificate_expired",
       "client"},
      {"server-expired", "1.3", "openssl", "local", "pass", "expired", "certificate_expired",
       "client"},
      {"one-way", "1.3", "local", "local", "pass"},
      {"one-way", "1.2", "local", "local", "pass"},
      {"one-way", "1.3", "java", "local", "pass"},
      {"self-signed", "1.3", "nss", "local", "wrong_reason", "invalid_ca", "bad_certificate",
       "client"},
  });
}

// The same stacks, with one change of every kind.
json new_run() {
  return make_run(
      {
          {"server-expired", "1.3", "nss", "local", "wrong_reason", "not_yet_valid",
           "certificate_expired", "client"}, // grade, reason
          {"server-expired", "1.3", "gnutls", "local", "pass", "expired", "bad_certificate",
           "server"}, // alert, sender
          {"server-expired", "1.3", "openssl", "local", "pass", "expired", "certificate_expired",
           "client", "first_read"},                              // phase
          {"one-way", "1.3", "local", "local", "pass"},          // same
          {"one-way", "1.3", "local", "openssl", "pass"},        // only new
          {"one-way", "1.3", "java", "local", "not_applicable"}, // not run here
          {"self-signed", "1.3", "nss", "local", "expected_failure", "invalid_ca",
           "bad_certificate", "client"}, // see below
      },
      {"java"});
}

const harness::CellChange* find(const harness::RunDiff& d, const std::string& id) {
  for (const auto& c : d.changes)
    if (c.id == id)
      return &c;
  return nullptr;
}

TEST(RunDiff, ReportsEveryKindOfChange) {
  json now = new_run();
  // An expectations file regrades a case, but the baseline compares the case's own grade.
  now["cases"][6]["verdict"]["original_grade"] = "wrong_reason";
  // The same rejection, its alert lost to a reset in NEW: listed, not a change.
  json before = old_run();
  before["cases"].push_back(make_case({"server-expired", "1.2", "nss", "local", "pass", "expired",
                                       "certificate_expired", "server"}));
  now["cases"].push_back(make_case({"server-expired", "1.2", "nss", "local", "pass", "expired"}));
  const auto a = harness::cells_of_results(before, "old");
  const auto b = harness::cells_of_results(now, "new");
  const auto d = harness::diff_runs(a, b);
  using K = harness::CellChange::Kind;
  ASSERT_EQ(d.changes.size(), 7u) << harness::render_diff(d, a, b);
  ASSERT_NE(find(d, "server-expired/1.2/nss->local"), nullptr);
  EXPECT_EQ(find(d, "server-expired/1.2/nss->local")->kind, K::alert_unseen);
  EXPECT_EQ(d.compared, 6u);
  EXPECT_TRUE(d.changed());

  const auto* nss = find(d, "server-expired/1.3/nss->local");
  ASSERT_NE(nss, nullptr);
  EXPECT_EQ(nss->kind, K::changed);
  EXPECT_EQ(nss->fields, (std::vector<std::string>{"grade", "reason"}));
  const auto* gnutls = find(d, "server-expired/1.3/gnutls->local");
  ASSERT_NE(gnutls, nullptr);
  EXPECT_EQ(gnutls->fields, (std::vector<std::string>{"alert", "alert_from"}));
  const auto* openssl = find(d, "server-expired/1.3/openssl->local");
  ASSERT_NE(openssl, nullptr);
  EXPECT_EQ(openssl->fields, (std::vector<std::string>{"phase"}));
  EXPECT_EQ(openssl->before.phase, "handshake");
  EXPECT_EQ(openssl->after.phase, "first_read");
  ASSERT_NE(find(d, "one-way/1.2/local->local"), nullptr);
  EXPECT_EQ(find(d, "one-way/1.2/local->local")->kind, K::only_old);
  ASSERT_NE(find(d, "one-way/1.3/local->openssl"), nullptr);
  EXPECT_EQ(find(d, "one-way/1.3/local->openssl")->kind, K::only_new);
  ASSERT_NE(find(d, "one-way/1.3/java->local"), nullptr);
  EXPECT_EQ(find(d, "one-way/1.3/java->local")->kind, K::not_run);
  EXPECT_EQ(find(d, "self-signed/1.3/nss->local"), nullptr) << "expectations are not behaviour";
  EXPECT_EQ(find(d, "one-way/1.3/local->local"), nullptr);
  EXPECT_EQ(d.count(K::changed), 3u);
  EXPECT_EQ(d.count(K::not_run), 1u);

  const json j = harness::diff_json(d, a, b);
  EXPECT_EQ(j["counts"]["changed"], 3);
  EXPECT_EQ(j["counts"]["only_old"], 1);
  EXPECT_EQ(j["counts"]["only_new"], 1);
  EXPECT_EQ(j["counts"]["not_run"], 1);
  EXPECT_EQ(j["counts"]["alert_unseen"], 1);
  EXPECT_EQ(j["changes"][0]["id"], "one-way/1.2/local->local"); // sorted by id
  const std::string text = harness::render_diff(d, a, b);
  EXPECT_NE(text.find("grade pass -> wrong_reason; reason expired -> not_yet_valid"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("alert_from client -> server"), std::string::npos) << text;
}

TEST(RunDiff, MissingPeerAndScopeAreNotChanges) {
  const auto a = harness::cells_of_results(old_run(), "old");
  // NEW ran without java at all, and only TLS 1.3.
  json partial = old_run();
  partial["cases"].erase(5);
  partial["cases"].erase(4);
  partial["peers"]["java"] = {{"available", false}};
  const auto d =
      harness::diff_runs(a, harness::cells_of_results(partial, "new"), [](const std::string& id) {
        return id.find("/1.2/") == std::string::npos;
      });
  EXPECT_FALSE(d.changed());
  ASSERT_EQ(d.changes.size(), 1u);
  EXPECT_EQ(d.changes[0].kind, harness::CellChange::Kind::not_run);
  EXPECT_EQ(d.compared, 5u);
}

TEST(Baseline, IsSortedCompactAndTimingFree) {
  const auto cells = harness::cells_of_results(old_run(), "old");
  const std::string text = harness::render_baseline(cells);
  // Read back with a plain JSON parser: sorted ids, one per line, no timing fields.
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["kind"], "tlsmatrix-baseline");
  EXPECT_EQ(j["cases"].size(), 7u);
  EXPECT_EQ(j["cases"]["server-expired/1.3/gnutls->local"],
            (nlohmann::json{{"grade", "pass"},
                            {"reason", "expired"},
                            {"alert", "certificate_expired"},
                            {"alert_from", "client"},
                            {"phase", "handshake"}}));
  EXPECT_EQ(j["cases"]["one-way/1.3/local->local"],
            (nlohmann::json{{"grade", "pass"}, {"phase", "done"}}));
  EXPECT_EQ(text.find("elapsed"), std::string::npos);
  std::vector<std::string> lines;
  for (std::size_t at = text.find("\n    \""); at != std::string::npos;
       at = text.find("\n    \"", at + 1))
    lines.push_back(text.substr(at + 6, text.find('"', at + 6) - at - 6));
  ASSERT_EQ(lines.size(), 7u) << text;
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end()));

  // A baseline file compares like the run it came from; a different run does not.
  ScratchDir dir;
  testing_support::write_text(dir / "base.json", text);
  const auto loaded = harness::load_cells(dir / "base.json");
  EXPECT_FALSE(harness::diff_runs(loaded, cells).changed());
  EXPECT_TRUE(harness::diff_runs(loaded, harness::cells_of_results(new_run(), "new")).changed());
}

TEST(Baseline, MalformedFilesNameThePointer) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"version": 1, "kind": "tlsmatrix-baseline", "cases": {"a/1.3/x->y": {"grade": 3}}})",
       "/cases/a~11.3~1x->y/grade"},
      {R"({"version": 1, "kind": "tlsmatrix-baseline", "cases": {"a/1.3/x->y": {"grad": "pass"}}})",
       "/cases/a~11.3~1x->y/grad: unknown key"},
      {R"({"version": 2, "kind": "tlsmatrix-baseline", "cases": {}})", "/version"},
      {R"({"version": 1, "kind": "tlsmatrix-baseline", "cases": [], "x": 1})", "/x"},
  };
  for (const auto& [text, pointer] : bad) {
    testing_support::write_text(dir / "b.json", text);
    try {
      (void)harness::load_cells(dir / "b.json");
      ADD_FAILURE() << "accepted " << text;
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
      EXPECT_NE(std::string(e.what()).find("b.json: " + pointer), std::string::npos) << e.what();
    }
  }
}

// ---- expectations ----

harness::Expectations expectations(const ScratchDir& dir, const std::string& entries) {
  testing_support::write_text(dir / "exp.json", R"({"version": 1, "entries": [)" + entries + "]}");
  return harness::load_expectations(dir / "exp.json");
}

TEST(Expectations, MatchByGlobsGradesAndReasons) {
  ScratchDir dir;
  const auto e = expectations(dir, R"(
    {"scenario": "server-*", "client": "nss", "grades": ["wrong_reason"],
     "reasons": ["expired", "invalid_?a"], "reason": "NSS words it differently"},
    {"peer": "gnutls", "tls": "1.2", "reason": "gnutls-serv in 1.2"},
    {"server": "node", "racy": true, "reason": "a reset races the EOF"},
    {"client": "java", "server": ["local", "open*"], "reason": "JSSE against two servers"},
    {"scenario": ["client-*", "!client-key-mismatch"], "client": "go", "checks": "alerts",
     "reason": "alerts"})");
  auto match = [&](const std::string& scenario, const std::string& tls, const std::string& client,
                   const std::string& server, const std::string& grade, const std::string& reason) {
    const auto* m = harness::find_expectation(e, scenario, tls, client, server, grade, reason);
    return m == nullptr ? std::string() : m->ref.substr(m->ref.find('#') + 1);
  };
  EXPECT_EQ(match("server-self-signed", "1.3", "nss", "local", "wrong_reason", "invalid_ca"),
            "/entries/0");
  EXPECT_EQ(match("server-expired", "1.2", "nss", "openssl", "wrong_reason", "expired"),
            "/entries/0");
  EXPECT_EQ(match("server-expired", "1.2", "nss", "openssl", "fail", "expired"), "")
      << "a grade the entry does not name";
  EXPECT_EQ(match("server-expired", "1.2", "nss", "openssl", "wrong_reason", "unknown_ca"), "")
      << "a reason the entry does not name";
  EXPECT_EQ(match("client-expired", "1.3", "nss", "local", "wrong_reason", "expired"), "");
  EXPECT_EQ(match("server-expired", "1.3", "local", "nss", "wrong_reason", "expired"), "")
      << "client glob, not peer";
  EXPECT_EQ(match("anything", "1.2", "local", "gnutls", "fail", ""), "/entries/1");
  EXPECT_EQ(match("anything", "1.2", "gnutls", "openssl", "timeout", ""), "/entries/1");
  EXPECT_EQ(match("anything", "1.3", "local", "gnutls", "fail", ""), "");
  // A pass is covered whatever grades/reasons say: the deviation is gone.
  EXPECT_EQ(match("server-expired", "1.3", "nss", "local", "pass", "expired"), "/entries/0");
  EXPECT_EQ(match("anything", "1.2", "gnutls", "local", "not_applicable", ""), "");
  EXPECT_EQ(match("client-expired", "1.3", "local", "node", "wrong_reason", "expired"),
            "/entries/2");
  EXPECT_EQ(match("client-expired", "1.3", "local", "node", "pass", "expired"), "")
      << "a racy deviation that did not happen is no unexpected pass";
  // A list of globs: any of them may match.
  EXPECT_EQ(match("x", "1.3", "java", "local", "fail", ""), "/entries/3");
  EXPECT_EQ(match("x", "1.3", "java", "openssl", "fail", ""), "/entries/3");
  EXPECT_EQ(match("x", "1.3", "java", "go", "fail", ""), "");
  // "!glob" excludes; `checks` limits the entry to scenarios that have those checks.
  EXPECT_EQ(match("client-expired", "1.3", "go", "go", "fail", ""), "/entries/4");
  EXPECT_EQ(match("client-key-mismatch", "1.3", "go", "go", "fail", ""), "");
  EXPECT_EQ(harness::find_expectation(e, "client-expired", "1.3", "go", "go", "fail", "",
                                      {.alerts = false, .flow = true}),
            nullptr);
  EXPECT_EQ(harness::find_expectation(e, "client-expired", "1.3", "go", "go", "pass", "",
                                      {.alerts = false, .flow = true}),
            nullptr)
      << "a pass of a scenario without the checks says nothing of the deviation";
}

TEST(Baseline, MergedRunsKeepRacyBehavioursAsAlternatives) {
  json first = old_run();
  json second = old_run();
  second["cases"][0]["verdict"]["grade"] = "wrong_reason"; // the nss cell raced
  json third = old_run();
  third["cases"][5]["verdict"]["grade"] = "not_applicable"; // java missing in this run
  third["peers"]["java"] = {{"available", false}};
  const auto merged = harness::merge_runs({harness::cells_of_results(first, "1"),
                                           harness::cells_of_results(second, "2"),
                                           harness::cells_of_results(third, "3")});
  ASSERT_EQ(merged.alternatives.size(), 1u);
  EXPECT_EQ(merged.alternatives.begin()->first, "server-expired/1.3/nss->local");
  EXPECT_EQ(merged.cells.at("one-way/1.3/java->local").grade, "pass");
  ScratchDir dir;
  testing_support::write_text(dir / "base.json", harness::render_baseline(merged));
  const auto j = nlohmann::json::parse(testing_support::read_text(dir / "base.json"));
  ASSERT_TRUE(j["cases"]["server-expired/1.3/nss->local"].is_array());
  EXPECT_EQ(j["cases"]["server-expired/1.3/nss->local"][1]["grade"], "wrong_reason");
  const auto base = harness::load_cells(dir / "base.json");
  EXPECT_FALSE(harness::diff_runs(base, harness::cells_of_results(first, "a")).changed());
  EXPECT_FALSE(harness::diff_runs(base, harness::cells_of_results(second, "b")).changed());
  json other = old_run();
  other["cases"][0]["verdict"]["grade"] = "fail";
  EXPECT_TRUE(harness::diff_runs(base, harness::cells_of_results(other, "c")).changed());
}

TEST(Baseline, AlertComesFromTheWireWhenTraced) {
  json run = old_run();
  // The client did not see the alert (a reset overtook it); the relay did.
  run["cases"][3]["trace"] = json::array(
      {{{"direction", "client->server"}, {"kind", "handshake"}, {"name", "ClientHello"}},
       {{"direction", "server->client"},
        {"kind", "alert"},
        {"name", "fatal unknown_ca"},
        {"alert", "fatal unknown_ca"},
        {"level", "fatal"}}});
  const auto cells = harness::cells_of_results(run, "r");
  EXPECT_EQ(cells.cells.at("one-way/1.3/local->local").alert, "unknown_ca");
  EXPECT_EQ(cells.cells.at("one-way/1.3/local->local").alert_from, "server");
  EXPECT_EQ(cells.cells.at("server-expired/1.3/nss->local").alert, "certificate_expired")
      << "no trace: the verdict's alert";
}

TEST(Expectations, RegradeSavedRunKeepsOriginalAndIsIdempotent) {
  ScratchDir dir;
  const auto e = expectations(dir, R"(
    {"scenario": "server-expired", "client": "nss", "reason": "NSS says expired"},
    {"scenario": "one-way", "reason": "was broken once"})");
  json run = old_run();
  run["cases"][0]["verdict"]["grade"] = "wrong_reason"; // nss cell fails
  run["cases"][0]["verdict"]["detail"] = "wrong_reason detail";
  harness::apply_expectations(e, run, false);
  harness::apply_expectations(e, run, false); // twice: same result
  const json& nss = run["cases"][0]["verdict"];
  EXPECT_EQ(nss["grade"], "expected_failure");
  EXPECT_EQ(nss["original_grade"], "wrong_reason");
  EXPECT_EQ(nss["expectation"]["reason"], "NSS says expired");
  EXPECT_NE(nss["detail"].get<std::string>().find("NSS says expired"), std::string::npos);
  EXPECT_NE(nss["detail"].get<std::string>().find("was wrong_reason: wrong_reason detail"),
            std::string::npos)
      << nss["detail"];
  EXPECT_EQ(run["cases"][3]["verdict"]["grade"], "unexpected_pass");
  EXPECT_EQ(run["cases"][4]["verdict"]["grade"], "unexpected_pass");
  EXPECT_EQ(run["cases"][1]["verdict"]["grade"], "pass");
  EXPECT_EQ(run["cases"][6]["verdict"]["grade"], "wrong_reason");
  EXPECT_EQ(run["totals"]["expected_failure"], 1);
  EXPECT_EQ(run["totals"]["unexpected_pass"], 3); // one-way ×3 (java too)
  EXPECT_EQ(run["expectations"]["strict"], false);

  // Regrading with another file starts from the original grades.
  const auto none = expectations(dir, "");
  harness::apply_expectations(none, run, false);
  EXPECT_EQ(run["cases"][0]["verdict"]["grade"], "wrong_reason");
  EXPECT_EQ(run["cases"][0]["verdict"]["detail"], "wrong_reason detail");
  EXPECT_FALSE(run["cases"][0]["verdict"].contains("original_grade"));
  EXPECT_EQ(run["totals"]["unexpected_pass"], 0);
}

// One table gives every grade its marks: a grade added to the enum without a row would show as
// "??" and fail every run.
TEST(GradeMarks, EveryGradeHasItsOwnMark) {
  std::set<std::string_view> marks;
  for (int g = static_cast<int>(harness::Grade::invalid) + 1;; ++g) {
    const auto name = harness::to_string(static_cast<harness::Grade>(g));
    if (name == "invalid" || name.empty())
      break;
    const auto& style = harness::report::style(name);
    EXPECT_EQ(style.name, name) << "no row for " << name;
    EXPECT_TRUE(marks.insert(style.mark).second) << name << " shares its mark " << style.mark;
  }
  EXPECT_GE(marks.size(), 11u);
  EXPECT_FALSE(harness::report::is_failure("refused"));
  EXPECT_TRUE(harness::report::is_skip("refused"));
  EXPECT_EQ(harness::report::mark("no-such-grade"), "??");
}

TEST(Expectations, RunFailsOnlyForUnexcusedGrades) {
  for (const char* g : {"pass", "not_applicable", "refused", "expected_failure"}) {
    EXPECT_FALSE(harness::fails_run(g, false)) << g;
    EXPECT_FALSE(harness::fails_run(g, true)) << g;
  }
  EXPECT_FALSE(harness::fails_run("unexpected_pass", false));
  EXPECT_TRUE(harness::fails_run("unexpected_pass", true));
  for (const char* g : {"wrong_reason", "fail", "timeout", "harness_error"})
    EXPECT_TRUE(harness::fails_run(g, false)) << g;
}

TEST(Expectations, MalformedFilesNameFileAndPointer) {
  ScratchDir dir;
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"version": 1, "entries": [{"scenario": "x"}]})", "/entries/0/reason: missing"},
      {R"({"version": 1, "entries": [{"scenario": "x", "reason": " "}]})",
       "/entries/0/reason: empty"},
      {R"({"version": 1, "entries": [{"scenaro": "x", "reason": "r"}]})",
       "/entries/0/scenaro: unknown key"},
      {R"({"version": 1, "entries": [{"client": "", "reason": "r"}]})", "/entries/0/client: empty"},
      {R"({"version": 1, "entries": [{"client": "ns[s]", "reason": "r"}]})",
       "/entries/0/client: bad pattern"},
      {R"({"version": 1, "entries": [{"scenario": "a/b", "reason": "r"}]})",
       "/entries/0/scenario: bad pattern"},
      {R"({"version": 1, "entries": [{"tls": "1.1", "reason": "r"}]})", "/entries/0/tls"},
      {R"({"version": 1, "entries": [{"grades": ["pass"], "reason": "r"}]})",
       "/entries/0/grades/0: expected one of"},
      {R"({"version": 1, "entries": [{"reasons": [], "reason": "r"}]})", "/entries/0/reasons"},
      {R"({"version": 1, "entries": [{"server": 3, "reason": "r"}]})",
       "/entries/0/server: expected a string"},
      {R"({"version": 1, "entries": [{"server": ["local", "a/b"], "reason": "r"}]})",
       "/entries/0/server/1: bad pattern"},
      {R"({"version": 1, "entries": [{"tls": ["1.2", "2"], "reason": "r"}]})", "/entries/0/tls/1"},
      {R"({"version": 1, "entries": [{"client": "!", "reason": "r"}]})",
       "/entries/0/client: empty"},
      {R"({"version": 1, "entries": [{"checks": ["alert"], "reason": "r"}]})",
       "/entries/0/checks/0: expected alerts or flow"},
      {R"({"version": 1, "entries": {}})", "/entries: expected an array"},
      {R"({"entries": []})", "/version: missing"},
      {R"({"version": 1, "entries": [], "extra": 1})", "/extra: unknown key"},
  };
  for (const auto& [text, message] : bad) {
    testing_support::write_text(dir / "exp.json", text);
    try {
      (void)harness::load_expectations(dir / "exp.json");
      ADD_FAILURE() << "accepted " << text;
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
      EXPECT_NE(std::string(e.what()).find((dir / "exp.json").string() + ": " + message),
                std::string::npos)
          << e.what();
    }
  }
  testing_support::write_text(dir / "exp.json", "{");
  EXPECT_THROW((void)harness::load_expectations(dir / "exp.json"), tlsmatrix::Error);
  try {
    (void)harness::load_expectations(dir / "missing.json");
    ADD_FAILURE();
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::io);
  }
}

TEST(Expectations, ShippedFileLoads) {
  const auto e = harness::load_expectations(testing_support::source_dir() / "scenarios" /
                                            "expectations" / "debian12.json");
  EXPECT_GE(e.entries.size(), 9u);
  for (const auto& entry : e.entries)
    EXPECT_FALSE(entry.reason.empty());
}

// ---- divergence ----

TEST(Divergence, GroupsStacksByBehaviour) {
  json run = old_run();
  run["cases"][0]["verdict"]["reason"] = "not_yet_valid"; // nss differs from gnutls, openssl
  run["cases"].push_back(make_case({"one-way", "1.2", "local", "nss", "not_applicable"}));
  const json d = harness::divergence_json(run);
  const json* expired = nullptr;
  const json* one_way_12 = nullptr;
  for (const auto& e : d) {
    if (e["scenario"] == "server-expired" && e["tls"] == "1.3")
      expired = &e;
    if (e["scenario"] == "one-way" && e["tls"] == "1.2")
      one_way_12 = &e;
  }
  ASSERT_NE(expired, nullptr) << d.dump(2);
  EXPECT_FALSE((*expired)["agree"]);
  ASSERT_EQ((*expired)["groups"].size(), 2u);
  const json& two = (*expired)["groups"][0]["stacks"].size() == 2 ? (*expired)["groups"][0]
                                                                  : (*expired)["groups"][1];
  const json& one =
      &two == &(*expired)["groups"][0] ? (*expired)["groups"][1] : (*expired)["groups"][0];
  EXPECT_EQ(two["stacks"], (json{"openssl", "gnutls"})); // results' peer order
  EXPECT_EQ(two["reason"], "expired");
  EXPECT_EQ(one["stacks"], (json{"nss"}));
  EXPECT_EQ(one["reason"], "not_yet_valid");
  EXPECT_EQ(one["alert"], "certificate_expired");
  EXPECT_EQ(one["alert_from"], "client");
  EXPECT_EQ(one["outcome"]["client"], "rejected");
  EXPECT_EQ(one["phase"]["client"], "handshake");
  EXPECT_EQ(one["cases"], (json{"server-expired/1.3/nss->local"}));
  ASSERT_NE(one_way_12, nullptr);
  EXPECT_TRUE((*one_way_12)["agree"]);
  EXPECT_EQ((*one_way_12)["groups"][0]["cases"].size(), 1u) << "not_applicable is left out";

  const std::string text = harness::render_divergence(run);
  EXPECT_NE(text.find("server-expired TLS 1.3: 2 cases"), std::string::npos) << text;
  EXPECT_NE(text.find("but nss->local: "), std::string::npos) << text;
  EXPECT_EQ(text.find("one-way"), std::string::npos) << "agreeing scenarios are not shown";
  EXPECT_EQ(harness::render_divergence(old_run()).find("server-expired"), std::string::npos);
}

// ---- the commands ----

TEST(DiffCommand, ExitCodesAndJson) {
  ScratchDir dir;
  testing_support::write_text(dir / "old.json", old_run().dump());
  testing_support::write_text(dir / "new.json", new_run().dump());
  const auto tm = testing_support::tlsmatrix_binary();
  auto same =
      testing_support::run({tm, "diff", (dir / "old.json").string(), (dir / "old.json").string()});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  auto changed = testing_support::run(
      {tm, "diff", (dir / "old.json").string(), (dir / "new.json").string(), "--json"});
  EXPECT_EQ(changed.exit_code, tlsmatrix::exit_codes::changed) << changed.err;
  const json j = json::parse(changed.out);
  EXPECT_EQ(j["counts"]["changed"], 4) << "the expected_failure counts here: no original_grade";
  auto base = testing_support::run(
      {tm, "baseline", (dir / "old.json").string(), "-o", (dir / "base.json").string()});
  ASSERT_EQ(base.exit_code, 0) << base.err;
  auto vs_base =
      testing_support::run({tm, "diff", (dir / "base.json").string(), (dir / "old.json").string()});
  EXPECT_EQ(vs_base.exit_code, 0) << vs_base.out << vs_base.err;
  auto missing =
      testing_support::run({tm, "diff", (dir / "nope.json").string(), (dir / "old.json").string()});
  EXPECT_EQ(missing.exit_code, tlsmatrix::exit_codes::io) << missing.err;
  testing_support::write_text(dir / "bad.json", R"({"version": 1, "cases": {}})");
  auto bad =
      testing_support::run({tm, "diff", (dir / "bad.json").string(), (dir / "old.json").string()});
  EXPECT_EQ(bad.exit_code, tlsmatrix::exit_codes::invalid_input) << bad.err;
}

TEST(ReportCommand, ExpectationsRegradeJunit) {
  ScratchDir dir;
  json run = old_run();
  run["cases"][0]["verdict"]["grade"] = "wrong_reason";
  testing_support::write_text(dir / "results.json", run.dump());
  testing_support::write_text(dir / "exp.json", R"({"version": 1, "entries": [
    {"scenario": "server-expired", "client": "nss", "reason": "NSS says expired"},
    {"scenario": "one-way", "tls": "1.2", "reason": "stale entry"}]})");
  const auto tm = testing_support::tlsmatrix_binary();
  for (const bool strict : {false, true}) {
    std::vector<std::string> argv = {tm,
                                     "report",
                                     (dir / "results.json").string(),
                                     "--expectations",
                                     (dir / "exp.json").string(),
                                     "--junit",
                                     "-"};
    if (strict)
      argv.push_back("--strict");
    const auto r = testing_support::run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("<skipped message=\"expected failure: known deviation (NSS says expired); "
                         "was wrong_reason"),
              std::string::npos)
        << r.out;
    const bool up_fails = r.out.find("type=\"unexpected_pass\"") != std::string::npos;
    EXPECT_EQ(up_fails, strict) << r.out;
    // self-signed nss stays a failure: no entry covers it.
    EXPECT_NE(r.out.find("type=\"wrong_reason\""), std::string::npos);
  }
  testing_support::write_text(dir / "exp.json", R"({"version": 1, "entries": [{"reason": 1}]})");
  const auto bad = testing_support::run({tm, "report", (dir / "results.json").string(),
                                         "--expectations", (dir / "exp.json").string()});
  EXPECT_EQ(bad.exit_code, tlsmatrix::exit_codes::invalid_input);
  EXPECT_NE(bad.err.find("/entries/0/reason"), std::string::npos) << bad.err;
}

} // namespace

namespace {

TEST(RunDiff, AGradeFlipWithinARacyEntryIsRacyNotAChange) {
  harness::Expectations e;
  harness::ExpectationEntry racy;
  racy.scenario = {"client-*"};
  racy.tls = {"1.3"};
  racy.server = {"node"};
  racy.grades = {"wrong_reason"};
  racy.racy = true;
  racy.reason = "Node closes without an alert";
  racy.ref = "x.json#/entries/0";
  e.entries.push_back(racy);

  const auto change = [](const std::string& id, const std::string& before,
                         const std::string& after) {
    harness::CellChange c;
    c.id = id;
    c.before.grade = before;
    c.after.grade = after;
    c.fields = {"grade"};
    return c;
  };
  harness::RunDiff d;
  d.changes = {change("client-wrong-eku/1.3/openssl->node", "pass", "wrong_reason"),
               change("client-wrong-eku/1.2/openssl->node", "pass", "wrong_reason"), // not 1.3
               change("client-expired/1.3/local->node", "pass", "fail"),             // not named
               change("server-expired/1.3/node->local", "pass", "wrong_reason")};    // other side
  harness::mark_racy(d, e);
  EXPECT_EQ(d.changes[0].kind, harness::CellChange::Kind::racy);
  EXPECT_EQ(d.changes[0].note, "documented race: x.json#/entries/0");
  EXPECT_EQ(d.changes[1].kind, harness::CellChange::Kind::changed);
  EXPECT_EQ(d.changes[2].kind, harness::CellChange::Kind::changed);
  EXPECT_EQ(d.changes[3].kind, harness::CellChange::Kind::changed);
  EXPECT_TRUE(d.changed());
  d.changes.resize(1);
  EXPECT_FALSE(d.changed());
}

} // namespace
