// results.json (schema version 1), the latest link, and the terminal views of a run.
#include "harness/results/results.hpp"

#include "harness/grading/expectations.hpp"
#include "harness/report/divergence.hpp"
#include "harness/report/grades.hpp"

#include <unistd.h>

#include <cstdio>
#include <random>
#include <thread>

#include "common/error.hpp"
#include "common/files.hpp"
#include "pki/time.hpp"
#include "pki/version.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

std::string_view mark(Grade g) {
  return report::mark(to_string(g));
}

const char* colour(Grade g) {
  switch (g) {
  case Grade::pass:
    return "\033[32m";
  case Grade::wrong_reason:
    return "\033[33m";
  case Grade::not_applicable:
  case Grade::refused:
    return "\033[90m";
  case Grade::flaky:
    return "\033[35m";
  case Grade::expected_failure:
    return "\033[36m";
  default:
    return "\033[31m";
  }
}

std::string paint(const std::string& text, Grade g, bool color) {
  return color ? colour(g) + text + "\033[0m" : text;
}

std::string pad(std::string s, std::size_t n) {
  if (s.size() < n)
    s += std::string(n - s.size(), ' ');
  return s;
}

} // namespace

json trace_json(const std::vector<wire::TraceEvent>& trace) {
  json list = json::array();
  for (const auto& e : trace) {
    json j;
    j["direction"] = wire::to_string(e.direction);
    j["kind"] = wire::to_string(e.kind);
    j["name"] = e.name;
    // The HTML ladder reads "alert" or "message" and "size".
    j[e.kind == wire::EventKind::alert ? "alert" : "message"] = e.name;
    j["size"] = e.message_length;
    j["message_length"] = e.message_length;
    j["record_length"] = e.record_length;
    j["time_ms"] = static_cast<double>(e.time.count()) / 1000.0;
    j["decrypted"] = e.decrypted;
    if (e.alert_level)
      j["level"] = *e.alert_level == 2 ? "fatal" : "warning";
    j["detail"] = e.detail;
    list.push_back(std::move(j));
  }
  return list;
}

json trace_summary_json(const wire::HandshakeSummary& s) {
  json j;
  j["server_name"] = s.server_name;
  json offered = json::array();
  for (auto v : s.offered_versions)
    offered.push_back(wire::version_name(v));
  j["offered_versions"] = offered;
  j["version"] = s.version ? json(wire::version_name(s.version)) : json(nullptr);
  j["cipher_suite"] =
      s.cipher_suite ? json(wire::cipher_suite_name(s.cipher_suite)) : json(nullptr);
  j["hello_retry_request"] = s.hello_retry_request;
  j["certificate_request"] = s.certificate_request;
  j["server_certificates"] = s.server_certificate_names;
  j["client_certificates"] = s.client_certificate_names;
  j["keys_found"] = s.keys_found;
  return j;
}

json observation_json(const SideObservation& o) {
  json j;
  j["peer"] = o.peer;
  j["outcome"] = to_string(o.outcome);
  j["phase"] = to_string(o.phase);
  j["exit_code"] = o.exit_code ? json(*o.exit_code) : json(nullptr);
  j["verify_error"] = o.verify_error ? json(*o.verify_error) : json(nullptr);
  j["reason"] = o.reason;
  j["reason_source"] = to_string(o.reason_source);
  j["error_text"] = o.error_text;
  json alerts = json::array();
  for (const auto& a : o.alerts)
    alerts.push_back({{"direction", a.sent ? "sent" : "received"},
                      {"level", a.fatal ? "fatal" : "warning"},
                      {"description", a.name()},
                      {"code", a.description}});
  j["alerts"] = alerts;
  if (!o.peer_identity.empty())
    j["peer_identity"] = o.peer_identity;
  if (!o.negotiated_version.empty())
    j["version"] = o.negotiated_version;
  if (!o.cipher.empty())
    j["cipher"] = o.cipher;
  j["elapsed_ms"] = static_cast<double>(o.elapsed.count()) / 1000.0;
  j["resource"] = o.resource;
  if (o.overruled)
    j["overruled"] = {{"outcome", to_string(o.overruled->outcome)},
                      {"reason", o.overruled->reason},
                      {"reason_source", to_string(o.overruled->reason_source)},
                      {"conflict", o.overruled->conflict},
                      {"note", o.overruled->note}};
  return j;
}

