// `tlsmatrix pki …`: generate, check, defects, show.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "pki/defects.hpp"
#include "pki/issuer.hpp"
#include "pki/manifest.hpp"
#include "pki/show.hpp"
#include "pki/spec.hpp"
#include "pki/writer.hpp"

namespace cli {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

struct GenerateArgs {
  std::string spec;
  std::string out = "results/pki";
  std::string now;
  std::string seed;
  std::string key_cache;
  std::string formats = "all";
  unsigned jobs = 0;
  bool quiet = false;
};

pki::TimePoint resolve_now(const std::string& text) {
  if (text.empty())
    return pki::current_time();
  const auto t = pki::parse_time(text, pki::current_time());
  if (!t || text.front() == '+' || text.front() == '-' || text == "now")
    throw Error(Errc::invalid_input,
                "--now: expected an absolute UTC time such as 2026-01-31T12:00:00Z, got \"" + text +
                    "\"");
  return *t;
}

pki::Spec load(const std::string& spec, pki::TimePoint now) {
  return spec.empty() ? pki::default_spec(now) : pki::load_spec(spec, now);
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width)
    s += std::string(width - s.size(), ' ');
  return s;
}

int generate(const GenerateArgs& a) {
  const auto started = std::chrono::steady_clock::now();
  const auto formats = pki::parse_formats(a.formats);
  auto spec = load(a.spec, resolve_now(a.now));
  pki::IssueOptions options;
  if (!a.seed.empty())
    options.seed = a.seed;
  if (!a.key_cache.empty())
    options.key_cache = a.key_cache;
  options.jobs = a.jobs;
  const auto issued = pki::issue_pki(std::move(spec), options);
  pki::write_pki(issued, a.out, formats);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (a.quiet)
    return 0;

  int cas = 0, leaves = 0, broken = 0;
  std::cout << pad("ENTITY", 36) << pad("PROFILE", 14) << pad("KEY", 10) << "DEFECTS / EXPECTED\n";
  for (const auto& e : issued.entities) {
    const auto& p = *e.plan;
    (pki::is_ca(p.profile) ? cas : leaves)++;
    const auto expected = pki::expected_verification(issued.spec, p);
    std::string what;
    for (const auto& d : p.defects)
      what += (what.empty() ? "" : ",") + d;
    if (!expected.ok || !expected.reason.empty()) {
      ++broken;
      if (what.empty())
        what = "(via " + expected.caused_by_entity + ")";
      what += " -> " + (expected.reason.empty() ? std::string("ok") : expected.reason);
      if (expected.openssl_error != 0)
        what += " [openssl " + std::to_string(expected.openssl_error) + "]";
    }
    std::cout << pad(p.name, 36) << pad(std::string(pki::profile_name(p.profile)), 14)
              << pad(std::string(pki::key_type_name(e.key.type())), 10) << what << "\n";
  }
  char line[256];
  std::snprintf(line, sizeof line,
                "\n%zu certificates (%d CAs, %d leaves; %d broken), %zu CRLs in %.2f s "
                "(keys: %d generated, %d cached) -> %s\n",
                issued.entities.size(), cas, leaves, broken, issued.crls.size(), seconds,
                issued.stats.keys_generated, issued.stats.keys_from_cache, a.out.c_str());
  std::cout << line;
  return 0;
}

int list_defects(bool as_json) {
  if (as_json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& d : pki::defect_catalog()) {
      nlohmann::ordered_json j;
      j["name"] = d.name;
      j["summary"] = d.summary;
      std::vector<std::string> profiles;
      for (auto p : d.applies_to)
        profiles.emplace_back(pki::profile_name(p));
      j["applies_to"] = profiles;
      j["reason"] = d.reason;
      j["openssl_error"] = d.openssl_error;
      j["openssl_error_name"] = d.openssl_error_name;
      if (!d.note.empty())
        j["note"] = d.note;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const auto& d : pki::defect_catalog()) {
    std::string profiles;
    for (auto p : d.applies_to)
      profiles += (profiles.empty() ? "" : ",") + std::string(pki::profile_name(p));
    std::cout << pad(std::string(d.name) + " ", 30) << d.summary
              << "\n" // a space even after a long name
              << pad("", 30) << "on: " << profiles << "; reason: " << d.reason
              << "; openssl: " << d.openssl_error << " " << d.openssl_error_name << "\n";
    if (!d.note.empty())
      std::cout << pad("", 30) << "note: " << d.note << "\n";
  }
  return 0;
}

