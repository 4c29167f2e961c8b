// Baselines and run diffs: the timing-free behaviour of each cell, compared across two runs.
#include "harness/results/baseline.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/report/report.hpp"
#include "harness/results/results_file.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;
using json = nlohmann::ordered_json;

constexpr const char* baseline_kind = "tlsmatrix-baseline";

std::string text(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "<scenario>/<tls>/<client>-><server>" -> {client, server}.
std::pair<std::string, std::string> pair_of(const std::string& id) {
  const auto parts = parse_case_id(id);
  return parts ? std::pair{parts->client, parts->server} : std::pair{id, id};
}

[[noreturn]] void invalid(const std::string& origin, const std::string& pointer,
                          const std::string& what) {
  throw Error(Errc::invalid_input, origin + ": " + pointer + ": " + what);
}

CellBehaviour parse_behaviour(const json& c, const std::string& origin, const std::string& at);

RunCells parse_baseline(const json& j, const std::string& origin) {
  RunCells run;
  run.origin = origin;
  for (const auto& [key, value] : j.items())
    if (key != "version" && key != "kind" && key != "cases" && key != "description")
      invalid(origin, "/" + key, "unknown key (expected version, kind, description, cases)");
  if (!j.contains("version") || j["version"] != 1)
    invalid(origin, "/version", "expected 1");
  if (!j.contains("cases") || !j["cases"].is_object())
    invalid(origin, "/cases", "expected an object of case id -> behaviour");
  for (const auto& [id, c] : j["cases"].items()) {
    // JSON pointer escaping: '/' is "~1" in a key.
    std::string escaped;
    for (const char ch : id)
      escaped += ch == '/' ? std::string("~1") : ch == '~' ? std::string("~0") : std::string(1, ch);
    const std::string at = "/cases/" + escaped;
    if (c.is_array()) {
      if (c.empty())
        invalid(origin, at, "expected a behaviour or a non-empty array of behaviours");
      for (std::size_t i = 0; i < c.size(); ++i) {
        const CellBehaviour b = parse_behaviour(c[i], origin, at + "/" + std::to_string(i));
        if (i == 0)
          run.cells[id] = b;
        else
          run.alternatives[id].push_back(b);
      }
    } else {
      run.cells[id] = parse_behaviour(c, origin, at);
    }
  }
  return run;
}

CellBehaviour parse_behaviour(const json& c, const std::string& origin, const std::string& at) {
  if (!c.is_object())
    invalid(origin, at, "expected an object");
  CellBehaviour b;
  for (const auto& [key, value] : c.items()) {
    std::string* field = key == "grade"        ? &b.grade
                         : key == "reason"     ? &b.reason
                         : key == "alert"      ? &b.alert
                         : key == "alert_from" ? &b.alert_from
                         : key == "phase"      ? &b.phase
                                               : nullptr;
    if (field == nullptr)
      invalid(origin, at + "/" + key,
              "unknown key (expected grade, reason, alert, alert_from, phase)");
    if (!value.is_string())
      invalid(origin, at + "/" + key, "expected a string");
    *field = value.get<std::string>();
  }
  if (b.grade.empty())
    invalid(origin, at + "/grade", "missing");
  return b;
}

std::string describe(const CellBehaviour& b) {
  std::string out = b.grade;
  if (!b.reason.empty())
    out += " " + b.reason;
  if (!b.alert.empty())
    out += ", alert " + b.alert + (b.alert_from.empty() ? "" : " from " + b.alert_from);
  if (!b.phase.empty())
    out += ", in " + b.phase;
  return out;
}

json behaviour_json(const CellBehaviour& b) {
  json j = json::object();
  j["grade"] = b.grade;
  for (const auto& [key, value] :
       {std::pair{"reason", &b.reason}, std::pair{"alert", &b.alert},
        std::pair{"alert_from", &b.alert_from}, std::pair{"phase", &b.phase}})
    if (!value->empty())
      j[key] = *value;
  return j;
}

} // namespace

