// `tlsmatrix run`, `tlsmatrix scenarios check`, `tlsmatrix peers`: thin wrappers over the harness.
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "commands.hpp"
#include "common/dir_lock.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "common/glob.hpp"
#include "harness/model/scenario.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "harness/process/child_groups.hpp"
#include "harness/process/process.hpp"
#include "harness/report/divergence.hpp"
#include "harness/report/report.hpp"
#include "harness/results/merge.hpp"
#include "harness/results/results.hpp"
#include "harness/run/matrix_run.hpp"
#include "harness/run/planner.hpp"
#include "harness/run/progress.hpp"
#include "harness/run/runner.hpp"
#include "harness/run/shard.hpp"
#include "pki/issuer.hpp"
#include "pki/manifest.hpp"
#include "pki/snapshot.hpp"
#include "pki/spec.hpp"
#include "pki/writer.hpp"
#include "run_gates.hpp"

namespace cli {
namespace {

namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

std::atomic<bool> stop_requested{false};
int signal_pipe[2] = {-1, -1};

extern "C" void on_signal(int) {
  stop_requested = true;
  harness::kill_all_children(); // async-signal-safe
  const char byte = 1;
  [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1);
}

// Ctrl-C: the handler kills every registered child at once; this watcher keeps doing so until the
// run ends, for children whose registration was under way at the moment of the signal (between
// their exec and the supervisor recording them). Without it such a child lives to its case's
// timeout.
class InterruptWatcher {
public:
  InterruptWatcher() {
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0)
      throw Error(Errc::internal, "cannot create the signal pipe");
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    thread_ = std::jthread([this] {
      char byte = 0;
      while (::read(signal_pipe[0], &byte, 1) < 0 && errno == EINTR) {
      }
      std::unique_lock lock(mutex_);
      while (!finished_) {
        harness::kill_all_children();
        done_.wait_for(lock, std::chrono::milliseconds(50));
      }
    });
  }
  ~InterruptWatcher() {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
    }
    done_.notify_all();
    const char byte = 0;
    [[maybe_unused]] auto n = ::write(signal_pipe[1], &byte, 1); // wake it if no signal came
    thread_.join();
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    ::close(signal_pipe[0]);
    ::close(signal_pipe[1]);
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

private:
  std::mutex mutex_;
  std::condition_variable done_;
  bool finished_ = false;
  std::jthread thread_;
};

struct RunArgs {
  std::string scenarios = TLSMATRIX_SCENARIOS_DIR;
  std::string pki;
  std::string pki_spec;
  std::string out = "results";
  std::string peers;
  std::vector<std::string> peer_defs;
  std::string filter;
  std::string tls;
  unsigned jobs = 0;
  double timeout = 10;
  bool cross = false;
  bool quiet = false;
  bool pcap = false;
  std::string shard; // "K/N"
  unsigned repeat = 1;
  bool no_sanity = false;
  bool no_reuse = false;
  GateArgs gates;
};

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty())
      out.push_back(item);
  return out;
}

std::vector<harness::TlsVersion> parse_versions(const std::string& list) {
  std::vector<harness::TlsVersion> out;
  for (const auto& v : split(list)) {
    if (v == "1.2")
      out.push_back(harness::TlsVersion::tls12);
    else if (v == "1.3")
      out.push_back(harness::TlsVersion::tls13);
    else
      throw Error(Errc::invalid_input, "--tls: expected 1.2 and/or 1.3, got \"" + v + "\"");
  }
  return out;
}

// How long a run waits for another to finish issuing the default PKI it shares (key generation:
// seconds for the built-in spec; a minute on a loaded machine).
constexpr std::chrono::minutes default_pki_wait{5};

// Whether DIR holds the default PKI, fresh enough to reuse: generated from the built-in spec within
// the last day.
bool fresh_default_pki(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "manifest.json", ec))
    return false;
  try {
    const pki::Manifest m = pki::read_manifest(dir);
    const auto made = pki::parse_time(m.now, pki::current_time());
    return m.spec == "<built-in default spec>" && made &&
           pki::current_time() - *made < std::chrono::hours(24);
  } catch (const std::exception&) {
    return false; // unreadable or foreign: regenerate
  }
}