json resource_json(const ResourceDelivery& d) {
  return {{"delivered", d.delivered},
          {"served", d.served},
          {"received", d.received},
          {"on_wire", d.on_wire ? json(*d.on_wire) : json(nullptr)},
          {"evidence", d.evidence}};
}

json conflicts_json(const json& cases) {
  json list = json::array();
  for (const auto& c : cases)
    for (const char* side : {"client", "server"}) {
      const json::json_pointer p("/observation/" + std::string(side) + "/overruled");
      if (c.contains(p) && c.at(p).value("conflict", false))
        list.push_back({{"case", c.value("id", "")},
                        {"side", side},
                        {"peer", c.value(side, "")},
                        {"note", c.at(p).value("note", "")}});
    }
  return {{"count", list.size()}, {"cases", list}};
}

json unmapped_json(const json& cases) {
  std::map<std::string, std::pair<int, int>> by_peer; // peer -> rejecting sides, unmapped
  int rejecting = 0, unmapped = 0;
  for (const auto& c : cases)
    for (const char* side : {"client", "server"}) {
      const json::json_pointer p("/observation/" + std::string(side));
      if (!c.contains(p) || c.at(p).value("outcome", "") != "rejected")
        continue;
      auto& [n, u] = by_peer[c.at(p).value("peer", "")];
      ++n;
      ++rejecting;
      if (c.at(p).value("reason", "") == "unmapped") {
        ++u;
        ++unmapped;
      }
    }
  json peers = json::object();
  for (const auto& [peer, counts] : by_peer)
    peers[peer] = {{"rejecting", counts.first}, {"unmapped", counts.second}};
  return {{"rejecting_sides", rejecting}, {"count", unmapped}, {"by_peer", peers}};
}

std::string render_unmapped(const json& results) {
  const json u = results.value("unmapped", json::object());
  if (u.value("count", 0) == 0)
    return {};
  std::string out = "\nunmapped reasons (an adapter's defect: neither output nor wire said why): " +
                    std::to_string(u.value("count", 0)) + " of " +
                    std::to_string(u.value("rejecting_sides", 0)) + " rejecting sides —";
  const json by_peer =
      u.value("by_peer", json::object()); // a named copy: items() only refers to it
  for (const auto& [peer, counts] : by_peer.items())
    if (counts.value("unmapped", 0) > 0)
      out += " " + peer + " " + std::to_string(counts.value("unmapped", 0));
  return out + "\n";
}

std::string render_conflicts(const json& results) {
  const json conflicts = results.value("conflicts", json::object());
  const json cases = conflicts.value("cases", json::array());
  if (cases.empty())
    return {};
  std::string out = "\nclaims the evidence contradicts: " + std::to_string(cases.size()) +
                    " (the verdicts use the evidence)\n";
  constexpr std::size_t shown = 10;
  for (std::size_t i = 0; i < cases.size() && i < shown; ++i)
    out += "  " + cases[i].value("case", "") + " " + cases[i].value("side", "") + ": " +
           cases[i].value("note", "") + "\n";
  if (cases.size() > shown)
    out += "  … " + std::to_string(cases.size() - shown) + " more in results.json /conflicts\n";
  return out;
}