RunCells cells_of_results(const json& results, const std::string& origin) {
  check_results(results, origin);
  RunCells run;
  run.origin = origin;
  if (results.contains("peers") && results["peers"].is_object())
    for (const auto& [name, p] : results["peers"].items())
      if (p.is_object() && p.contains("available") && p["available"] == false)
        run.unavailable_peers.insert(name);
  for (const auto& c : results["cases"]) {
    const json& v = c["verdict"];
    CellBehaviour b;
    b.grade = text(v, "original_grade");
    if (b.grade.empty())
      b.grade = text(v, "grade");
    b.reason = text(v, "reason");
    b.alert = text(v, "alert");
    b.alert_from = text(v, "alert_from");
    if (c.contains("trace") && c["trace"].is_array() && !c["trace"].empty()) {
      b.alert.clear();
      b.alert_from.clear();
      for (const auto& e : c["trace"])
        if (text(e, "kind") == "alert" && text(e, "level") == "fatal") {
          b.alert = text(e, "alert").empty() ? text(e, "name") : text(e, "alert");
          if (b.alert.rfind("fatal ", 0) == 0)
            b.alert = b.alert.substr(6);
          b.alert_from = text(e, "direction").rfind("client", 0) == 0 ? "client" : "server";
          break;
        }
    }
    // The deciding side's phase: where the rejecting side stopped, else where the client did
    // (done, for a completed case). Elapsed times are left out: they differ on every run.
    const std::string side = text(v, "rejected_by").empty() ? "client" : text(v, "rejected_by");
    if (c.contains("observation") && c["observation"].contains(side)) {
      const std::string outcome = text(c["observation"][side], "outcome");
      if (!outcome.empty() && outcome != "invalid")
        b.phase = text(c["observation"][side], "phase");
    }
    run.cells[c["id"].get<std::string>()] = b;
  }
  return run;
}

RunCells load_cells(const fs::path& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const std::string content = common::read_file(path);
    json j;
    try {
      j = json::parse(content);
    } catch (const json::parse_error& e) {
      throw Error(Errc::invalid_input, path.string() + ": not valid JSON: " + e.what());
    }
    if (j.is_object() && j.contains("kind") && j["kind"] == baseline_kind)
      return parse_baseline(j, path.string());
    return cells_of_results(j, path.string());
  }
  const SavedRun saved = load_results(path);
  RunCells run = cells_of_results(saved.results, saved.file.string());
  return run;
}

RunCells merge_runs(const std::vector<RunCells>& runs) {
  RunCells out;
  for (const auto& run : runs) {
    out.origin += (out.origin.empty() ? "" : " + ") + run.origin;
    for (const auto& [id, b] : run.cells) {
      const auto [client, server] = pair_of(id);
      if (b.grade == "not_applicable" &&
          (run.unavailable_peers.count(client) || run.unavailable_peers.count(server)))
        continue; // not run here: another run may have it
      std::vector<CellBehaviour> seen = {b};
      if (const auto alt = run.alternatives.find(id); alt != run.alternatives.end())
        seen.insert(seen.end(), alt->second.begin(), alt->second.end());
      for (const auto& behaviour : seen) {
        const auto it = out.cells.find(id);
        if (it == out.cells.end()) {
          out.cells[id] = behaviour;
          continue;
        }
        auto& alts = out.alternatives[id];
        if (it->second != behaviour && std::find(alts.begin(), alts.end(), behaviour) == alts.end())
          alts.push_back(behaviour);
        if (alts.empty())
          out.alternatives.erase(id);
      }
    }
  }
  // A peer is unavailable only when no run had it.
  if (!runs.empty())
    for (const auto& peer : runs.front().unavailable_peers)
      if (std::all_of(runs.begin(), runs.end(),
                      [&](const RunCells& r) { return r.unavailable_peers.count(peer) > 0; }))
        out.unavailable_peers.insert(peer);
  return out;
}

std::string render_baseline(const RunCells& run) {
  std::string out = "{\n  \"version\": 1,\n  \"kind\": \"tlsmatrix-baseline\",\n"
                    "  \"description\": \"Per case: grade (before expectations), reason, alert, "
                    "alert_from, phase; an array lists every behaviour a racy cell showed. "
                    "Regenerate with scripts/update-baseline.\",\n"
                    "  \"cases\": {";
  bool first = true;
  for (const auto& [id, b] : run.cells) { // std::map: sorted by id
    out += first ? "\n" : ",\n";
    first = false;
    json value = behaviour_json(b);
    if (const auto alt = run.alternatives.find(id); alt != run.alternatives.end()) {
      value = json::array({value});
      for (const auto& other : alt->second)
        value.push_back(behaviour_json(other));
    }
    out += "    " + json(id).dump() + ": " + value.dump();
  }
  out += first ? "}\n}\n" : "\n  }\n}\n";
  return out;
}