// Words that can only mean a file, so a missing one is reported as a missing file, not as an
// unknown entity (entity names have no '/' and these suffixes are not used for them).
bool looks_like_path(const std::string& what) {
  if (what.find('/') != std::string::npos)
    return true;
  for (const char* suffix : {".pem", ".crt", ".cer", ".der"})
    if (what.ends_with(suffix))
      return true;
  return false;
}

int show_entity(const std::string& what, const pki::Manifest& manifest, pki::TimePoint now);

int show(const std::string& what, const std::string& dir) {
  const auto now = pki::current_time();
  std::error_code ec;
  if (fs::is_directory(what, ec))
    throw Error(Errc::invalid_input, "\"" + what +
                                         "\" is a directory: expected an entity name (with "
                                         "--pki " +
                                         what + ") or a certificate file");
  if (!fs::exists(what, ec) && looks_like_path(what))
    throw Error(Errc::invalid_input, what +
                                         ": no such file (expected a certificate file, PEM or DER, "
                                         "or the name of an entity in --pki DIR)");
  if (fs::is_regular_file(what, ec)) {
    const std::string data = common::read_file(what);
    std::vector<pki::Certificate> certs;
    if (data.find("-----BEGIN") != std::string::npos) {
      if (data.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
        const auto begin = data.find("-----BEGIN");
        const auto label = data.substr(begin, data.find('\n', begin) - begin);
        throw Error(Errc::invalid_input, what + ": no certificate in this PEM file (it holds \"" +
                                             label + "\"); `pki show` reads certificates");
      }
      certs = pki::Certificate::all_from_pem(data, what);
    } else {
      certs.push_back(pki::Certificate::from_der(pki::Bytes(data.begin(), data.end()), what));
    }
    for (std::size_t i = 0; i < certs.size(); ++i) {
      std::cout << what << (certs.size() > 1 ? " [" + std::to_string(i) + "]" : "") << ":\n"
                << pki::format_summary(pki::summarize(certs[i], now));
    }
    return 0;
  }
  const fs::path manifest_path = fs::path(dir) / "manifest.json";
  if (!fs::exists(manifest_path, ec))
    throw Error(Errc::invalid_input,
                "\"" + what + "\" is neither a file nor an entity: " + manifest_path.string() +
                    " does not exist (run `tlsmatrix pki generate` or pass --pki DIR)");
  return show_entity(what, pki::read_manifest(dir), now);
}

int show_entity(const std::string& what, const pki::Manifest& manifest, pki::TimePoint now) {
  const auto& entities = manifest.entities;
  if (!entities.contains(what)) {
    // All names of a small PKI; of a large one those that contain the word asked for, are
    // contained in it, or share most of its beginning (a typo near the end).
    auto similar = [&](const std::string& name) {
      const auto mismatch = std::mismatch(what.begin(), what.end(), name.begin(), name.end());
      const auto common = static_cast<std::size_t>(mismatch.first - what.begin());
      return name.find(what) != std::string::npos || what.find(name) != std::string::npos ||
             (common >= 4 && common + 3 >= what.size());
    };
    std::string names;
    for (const auto& [name, _] : entities)
      if (entities.size() <= 12 || similar(name))
        names += (names.empty() ? "" : ", ") + name;
    throw Error(Errc::invalid_input, "no entity named \"" + what + "\" in " +
                                         manifest.file.string() +
                                         (names.empty()           ? ""
                                          : entities.size() <= 12 ? " (entities: " + names + ")"
                                                                  : " (similar: " + names + ")"));
  }
  const auto& entry = entities.at(what);
  if (!entry.expected_verification)
    throw Error(Errc::invalid_input,
                manifest.file.string() + ": not a tlsmatrix manifest: /entities/" + what +
                    "/expected_verification: missing; regenerate it with `tlsmatrix pki generate`");
  const auto cert_path = manifest.file.parent_path() / entry.file("cert");
  const auto cert = pki::Certificate::from_pem(common::read_file(cert_path), cert_path.string());
  std::cout << what;
  if (!entry.description.empty())
    std::cout << " — " << entry.description;
  std::cout << "\n  file" << std::string(16, ' ') << cert_path.string() << "\n"
            << pki::format_summary(pki::summarize(cert, now));
  if (!entry.defects.empty()) {
    std::cout << "  defects:\n";
    for (const auto& d : entry.defects) {
      const auto* info = pki::find_defect(d);
      std::cout << "    - " << d << (info ? ": " + std::string(info->summary) : "") << "\n";
    }
  }
  const auto& v = *entry.expected_verification;
  std::cout << "  expected verification: " << v.result;
  if (v.reason)
    std::cout << " (" << *v.reason << ")";
  std::cout << ", openssl " << v.openssl_error << " " << v.openssl_error_name << " at depth "
            << v.openssl_error_depth << "\n";
  if (v.caused_by_entity && *v.caused_by_entity != what) {
    // A good certificate broken by its chain: say where the defect is.
    std::cout << "  caused by: " << *v.caused_by_entity;
    if (v.caused_by_defect)
      std::cout << " (" << *v.caused_by_defect << ")";
    std::cout << "\n";
  }
  if (!v.note.empty())
    std::cout << "  note: " << v.note << "\n";
  return 0;
}

} // namespace