// The PKI the run takes its copy from: --pki DIR as given; a --pki-spec issued straight into the
// run folder (the run's own already); else the default PKI in OUT/pki, reused while fresh, so
// repeated runs do not pay for key generation. Checking and issuing it happen under OUT's
// exclusive lock (OUT itself is never replaced): runs sharing OUT wait for the first to issue it,
// then find it fresh and reuse it.
fs::path ensure_pki(const RunArgs& a, const fs::path& run_dir) {
  if (!a.pki.empty())
    return fs::absolute(a.pki);
  pki::IssueOptions options;
  if (!a.pki_spec.empty()) {
    const fs::path dir = run_dir / "pki";
    pki::write_pki(pki::issue_pki(pki::load_spec(a.pki_spec, pki::current_time()), options), dir,
                   pki::Formats{});
    return dir;
  }
  const fs::path out = fs::absolute(a.out);
  const fs::path dir = out / "pki";
  const auto issuing = common::DirLock::lock(out, common::LockMode::exclusive, default_pki_wait,
                                             [] { return stop_requested.load(); });
  if (fresh_default_pki(dir))
    return dir;
  if (!a.quiet)
    std::cerr << "tlsmatrix: issuing the default PKI into " << dir.string() << "\n";
  pki::write_pki(pki::issue_pki(pki::default_spec(pki::current_time()), options), dir,
                 pki::Formats{});
  return dir;
}

// The run's folder OUT/<run-id>, made by this run alone (a run id two runs drew in the same second
// is drawn again), and removed again — with OUT, when this run made it and it is empty — unless
// keep() is called: a run that fails before its first case leaves nothing behind.
class RunFolder {
public:
  explicit RunFolder(const fs::path& out) : out_(fs::absolute(out)) {
    std::error_code ec;
    made_out_ = !fs::exists(out_, ec);
    for (int attempt = 0; attempt < 100; ++attempt) {
      fs::create_directories(out_, ec);
      id_ = harness::new_run_id();
      if (fs::create_directory(out_ / id_, ec))
        return;
      if (ec && ec != std::errc::file_exists)
        throw Error(Errc::io, "cannot create " + (out_ / id_).string() + ": " + ec.message());
    }
    throw Error(Errc::io, "cannot create a new run folder in " + out_.string());
  }
  ~RunFolder() {
    if (kept_)
      return;
    std::error_code ec;
    fs::remove_all(dir(), ec);
    if (made_out_)
      fs::remove(out_, ec); // only when empty: another run may have started in it meanwhile
  }
  RunFolder(const RunFolder&) = delete;
  RunFolder& operator=(const RunFolder&) = delete;
  [[nodiscard]] fs::path dir() const { return out_ / id_; }
  [[nodiscard]] const std::string& id() const { return id_; }
  void keep() { kept_ = true; }

private:
  fs::path out_;
  std::string id_;
  bool made_out_ = false;
  bool kept_ = false;
};