std::string_view to_string(CellChange::Kind k) {
  switch (k) {
  case CellChange::Kind::changed:
    return "changed";
  case CellChange::Kind::only_old:
    return "only_old";
  case CellChange::Kind::only_new:
    return "only_new";
  case CellChange::Kind::not_run:
    return "not_run";
  case CellChange::Kind::alert_unseen:
    return "alert_unseen";
  case CellChange::Kind::racy:
    return "racy";
  }
  return "changed";
}

std::size_t RunDiff::count(CellChange::Kind k) const {
  return static_cast<std::size_t>(
      std::count_if(changes.begin(), changes.end(), [k](const auto& c) { return c.kind == k; }));
}

bool RunDiff::changed() const {
  return std::any_of(changes.begin(), changes.end(), [](const auto& c) {
    return c.kind != CellChange::Kind::not_run && c.kind != CellChange::Kind::alert_unseen &&
           c.kind != CellChange::Kind::racy;
  });
}

RunDiff diff_runs(const RunCells& old_run, const RunCells& new_run,
                  const std::function<bool(const std::string&)>& in_scope) {
  RunDiff d;
  auto unavailable = [&](const std::string& id) -> std::string {
    const auto [client, server] = pair_of(id);
    for (const auto& peer : {client, server})
      if (new_run.unavailable_peers.count(peer))
        return "peer " + peer + " is not available in " + new_run.origin;
    return {};
  };
  for (const auto& [id, before] : old_run.cells) {
    if (in_scope && !in_scope(id))
      continue;
    const auto it = new_run.cells.find(id);
    const std::string missing = unavailable(id);
    CellChange ch;
    ch.id = id;
    ch.before = before;
    if (it == new_run.cells.end()) {
      ch.kind = missing.empty() ? CellChange::Kind::only_old : CellChange::Kind::not_run;
      ch.note = missing;
      d.changes.push_back(ch);
      continue;
    }
    ch.after = it->second;
    if (!missing.empty() && ch.after.grade == "not_applicable") {
      ch.kind = CellChange::Kind::not_run;
      ch.note = missing;
      d.changes.push_back(ch);
      continue;
    }
    ++d.compared;
    if (const auto alt = old_run.alternatives.find(id);
        alt != old_run.alternatives.end() &&
        std::find(alt->second.begin(), alt->second.end(), ch.after) != alt->second.end())
      continue; // a behaviour this racy cell is known to show
    for (const auto& [name, a, b] :
         {std::tuple{"grade", &before.grade, &ch.after.grade},
          std::tuple{"reason", &before.reason, &ch.after.reason},
          std::tuple{"alert", &before.alert, &ch.after.alert},
          std::tuple{"alert_from", &before.alert_from, &ch.after.alert_from},
          std::tuple{"phase", &before.phase, &ch.after.phase}})
      if (*a != *b)
        ch.fields.emplace_back(name);
    const bool only_alert = std::all_of(ch.fields.begin(), ch.fields.end(), [](const auto& f) {
      return f == "alert" || f == "alert_from";
    });
    if (!ch.fields.empty() && only_alert && before.alert.empty() != ch.after.alert.empty()) {
      ch.kind = CellChange::Kind::alert_unseen;
      ch.note = "an alert seen in one run only: a connection reset can discard it unread";
    }
    if (!ch.fields.empty())
      d.changes.push_back(ch);
  }
  for (const auto& [id, after] : new_run.cells)
    if (!old_run.cells.count(id)) {
      CellChange ch;
      ch.kind = CellChange::Kind::only_new;
      ch.id = id;
      ch.after = after;
      // A peer OLD never knew that is not installed here either: nothing ran, nothing changed.
      ch.note = unavailable(id);
      if (!ch.note.empty() && after.grade == "not_applicable")
        ch.kind = CellChange::Kind::not_run;
      d.changes.push_back(ch);
    }
  std::sort(d.changes.begin(), d.changes.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return d;
}

std::string render_diff(const RunDiff& d, const RunCells& old_run, const RunCells& new_run) {
  std::string out = "diff " + old_run.origin + " -> " + new_run.origin + "\n";
  for (const auto& c : d.changes) {
    switch (c.kind) {
    case CellChange::Kind::changed: {
      std::string what;
      for (const auto& f : c.fields) {
        const auto get = [&](const CellBehaviour& b) {
          const std::string& v = f == "grade"        ? b.grade
                                 : f == "reason"     ? b.reason
                                 : f == "alert"      ? b.alert
                                 : f == "alert_from" ? b.alert_from
                                                     : b.phase;
          return v.empty() ? std::string("-") : v;
        };
        what += (what.empty() ? "" : "; ") + f + " " + get(c.before) + " -> " + get(c.after);
      }
      out += "  changed      " + c.id + "  " + what + "\n";
      break;
    }
    case CellChange::Kind::only_old:
      out += "  only in OLD  " + c.id + "  (was " + describe(c.before) + ")\n";
      break;
    case CellChange::Kind::only_new:
      out += "  only in NEW  " + c.id + "  (" + describe(c.after) + ")\n";
      break;
    case CellChange::Kind::not_run:
      out += "  not run      " + c.id + "  (" + c.note + ")\n";
      break;
    case CellChange::Kind::alert_unseen:
      out += "  alert unseen " + c.id + "  (" + describe(c.before) + " / " + describe(c.after) +
             "; not a change)\n";
      break;
    case CellChange::Kind::racy:
      out += "  racy         " + c.id + "  (" + describe(c.before) + " / " + describe(c.after) +
             "; " + c.note + ")\n";
      break;
    }
  }
  out += std::to_string(d.compared) +
         " cells compared: " + std::to_string(d.count(CellChange::Kind::changed)) + " changed, " +
         std::to_string(d.count(CellChange::Kind::only_old)) + " only in OLD, " +
         std::to_string(d.count(CellChange::Kind::only_new)) + " only in NEW, " +
         std::to_string(d.count(CellChange::Kind::not_run)) + " not run here, " +
         std::to_string(d.count(CellChange::Kind::alert_unseen)) + " alert unseen, " +
         std::to_string(d.count(CellChange::Kind::racy)) + " racy\n";
  return out;
}

json diff_json(const RunDiff& d, const RunCells& old_run, const RunCells& new_run) {
  json j;
  j["old"] = old_run.origin;
  j["new"] = new_run.origin;
  j["changed"] = d.changed();
  j["compared"] = d.compared;
  j["counts"] = {{"changed", d.count(CellChange::Kind::changed)},
                 {"only_old", d.count(CellChange::Kind::only_old)},
                 {"only_new", d.count(CellChange::Kind::only_new)},
                 {"not_run", d.count(CellChange::Kind::not_run)},
                 {"alert_unseen", d.count(CellChange::Kind::alert_unseen)},
                 {"racy", d.count(CellChange::Kind::racy)}};
  json list = json::array();
  for (const auto& c : d.changes) {
    json e;
    e["id"] = c.id;
    e["kind"] = to_string(c.kind);
    if (c.kind != CellChange::Kind::only_new)
      e["old"] = behaviour_json(c.before);
    if (c.kind == CellChange::Kind::changed || c.kind == CellChange::Kind::only_new ||
        c.kind == CellChange::Kind::alert_unseen || c.kind == CellChange::Kind::racy ||
        (c.kind == CellChange::Kind::not_run && !c.after.grade.empty()))
      e["new"] = behaviour_json(c.after);
    if (!c.fields.empty())
      e["fields"] = c.fields;
    if (!c.note.empty())
      e["note"] = c.note;
    list.push_back(e);
  }
  j["changes"] = list;
  return j;
}

void mark_racy(RunDiff& d, const Expectations& expectations) {
  for (auto& c : d.changes) {
    if (c.kind != CellChange::Kind::changed)
      continue;
    const auto id = parse_case_id(c.id);
    if (!id)
      continue;
    const auto& [scenario, tls, client, server] = *id;
    for (const auto& e : expectations.entries) {
      if (!e.racy || !entry_matches_cell(e, scenario, tls, client, server))
        continue;
      const auto documented = [&](const std::string& grade) {
        return grade == "pass" ||
               std::find(e.grades.begin(), e.grades.end(), grade) != e.grades.end();
      };
      if (documented(c.before.grade) && documented(c.after.grade)) {
        c.kind = CellChange::Kind::racy;
        c.note = "documented race: " + e.ref;
        break;
      }
    }
  }
}

} // namespace harness