json results_json(const RunInfo& info, const std::vector<CaseResult>& cases) {
  json j;
  j["version"] = 1;
  j["tool"] = "tlsmatrix " + std::string(tlsmatrix::version);
  j["run_id"] = info.run_id;
  j["started"] = info.started;
  j["finished"] = info.finished;
  j["interrupted"] = info.interrupted;
  j["pki"] = {{"dir", fs::absolute(info.pki_dir).string()},
              {"manifest", fs::absolute(info.pki_dir / "manifest.json").string()}};
  j["scenarios"] = fs::absolute(info.scenarios).string();
  json peers = json::object();
  for (const auto* p : info.peers) {
    json pj;
    pj["description"] = p->description;
    pj["version"] = p->version;
    pj["roles"] = json::array();
    if (p->client)
      pj["roles"].push_back("client");
    if (p->server)
      pj["roles"].push_back("server");
    pj["capabilities"] = std::vector<std::string>(p->capabilities.begin(), p->capabilities.end());
    pj["available"] = !p->unavailable;
    if (p->unavailable)
      pj["unavailable"] = *p->unavailable;
    peers[p->name] = pj;
  }
  j["peers"] = peers;
  j["options"] = info.options;
  json list = json::array();
  for (const auto& r : cases) {
    const auto& s = *r.spec.scenario;
    json c;
    c["id"] = r.spec.id;
    c["scenario"] = s.id;
    c["title"] = s.title;
    c["tls"] = to_string(r.spec.version);
    c["client"] = r.spec.client->info().name;
    c["server"] = r.spec.server->info().name;
    json expect = {{"result", to_string(s.expect.result)}};
    if (s.expect.by)
      expect["by"] = to_string(*s.expect.by);
    if (!s.expect.reasons.empty())
      expect["reasons"] = s.expect.reasons;
    if (!s.expect.alerts.empty())
      expect["alerts"] = s.expect.alerts;
    if (const Flow* f = expected_flow(s, r.spec.version)) {
      json steps = json::array();
      for (const auto& step : f->steps)
        steps.push_back(step.text);
      expect["flow"] = steps;
    }
    c["expect"] = expect;
    c["observation"] = {{"client", observation_json(r.client)},
                        {"server", observation_json(r.server)}};
    json v;
    v["grade"] = to_string(r.verdict.grade);
    v["reason"] = r.verdict.reason;
    v["rejected_by"] =
        r.verdict.rejected_by ? json(to_string(*r.verdict.rejected_by)) : json(nullptr);
    v["alert"] = r.verdict.alert.empty() ? json(nullptr) : json(r.verdict.alert);
    v["alert_from"] = r.verdict.alert_from ? json(to_string(*r.verdict.alert_from)) : json(nullptr);
    v["detail"] = r.verdict.detail;
    v["flow"] = r.verdict.flow.empty() ? json(nullptr) : json(r.verdict.flow);
    if (r.verdict.original) {
      v["original_grade"] = to_string(*r.verdict.original);
      v["expectation"] = {{"reason", r.verdict.expectation},
                          {"entry", r.verdict.expectation_ref},
                          {"original_detail", r.verdict.detail}};
      v["detail"] = detail_with_expectation(
          std::string(to_string(r.verdict.grade)), std::string(to_string(*r.verdict.original)),
          r.verdict.expectation, r.verdict.expectation_ref, r.verdict.detail);
    }
    c["verdict"] = v;
    c["resource"] = resource_json(r.resource);
    c["elapsed_ms"] = static_cast<double>(r.elapsed.count()) / 1000.0;
    c["trace"] = trace_json(r.trace);
    if (r.trace_summary)
      c["trace_summary"] = trace_summary_json(*r.trace_summary);
    if (!r.trace_note.empty())
      c["trace_note"] = r.trace_note;
    if (!r.dir.empty()) {
      c["logs"] = {{"dir", r.dir.string()}};
      for (const char* f : {"server.out", "server.err", "client.out", "client.err", "server.keylog",
                            "client.keylog", "case.pcapng"})
        if (fs::exists(r.dir / f))
          c["logs"][f] = (r.dir / f).string();
    }
    json rep = json::object();
    if (!r.reproduce_server.empty())
      rep["server"] = r.reproduce_server;
    if (!r.reproduce_client.empty())
      rep["client"] = r.reproduce_client;
    c["reproduce"] = rep;
    list.push_back(c);
  }
  j["totals"] = totals(cases);
  j["conflicts"] = conflicts_json(list);
  j["unmapped"] = unmapped_json(list);
  j["cases"] = list;
  j["divergence"] = divergence_json(j);
  return j;
}

std::map<std::string, int> totals(const std::vector<CaseResult>& cases) {
  std::map<std::string, int> t;
  for (const auto g : {Grade::pass, Grade::wrong_reason, Grade::fail, Grade::not_applicable,
                       Grade::refused, Grade::timeout, Grade::harness_error})
    t[std::string(to_string(g))] = 0;
  for (const auto& r : cases)
    ++t[std::string(to_string(r.verdict.grade))];
  return t;
}