void add_pki_commands(CLI::App& app, std::function<int()>& run) {
  auto* pki_cmd = app.add_subcommand("pki", "Generate and inspect test PKIs (the mini-CA)");
  pki_cmd->require_subcommand(1);

  auto gen = std::make_shared<GenerateArgs>();
  auto* g =
      pki_cmd->add_subcommand("generate", "Issue a whole PKI from a JSON spec into a directory");
  g->add_option("--spec", gen->spec, "PKI spec (JSON); default: the built-in default spec")
      ->check(CLI::ExistingFile);
  g->add_option("--out", gen->out,
                "Output directory (a relative path is relative to the current directory), replaced "
                "atomically: a failed run leaves the previous one intact, and the swap waits for "
                "runs that are copying it")
      ->capture_default_str();
  g->add_option("--now", gen->now,
                "Pin \"now\" (UTC, e.g. 2026-01-31T12:00:00Z) for reproducible validity");
  g->add_option("--seed", gen->seed,
                "Deterministic keys, serials and signatures (with --now: byte-identical output)");
  g->add_option("--key-cache", gen->key_cache,
                "Directory that keeps keys between runs (makes RSA fast)");
  g->add_option("--formats", gen->formats,
                "Extra outputs besides PEM: der, p12, chains, all, or pem alone")
      ->capture_default_str();
  g->add_option("--jobs", gen->jobs, "Threads for keys, certificates and CRLs (0 = one per core)")
      ->capture_default_str();
  g->add_flag("-q,--quiet", gen->quiet, "Print nothing on success");
  g->footer(
      "With no options, issues the built-in default PKI (scenarios/pki/default.json) into "
      "results/pki under the current directory.\n"
      "Files per entity: NAME.crt.pem, NAME.key.pem (PKCS#8, mode 0600), NAME.chain.pem "
      "(leaf + intermediates), NAME.fullchain.pem (+ root), NAME.der, NAME.p12 (password from the "
      "spec, default \"tlsmatrix\"); per CA NAME.crl.pem; trust-anchors.pem, crls.pem, "
      "manifest.json (with every file's SHA-256, /file_sha256).\n"
      "Exit 7 when the directory stayed locked for a minute (a run copying it, or another "
      "`pki generate` replacing it).\n");
  g->callback([gen, &run] { run = [gen] { return generate(*gen); }; });

  auto check_spec = std::make_shared<std::string>();
  auto* c = pki_cmd->add_subcommand("check", "Validate a PKI spec without issuing anything");
  c->add_option("spec", *check_spec, "PKI spec (JSON) to validate")
      ->required()
      ->check(CLI::ExistingFile);
  c->footer("Errors name the file, the JSON pointer of the offending value and what was expected, "
            "e.g. my.json: /entities/server/key: expected one of … (exit code 2).\n");
  c->callback([check_spec, &run] {
    run = [check_spec] {
      const auto spec = pki::load_spec(*check_spec, pki::current_time());
      std::cout << *check_spec << ": OK, " << spec.entities.size() << " entities\n";
      return 0;
    };
  });

  auto as_json = std::make_shared<bool>(false);
  auto* d = pki_cmd->add_subcommand("defects", "List the defect catalog, one line each");
  d->add_flag("--json", *as_json, "Machine-readable output");
  d->callback([as_json, &run] { run = [as_json] { return list_defects(*as_json); }; });

  auto show_what = std::make_shared<std::string>();
  auto show_dir = std::make_shared<std::string>("results/pki");
  auto* s = pki_cmd->add_subcommand("show", "Summarise a certificate: what is special about it");
  s->add_option(
       "certificate", *show_what,
       "Entity name (looked up in --pki DIR's manifest.json) or a certificate file (PEM or DER)")
      ->required();
  s->add_option("--pki", *show_dir, "PKI directory written by `pki generate`, with manifest.json")
      ->capture_default_str();
  s->callback([show_what, show_dir, &run] {
    run = [show_what, show_dir] { return show(*show_what, *show_dir); };
  });
}

} // namespace cli