int run(const RunArgs& a) {
  InterruptWatcher interrupts;
  const auto started_wall = pki::current_time();
  const auto started = std::chrono::steady_clock::now();

  harness::PlanOptions plan;
  plan.peers = split(a.peers);
  plan.versions = parse_versions(a.tls);
  plan.filter = a.filter;
  plan.cross = a.cross;
  if (a.timeout <= 0 || a.timeout > 3600)
    throw Error(Errc::invalid_input, "--timeout: expected 0 < seconds <= 3600");
  if (a.repeat < 1 || a.repeat > 100)
    throw Error(Errc::invalid_input, "--repeat: expected 1 <= N <= 100");
  const std::optional<harness::Shard> shard =
      a.shard.empty() ? std::nullopt : std::optional(harness::parse_shard(a.shard));
  const Gates gates = load_gates(a.gates);

  // Everything a case reads lives in the run's folder from here on (absolute, so the commands in
  // results.json that reproduce a case work from any directory): the compiled peer programs,
  // pinned before the peers are loaded, and the PKI, copied below.
  RunFolder folder(a.out);
  const std::string run_id = folder.id();
  const fs::path run_dir = folder.dir();
  const auto peers =
      harness::load_peers({a.peer_defs.begin(), a.peer_defs.end()},
                          harness::pin_peer_programs(run_dir / "inputs" / "peer-programs"));
  if (harness::plan_cases(harness::load_scenarios(a.scenarios, nullptr), peers, plan).empty())
    throw Error(Errc::invalid_input,
                "no case matches the given scenarios, peers, --tls and --filter");

  // The run's snapshot of its PKI: one issued PKI, checked against its manifest, whatever happens
  // to the directory it came from. Its lock is held to the end, so `pki generate` cannot replace
  // it under the run either; at the end it is checked again (a program that takes no lock).
  const fs::path pki_source = ensure_pki(a, run_dir);
  const fs::path pki_dir = run_dir / "pki";
  const pki::PkiSnapshot snapshot =
      pki_source == pki_dir ? pki::verify_pki(pki_dir) : pki::snapshot_pki(pki_source, pki_dir);
  const auto snapshot_lock = common::DirLock::lock_current(pki_dir, common::LockMode::shared);
  const harness::PkiDir pki(pki_dir);
  const auto scenarios = harness::load_scenarios(a.scenarios, &pki);
  // Fingerprinted now, from the files as the run read them (merge compares it).
  const std::string scenarios_fingerprint = harness::scenarios_fingerprint(scenarios);
  const auto planned = harness::plan_cases(scenarios, peers, plan);
  const auto cases = shard ? harness::select_shard(planned, *shard) : planned;
  // The gate's scenarios come from the run's set, else from the default suite.
  std::vector<harness::Scenario> default_scenarios;
  const std::vector<harness::Scenario>* gate_scenarios = &scenarios;
  const auto has = [&](const std::string& id) {
    return std::any_of(scenarios.begin(), scenarios.end(),
                       [&](const auto& s) { return s.id == id; });
  };
  if (!a.no_sanity &&
      !std::all_of(harness::gate_scenario_ids().begin(), harness::gate_scenario_ids().end(), has)) {
    try {
      default_scenarios = harness::load_scenarios(TLSMATRIX_SCENARIOS_DIR, &pki);
    } catch (const Error& e) {
      throw Error(
          e.code(),
          std::string(
              "sanity gate: the default scenarios do not fit this PKI (or pass --no-sanity): ") +
              e.what());
    }
    gate_scenarios = &default_scenarios;
  }
  // The positive controls join the gate when they fit this PKI (a PKI of the user's own may lack
  // their entities: the gate then runs without them, and says so).
  std::vector<harness::Scenario> controls;
  if (const fs::path dir = fs::path(TLSMATRIX_SCENARIOS_DIR) / "controls";
      !a.no_sanity && fs::is_directory(dir)) {
    try {
      controls = harness::load_scenarios(dir.string(), &pki);
    } catch (const Error& e) {
      if (!a.quiet)
        std::cerr << "tlsmatrix: sanity gate: without the positive controls, which do not fit "
                     "this PKI: "
                  << e.what() << "\n";
    }
  }
  folder.keep();

  const bool tty = ::isatty(STDERR_FILENO) != 0;
  const bool color = ::isatty(STDOUT_FILENO) != 0;
  if (!a.quiet) {
    std::cerr << "tlsmatrix: " << cases.size() << " cases (" << scenarios.size() << " scenarios"
              << (shard
                      ? ", shard " + a.shard + " of " + std::to_string(planned.size()) + " planned"
                      : "")
              << (a.repeat > 1 ? ", each " + std::to_string(a.repeat) + " times" : "") << "), "
              << (a.jobs ? a.jobs : std::max(1u, std::thread::hardware_concurrency()))
              << " jobs -> " << run_dir.string() << "\n";
    const auto chosen = split(a.peers);
    for (const auto& p : peers)
      if (p->info().unavailable && (chosen.empty() || std::find(chosen.begin(), chosen.end(),
                                                                p->info().name) != chosen.end()))
        std::cerr << "tlsmatrix: peer " << p->info().name
                  << " unavailable: " << *p->info().unavailable << "\n";
  }
  harness::RunOptions options;
  options.jobs = a.jobs;
  options.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  options.run_dir = run_dir;
  options.pcap = a.pcap;
  options.reuse_servers = !a.no_reuse;
  harness::MatrixOptions matrix;
  matrix.repeat = a.repeat;
  matrix.sanity = !a.no_sanity;
  matrix.gate_scenarios = gate_scenarios;
  matrix.gate_controls = &controls;
  for (const auto& p : peers)
    if (p->info().name == "local")
      matrix.local = p.get();
  // A terminal gets one live status line (failures printed above it); logs get a line per case.
  std::optional<harness::LiveProgress> live;
  if (tty && !a.quiet) {
    struct winsize ws {};
    const std::size_t width =
        ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 100;
    live.emplace(stderr, cases.size() * a.repeat, width);
    options.on_start = [&](const harness::CaseSpec& c) { live->started(c); };
  }
  const auto matrix_run = harness::run_matrix(
      cases, pki, options, matrix, stop_requested,
      [&](const harness::CaseResult& graded, std::size_t, std::size_t total) {
        harness::CaseResult r = graded; // as the expectations grade it, for the progress
        if (gates.expectations)
          harness::apply_expectations(*gates.expectations, r);
        if (a.quiet)
          return;
        if (live) {
          live->finished(r, total,
                         harness::fails_run(harness::to_string(r.verdict.grade), a.gates.strict));
        } else {
          std::cout << harness::case_line(r, false) << "\n" << std::flush;
        }
      });
  live.reset();
  auto results = matrix_run.aggregated.cases;
  if (gates.expectations)
    for (auto& r : results)
      harness::apply_expectations(*gates.expectations, r);

  // Verdicts over a PKI that changed under the run would be believable and wrong: none are written.
  if (const auto after = pki::verify_pki(pki_dir); after.sha256 != snapshot.sha256)
    throw Error(Errc::unstable_input, "the run's copy of its PKI, " + pki_dir.string() +
                                          ", changed during the run (SHA-256 " + snapshot.sha256 +
                                          " at the start, " + after.sha256 +
                                          " now): its verdicts are not written");

  harness::RunInfo info;
  info.run_id = run_id;
  info.started = pki::format_time(started_wall);
  info.finished = pki::format_time(pki::current_time());
  info.interrupted = stop_requested;
  info.pki_dir = pki_dir;
  info.scenarios = a.scenarios;
  for (const auto& p : peers)
    info.peers.push_back(&p->info());
  info.options = {{"jobs", a.jobs},     {"timeout_s", a.timeout}, {"peers", a.peers},
                  {"filter", a.filter}, {"tls", a.tls},           {"cross", a.cross},
                  {"pcap", a.pcap}};
  info.options["repeat"] = a.repeat;
  info.options["sanity"] = !a.no_sanity;
  auto results_doc = harness::results_json(info, results);
  harness::annotate_matrix(results_doc, matrix_run, a.repeat);
  results_doc["run_dir"] = run_dir.string();
  results_doc["pki"]["source"] = pki_source.string();
  results_doc["pki"]["verified_by"] = snapshot.verified_by;
  // pki: what decides verdicts (merge requires it equal); pki_content: the very files used.
  results_doc["fingerprints"] = {{"scenarios", scenarios_fingerprint},
                                 {"pki", harness::pki_fingerprint(pki_dir)},
                                 {"pki_content", snapshot.sha256}};
  if (shard)
    results_doc["shard"] = {{"index", shard->index},
                            {"count", shard->count},
                            {"planned", planned.size()},
                            {"split", "round-robin over sorted case ids"}};
  note_expectations(gates, a.gates, results_doc);
  // The reports first: `latest` moves (with results.json) only to a complete run.
  harness::write_reports(results_doc, run_dir); // report.html, junit.xml, summary.md
  harness::write_results(run_dir, results_doc);

  if (!a.quiet)
    std::cout << "\n" << harness::render_matrix(results, color);
  for (const auto& check : matrix_run.sanity.checks)
    if (!check.ok)
      std::cerr << "tlsmatrix: sanity gate: " << check.peer << " as "
                << harness::to_string(check.role)
                << " is broken, its cases are adapter_broken: " << check.why << "\n";
  if (!a.quiet)
    std::cout << harness::render_divergence(results_doc) << harness::render_conflicts(results_doc)
              << harness::render_unmapped(results_doc);
  // The baseline holds cells this run did not try (--scenarios, --filter, --peers, --tls): not
  // changes.
  const auto chosen_peers = split(a.peers);
  const auto chosen_tls = split(a.tls);
  const auto in_scope = [&](const std::string& id) {
    const auto parts = harness::parse_case_id(id);
    if (!parts)
      return true;
    auto among = [](const std::vector<std::string>& list, const std::string& x) {
      return list.empty() || std::find(list.begin(), list.end(), x) != list.end();
    };
    const bool known_scenario =
        std::any_of(scenarios.begin(), scenarios.end(),
                    [&](const auto& sc) { return sc.id == parts->scenario; });
    return known_scenario && (a.filter.empty() || common::glob_match(a.filter, id)) &&
           among(chosen_tls, parts->tls) && among(chosen_peers, parts->client) &&
           among(chosen_peers, parts->server);
  };
  const bool changed = finish_gates(gates, a.gates, results_doc,
                                    (run_dir / "results.json").string(), in_scope, a.quiet);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!a.quiet)
    std::cout << "results: " << (run_dir / "results.json").string()
              << ", report: " << (run_dir / "report.html").string() << " (" << std::fixed
              << std::setprecision(1) << seconds << " s)\n";
  if (stop_requested) {
    std::cerr << "tlsmatrix: interrupted; " << results.size() << " of " << cases.size()
              << " cases saved\n";
    return tlsmatrix::exit_codes::interrupted;
  }
  if (changed)
    return tlsmatrix::exit_codes::changed;
  for (const auto& r : results)
    if (harness::fails_run(harness::to_string(r.verdict.grade), a.gates.strict))
      return tlsmatrix::exit_codes::cases_failed;
  return tlsmatrix::exit_codes::ok;
}

