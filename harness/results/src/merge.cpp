// `tlsmatrix merge`: checks that shard runs belong together and unites them into one run.
#include "harness/results/merge.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/files.hpp"
#include "harness/report/report.hpp"
#include "harness/results/results.hpp"
#include "pki/manifest.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::string fnv1a(const std::string& data) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string text_at(const json& j, const char* pointer) {
  const json::json_pointer p(pointer);
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : std::string();
}

// Replaces a leading `from` in every string under `j` by `to`.
void rebase(json& j, const std::string& from, const std::string& to) {
  if (j.is_string()) {
    auto s = j.get<std::string>();
    if (s.starts_with(from))
      j = to + s.substr(from.size());
  } else if (j.is_structured()) {
    for (auto& v : j)
      rebase(v, from, to);
  }
}

} // namespace

std::string scenarios_fingerprint(const std::vector<Scenario>& scenarios) {
  std::vector<const Scenario*> sorted;
  for (const auto& s : scenarios)
    sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::string data;
  for (const auto* s : sorted) {
    data += s->id + '\0';
    std::error_code ec;
    if (!s->file.empty() && fs::is_regular_file(s->file, ec))
      data += common::read_file(s->file);
    data += '\0';
  }
  return fnv1a(data);
}

std::string pki_fingerprint(const fs::path& pki_dir) {
  const pki::Manifest m = pki::read_manifest(pki_dir);
  json essence = json::object();
  essence["server_name"] = m.server_name;
  const auto text = [](const std::optional<std::string>& s) {
    return s ? json(*s) : json(nullptr);
  };
  for (const auto& name : m.entity_order) {
    const pki::ManifestEntity& e = m.entities.at(name);
    json x;
    x["profile"] = e.profile;
    x["issuer"] = text(e.issuer);
    x["chain"] = e.chain;
    if (e.trusted)
      x["trusted"] = *e.trusted;
    x["subject"] = e.subject;
    x["san"] = e.san;
    x["defects"] = e.defects;
    x["key"] = e.key_type;
    if (const auto& v = e.expected_verification) {
      x["expected_result"] = v->result;
      x["expected_reason"] = text(v->reason);
      x["expected_openssl_error_name"] = v->openssl_error_name;
    }
    essence[name] = x;
  }
  return fnv1a(essence.dump());
}