void write_results(const fs::path& run_dir, const json& results) {
  common::write_file_atomic(run_dir / "results.json", results.dump(2) + "\n");
  // latest -> <run-id>: a new symlink renamed over the old one, so readers never see it missing.
  // Its temporary name is this thread's alone: runs in other processes (or threads) that finish at
  // the same moment each rename their own link, and the last rename wins.
  const fs::path root = run_dir.parent_path();
  const fs::path tmp =
      root / (".latest.tmp" + std::to_string(::getpid()) + "-" +
              std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())));
  std::error_code ec;
  fs::remove(tmp, ec);
  fs::create_directory_symlink(run_dir.filename(), tmp, ec);
  if (!ec)
    fs::rename(tmp, root / "latest", ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw tlsmatrix::Error(tlsmatrix::Errc::io,
                           "cannot update " + (root / "latest").string() + ": " + ec.message());
  }
}

std::string case_line(const CaseResult& r, bool color) {
  std::string g(to_string(r.verdict.grade));
  for (auto& ch : g)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  char ms[32];
  std::snprintf(ms, sizeof ms, "%6.0f ms", static_cast<double>(r.elapsed.count()) / 1000.0);
  std::string line = paint(pad(g.size() >= 14 ? g + " " : g, 14), r.verdict.grade, color) +
                     pad(r.spec.id, 60) + " " + ms;
  if (r.verdict.original)
    line += "  " + detail_with_expectation(std::string(to_string(r.verdict.grade)),
                                           std::string(to_string(*r.verdict.original)),
                                           r.verdict.expectation, r.verdict.expectation_ref,
                                           r.verdict.detail);
  else if (r.verdict.grade != Grade::pass)
    line += "  " + r.verdict.detail;
  else if (!r.verdict.reason.empty())
    line += "  " + r.verdict.reason;
  return line;
}

std::string render_matrix(const std::vector<CaseResult>& cases, bool color) {
  std::vector<std::string> rows, cols;
  std::map<std::pair<std::string, std::string>, Grade> cell;
  for (const auto& r : cases) {
    const std::string row = r.spec.scenario->id;
    const std::string col = r.spec.client->info().name + ">" + r.spec.server->info().name + " " +
                            std::string(to_string(r.spec.version));
    if (std::find(rows.begin(), rows.end(), row) == rows.end())
      rows.push_back(row);
    if (std::find(cols.begin(), cols.end(), col) == cols.end())
      cols.push_back(col);
    cell[{row, col}] = r.verdict.grade;
  }
  std::size_t width = 8;
  for (const auto& row : rows)
    width = std::max(width, row.size() + 1);
  std::string out;
  // Column headers, numbered, with a legend below (peer pairs are too wide for one line).
  out += pad("", width);
  for (std::size_t i = 0; i < cols.size(); ++i)
    out += pad(std::to_string(i + 1), 4);
  out += "\n";
  for (const auto& row : rows) {
    out += pad(row, width);
    for (const auto& col : cols) {
      auto it = cell.find({row, col});
      out += it == cell.end() ? pad("", 4)
                              : paint(std::string(mark(it->second)), it->second, color) + "  ";
    }
    out += "\n";
  }
  out += "\ncolumns (client>server tls):";
  for (std::size_t i = 0; i < cols.size(); ++i)
    out += (i % 4 == 0 ? "\n  " : "   ") + pad(std::to_string(i + 1) + " " + cols[i], 24);
  out += "\nmarks:";
  for (const auto& g : report::grades())
    out += (g.name == "pass" ? " " : ", ") + std::string(g.mark) + " " + std::string(g.label);
  out += "\n";
  std::string t;
  for (const auto& [grade, n] : totals(cases))
    if (n)
      t += (t.empty() ? "" : ", ") + std::to_string(n) + " " + grade;
  out += "totals: " + std::to_string(cases.size()) + " cases: " + t + "\n";
  return out;
}

std::string new_run_id() {
  const auto now = std::chrono::system_clock::now();
  std::string stamp = pki::format_time(std::chrono::floor<std::chrono::seconds>(now));
  std::erase(stamp, '-');
  std::erase(stamp, ':');
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "-%04x", rd() & 0xffff);
  return stamp + suffix;
}

} // namespace harness