int check_scenarios(const std::string& path, const std::string& pki_dir) {
  std::optional<harness::PkiDir> pki;
  if (!pki_dir.empty())
    pki.emplace(pki_dir);
  const auto scenarios = harness::load_scenarios(path, pki ? &*pki : nullptr);
  for (const auto& s : scenarios)
    std::cout << s.file.filename().string() << ": " << s.id << " — " << s.title << "\n";
  std::cout << scenarios.size() << " scenarios OK"
            << (pki ? "" : " (entities not checked: pass --pki DIR)") << "\n";
  return 0;
}

int list_peers(bool as_json) {
  const auto peers = harness::load_peers();
  if (as_json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& p : peers) {
      const auto& i = p->info();
      out.push_back(
          {{"name", i.name},
           {"description", i.description},
           {"version", i.version},
           {"client", i.client},
           {"server", i.server},
           {"server_answers", i.server ? (i.echo_server ? "echo" : "resource") : ""},
           {"capabilities", std::vector<std::string>(i.capabilities.begin(), i.capabilities.end())},
           {"available", !i.unavailable},
           {"unavailable", i.unavailable.value_or("")}});
    }
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const auto& p : peers) {
    const auto& i = p->info();
    std::string roles = i.client && i.server ? "client+server" : i.client ? "client" : "server";
    if (i.echo_server)
      roles += ", server echoes";
    std::string caps;
    for (const auto& c : i.capabilities)
      caps += (caps.empty() ? "" : " ") + c;
    std::cout << i.name << "  [" << roles << "]  "
              << (i.unavailable ? "UNAVAILABLE: " + *i.unavailable : i.version) << "\n    "
              << i.description << "\n    capabilities: " << caps << "\n";
  }
  return 0;
}

} // namespace