json merge_results(const std::vector<SavedRun>& runs, const MergeOptions& options) {
  if (runs.empty())
    throw Error(Errc::invalid_input, "merge: no runs given");
  const auto origin = [](const SavedRun& r) { return r.file.string(); };
  const SavedRun& first = runs.front();
  for (const auto& r : runs) {
    for (const char* p : {"/fingerprints/scenarios", "/fingerprints/pki"})
      if (text_at(r.results, p).empty())
        throw Error(
            Errc::invalid_input,
            origin(r) + ": " + p +
                " is missing (written by a tlsmatrix without merge support, or not by `run`)");
    for (const char* p : {"/fingerprints/scenarios", "/fingerprints/pki"})
      if (text_at(r.results, p) != text_at(first.results, p))
        throw Error(Errc::invalid_input,
                    "merge: " + origin(r) + " and " + origin(first) + " ran different " +
                        (std::string(p).ends_with("pki") ? "PKIs" : "scenario sets") + " (" + p +
                        ": " + text_at(r.results, p) + " vs " + text_at(first.results, p) + ")");
    if (r.results.value("repeat", 1) != first.results.value("repeat", 1))
      throw Error(Errc::invalid_input,
                  "merge: " + origin(r) + " and " + origin(first) + " differ in /repeat");
  }

  // Shards: all of one N, each K once, and (unless allowed) every K present.
  std::map<unsigned, std::string> shard_of;
  unsigned count = 0;
  unsigned first_planned = 0;
  for (const auto& r : runs) {
    if (!r.results.contains("shard")) {
      if (count)
        throw Error(Errc::invalid_input, "merge: " + origin(r) + " is not a shard, but others are");
      continue;
    }
    const auto& s = r.results["shard"];
    const unsigned n = s.value("count", 0u), k = s.value("index", 0u);
    if (count && n != count)
      throw Error(Errc::invalid_input, "merge: " + origin(r) + " is shard " + std::to_string(k) +
                                           "/" + std::to_string(n) + ", others are of " +
                                           std::to_string(count));
    if (!count && r.file != first.file && !first.results.contains("shard"))
      throw Error(Errc::invalid_input,
                  "merge: " + origin(first) + " is not a shard, but " + origin(r) + " is");
    count = n;
    // Shards of one plan were planned from the same case list (same --peers, --tls, --filter, …).
    const auto planned = s.value("planned", 0u);
    if (!first_planned)
      first_planned = planned;
    if (planned != first_planned)
      throw Error(Errc::invalid_input, "merge: " + origin(r) + " is a shard of " +
                                           std::to_string(planned) + " planned cases, others of " +
                                           std::to_string(first_planned) +
                                           " (different --peers, --tls, --filter or --cross?)");
    if (auto [it, fresh] = shard_of.emplace(k, origin(r)); !fresh)
      throw Error(Errc::invalid_input, "merge: shard " + std::to_string(k) + "/" +
                                           std::to_string(n) + " given twice: " + it->second +
                                           " and " + origin(r));
  }
  if (count && !options.allow_partial) {
    std::string missing;
    for (unsigned k = 1; k <= count; ++k)
      if (!shard_of.contains(k))
        missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
    if (!missing.empty())
      throw Error(Errc::invalid_input,
                  "merge: missing shard(s) " + missing + " (--partial merges anyway)");
  }

  // Cases: each id once.
  std::map<std::string, std::string> seen; // id -> origin
  std::vector<json> cases;
  std::string duplicates;
  int duplicate_count = 0;
  for (const auto& r : runs)
    for (const auto& c : r.results["cases"]) {
      const std::string id = c.value("id", "");
      if (auto [it, fresh] = seen.emplace(id, origin(r)); !fresh) {
        if (++duplicate_count <= 5)
          duplicates += "\n  " + id + " (in " + it->second + " and " + origin(r) + ")";
        continue;
      }
      cases.push_back(c);
    }
  if (duplicate_count)
    throw Error(Errc::invalid_input, "merge: " + std::to_string(duplicate_count) +
                                         " case id(s) in more than one run (overlapping shards?):" +
                                         duplicates + (duplicate_count > 5 ? "\n  …" : ""));
  std::stable_sort(cases.begin(), cases.end(), [](const json& a, const json& b) {
    return a.value("id", "") < b.value("id", "");
  });

  json out = first.results;
  out.erase("shard");
  out["run_id"] = "merged-" + new_run_id();
  json from = json::array();
  bool interrupted = false;
  std::string started = text_at(first.results, "/started"),
              finished = text_at(first.results, "/finished");
  json peers = json::object();
  json sanity = {{"enabled", true}, {"peers", json::object()}};
  for (const auto& r : runs) {
    json f = {{"file", origin(r)}, {"run_id", r.results.value("run_id", "")}};
    if (r.results.contains("shard"))
      f["shard"] = r.results["shard"];
    // Shards that each issued the same spec used different key bytes: each says which it used.
    const std::string content = text_at(r.results, "/fingerprints/pki_content");
    if (!content.empty())
      f["pki_content"] = content;
    if (content != text_at(first.results, "/fingerprints/pki_content") &&
        out.contains("fingerprints"))
      out["fingerprints"].erase("pki_content");
    from.push_back(f);
    interrupted = interrupted || r.results.value("interrupted", false);
    started = std::min(started, text_at(r.results, "/started"));
    finished = std::max(finished, text_at(r.results, "/finished"));
    const json their_peers = r.results.value("peers", json::object());
    for (const auto& [name, p] : their_peers.items())
      if (!peers.contains(name))
        peers[name] = p;
    const json s = r.results.value("sanity", json{{"enabled", false}});
    if (!s.value("enabled", false))
      sanity["enabled"] = false;
    const json checks = s.value("peers", json::object());
    for (const auto& [name, roles] : checks.items())
      for (const auto& [role, check] : roles.items())
        if (!sanity["peers"].contains(name) || !sanity["peers"][name].contains(role))
          sanity["peers"][name][role] = check;
  }
  out["started"] = started;
  out["finished"] = finished;
  out["interrupted"] = interrupted;
  out["peers"] = peers;
  if (out.contains("sanity"))
    out["sanity"] = sanity;
  out["merged_from"] = from;
  json totals = json::object();
  for (const char* g :
       {"fail", "harness_error", "not_applicable", "pass", "refused", "timeout", "wrong_reason"})
    totals[g] = 0;
  for (const auto& c : cases) {
    const std::string g = text_at(c, "/verdict/grade");
    totals[g] = totals.value(g, 0) + 1;
  }
  out["totals"] = totals;
  out["conflicts"] = conflicts_json(json(cases));
  out["unmapped"] = unmapped_json(json(cases));
  out["cases"] = cases;
  return out;
}

void write_merged(const fs::path& dir, json merged, const std::vector<SavedRun>& runs) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw Error(Errc::io, "cannot create " + dir.string() + ": " + ec.message());
  const fs::path out = fs::absolute(dir).lexically_normal();
  // Each shard's logs: its run folder (where its results.json is) holds cases/ and repeat-*/.
  // Case ids are disjoint, so the folders do not collide; the recorded run_dir is rebased.
  for (const auto& r : runs) {
    const std::string recorded = r.results.value("run_dir", "");
    const fs::path src = fs::absolute(r.file).parent_path();
    if (recorded.empty() || fs::equivalent(src, out, ec))
      continue;
    for (const auto& entry : fs::directory_iterator(src, ec)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_directory() || !(name == "cases" || name.starts_with("repeat-")))
        continue;
      fs::copy(entry.path(), out / name,
               fs::copy_options::recursive | fs::copy_options::skip_existing, ec);
      if (ec)
        throw Error(Errc::io, "cannot copy " + entry.path().string() + " to " + out.string() +
                                  ": " + ec.message());
    }
    std::set<std::string> theirs;
    for (const auto& t : r.results.value("cases", json::array()))
      theirs.insert(t.value("id", ""));
    for (auto& c : merged["cases"]) {
      if (!theirs.contains(c.value("id", "")))
        continue;
      for (const char* k : {"logs", "runs"})
        if (c.contains(k))
          rebase(c[k], recorded + "/", out.string() + "/");
    }
  }
  merged["run_dir"] = out.string();
  common::write_file_atomic(out / "results.json", merged.dump(2) + "\n");
  write_reports(merged, out);
}

} // namespace harness