void add_run_commands(CLI::App& app, std::function<int()>& run_fn) {
  auto a = std::make_shared<RunArgs>();
  auto* r = app.add_subcommand("run", "Run the scenario matrix and grade every case");
  r->add_option("--scenarios", a->scenarios, "Scenario file or directory")->capture_default_str();
  auto* pki_opt = r->add_option(
      "--pki", a->pki,
      "Take this PKI directory: the run copies it into its folder (RUN/pki) and uses only the "
      "copy (default: the default PKI in OUT/pki, issued when missing or older than a day)");
  r->add_option("--pki-spec", a->pki_spec, "Issue a PKI from this spec into the run's folder")
      ->excludes(pki_opt)
      ->check(CLI::ExistingFile);
  r->add_option("--out", a->out,
                "Results root: the run goes to OUT/<run-id>/, OUT/latest points at it")
      ->capture_default_str();
  r->add_option("--peers", a->peers, "Comma-separated peers (default: all; see `tlsmatrix peers`)");
  r->add_option("--peer-defs", a->peer_defs,
                "Extra directory of peer definitions (*.json), repeatable")
      ->check(CLI::ExistingDirectory);
  r->add_option("--filter", a->filter,
                "Only cases whose id matches this glob, e.g. '*expired*/1.3/*'");
  r->add_option("--tls", a->tls, "TLS versions: 1.2, 1.3 or 1.2,1.3 (default: each scenario's)");
  r->add_option("-j,--jobs", a->jobs, "Cases in parallel (0 = one per core)")
      ->capture_default_str();
  r->add_option("--timeout", a->timeout, "Seconds per case")->capture_default_str();
  r->add_flag("--cross", a->cross,
              "Every client against every server (default: each peer against ours, and openssl)");
  r->add_flag("--no-reuse", a->no_reuse,
              "One server process per case, even for peers that can serve many cases from one "
              "(slower; for debugging)");
  r->add_flag("--pcap", a->pcap,
              "Write cases/<…>/case.pcapng (with its key log) for every case (default: only for "
              "cases that did not pass)");
  r->add_option("--shard", a->shard,
                "Run only shard K of N (K/N): case ids sorted, dealt round-robin; `tlsmatrix "
                "merge` unites the shards");
  r->add_option("--repeat", a->repeat,
                "Run every case N times; runs that disagree make the cell flaky")
      ->capture_default_str();
  r->add_flag("--no-sanity", a->no_sanity,
              "Skip the sanity gate (a peer's column counts only after it passed the positive "
              "controls, accepted one-way and mutual and "
              "rejected an untrusted certificate against our endpoint)");
  r->add_flag("-q,--quiet", a->quiet, "No progress or matrix; exit code only");
  add_gate_options(*r, a->gates);
  r->footer(
      "Case ids: <scenario>/<tls>/<client>-><server>. Exit 0 when every case passed (or is not "
      "applicable, or an expected failure), 1 when some case did not (including flaky and "
      "adapter_broken cells; with --strict also an unexpected pass), 6 with --fail-on-change when "
      "a cell changed against the baseline, 2 for bad input, 7 when the PKI could not be taken "
      "whole (it does not match its manifest.json, or stayed locked by another tlsmatrix) or the "
      "run's copy changed during the run (no verdicts are written), 130 when interrupted (the "
      "finished cases are saved).");
  r->callback([a, &run_fn] { run_fn = [a] { return run(*a); }; });

  auto* s = app.add_subcommand("scenarios", "Work with scenario files");
  s->require_subcommand(1);
  auto path = std::make_shared<std::string>(TLSMATRIX_SCENARIOS_DIR);
  auto pki_dir = std::make_shared<std::string>();
  auto* c = s->add_subcommand("check", "Validate scenario files without running them");
  c->add_option("path", *path, "Scenario file or directory")->capture_default_str();
  c->add_option("--pki", *pki_dir, "Also check that every entity exists in this PKI directory");
  c->callback([path, pki_dir, &run_fn] {
    run_fn = [path, pki_dir] { return check_scenarios(*path, *pki_dir); };
  });

  auto as_json = std::make_shared<bool>(false);
  auto* p = app.add_subcommand("peers", "List the peers, their versions, roles and capabilities");
  p->add_flag("--json", *as_json, "Machine-readable output");
  p->callback([as_json, &run_fn] { run_fn = [as_json] { return list_peers(*as_json); }; });
}

} // namespace cli
