// Case planning, per-case input materialisation, and the parallel run with per-case deadlines.
#include "harness/run/runner.hpp"

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.hpp"
#include "common/files.hpp"
#include "common/glob.hpp"
#include "harness/grading/grade.hpp"
#include "harness/grading/reconcile.hpp"
#include "harness/peers/server_pool.hpp"
#include "harness/wire/key_log.hpp"
#include "harness/wire/pcapng.hpp"
#include "harness/wire/record_decoder.hpp"
#include "harness/wire/relay.hpp"
#include "pki/certificate.hpp"

namespace harness {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using tlsmatrix::Errc;
using tlsmatrix::Error;

// The side a capability concerns, when only one does: what the client does with the server's name
// and whether it verifies at all; the order the server sends its chain in. The others (a TLS
// version, client certificates, CRLs, …) are asked of both.
std::optional<Side> asked_of(const std::string& capability) {
  if (capability == "no_verify" || capability == "hostname_check" || capability == "sni" ||
      capability == "ipv6_name" || capability == "no_server_name")
    return Side::client;
  if (capability == "chain_order")
    return Side::server;
  return std::nullopt;
}

bool has_caps(const Peer& p, Side side, const Scenario& s, TlsVersion v, std::string* missing) {
  const auto& caps = p.info().capabilities;
  const std::string version_cap = v == TlsVersion::tls12 ? "tls1.2" : "tls1.3";
  if (!caps.contains(version_cap)) {
    *missing = p.info().name + " cannot do TLS " + std::string(to_string(v));
    return false;
  }
  for (const auto& r : s.requires_) {
    if (const auto only = asked_of(r); only && *only != side)
      continue;
    if (!caps.contains(r)) {
      *missing = p.info().name + " lacks " + r;
      return false;
    }
  }
  return true;
}

// Files a case's endpoints are given, built once per run and shared by the cases that need them.
class Inputs {
public:
  Inputs(const PkiDir& pki, fs::path dir) : pki_(pki), dir_(std::move(dir)) {
    fs::create_directories(dir_);
  }

  // Trust anchors, plus every CRL of the PKI when the endpoint checks revocation: a PEM CA file
  // may carry CRLs, and that is the one way every OpenSSL-based peer takes several of them.
  fs::path trust(const std::vector<std::string>& anchors, bool with_crls = false) {
    std::string name = "trust";
    for (const auto& a : anchors)
      name += "-" + a;
    if (with_crls)
      name += "+crls";
    return file(name + ".pem", [&] {
      std::string pem;
      for (const auto& a : anchors)
        pem += common::read_file(pki_.cert(a));
      if (with_crls)
        pem += common::read_file(pki_.crls());
      return pem;
    });
  }

  // The intermediates an endpoint sends after its leaf, in the given shape, then the unrelated
  // `extras` (PKI entities) it appends ("" = nothing follows the leaf).
  // Worked out once per entity and shape: parsing the chain for every case cost more than the
  // rest of a case's setup together.
  fs::path intermediates(const std::string& entity, ChainShape shape,
                         const std::vector<std::string>& extras = {}) {
    if (shape == ChainShape::leaf_only && extras.empty())
      return {};
    std::string id = entity + "\n" + std::string(to_string(shape));
    for (const auto& e : extras)
      id += "\n" + e;
    {
      std::lock_guard lock(mutex_);
      if (auto it = intermediates_.find(id); it != intermediates_.end())
        return it->second;
    }
    fs::path made = make_intermediates(entity, shape, extras);
    std::lock_guard lock(mutex_);
    intermediates_.emplace(id, made);
    return made;
  }

private:
  fs::path make_intermediates(const std::string& entity, ChainShape shape,
                              const std::vector<std::string>& extras) {
    std::vector<pki::Certificate> certs;
    if (shape != ChainShape::leaf_only) {
      const std::string text = common::read_file(pki_.chain(entity));
      certs = pki::Certificate::all_from_pem(text, pki_.chain(entity).string());
      if (!certs.empty())
        certs.erase(certs.begin());
      if (shape == ChainShape::reversed)
        std::reverse(certs.begin(), certs.end());
    }
    std::string name = entity + "." + std::string(to_string(shape));
    for (const auto& e : extras) {
      auto extra =
          pki::Certificate::all_from_pem(common::read_file(pki_.cert(e)), pki_.cert(e).string());
      certs.insert(certs.end(), std::make_move_iterator(extra.begin()),
                   std::make_move_iterator(extra.end()));
      name += "+" + e;
    }
    if (certs.empty())
      return {};
    return file(name + ".pem", [&] {
      std::string pem;
      for (const auto& c : certs)
        pem += c.pem();
      return pem;
    });
  }

  template <class F> fs::path file(const std::string& name, F make) {
    std::lock_guard lock(mutex_);
    const fs::path path = dir_ / name;
    if (made_.insert(name).second)
      common::write_file_atomic(path, make());
    return path;
  }
  const PkiDir& pki_;
  fs::path dir_;
  std::mutex mutex_;
  std::set<std::string> made_;
  std::map<std::string, fs::path> intermediates_; // entity + shape -> file ("" = none)
};

std::string slug(std::string s) {
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      c = '_';
  return s;
}

// The side of a case whose peer refused its configuration before they could meet.
SideObservation not_exercised(const std::string& peer, const std::string& text) {
  SideObservation o;
  o.peer = peer;
  o.error_text = text;
  return o;
}

SideObservation harness_side(const std::string& peer, const std::string& text) {
  SideObservation o;
  o.peer = peer;
  o.outcome = Outcome::error;
  o.phase = Phase::tcp;
  o.error_text = text;
  return o;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Both sides' key logs (whichever exist), concatenated: each holds the secrets its side knows. A
// pooled server's key log (`shared`) holds every connection's; the decoder picks by client random.
std::string case_keylog(const fs::path& dir, const fs::path& shared = {}) {
  std::string text;
  for (const fs::path& f : {dir / "client.keylog", dir / "server.keylog", shared}) {
    std::error_code ec;
    if (f.empty() || !fs::exists(f, ec))
      continue;
    std::string part = read_text(f);
    if (!part.empty() && part.back() != '\n')
      part += '\n';
    text += part;
  }
  return text;
}

// Waits for the relay's recording, but no longer than `bound`: both peers have finished, so the
// connection is closed or about to be; a relay still waiting after that is stopped.
const Recording& finish_relay(Relay& relay, std::chrono::milliseconds bound) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(m);
    if (!cv.wait_for(lock, bound, [&] { return done; }))
      relay.stop();
  });
  const Recording& rec = relay.wait();
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_one();
  watchdog.join();
  return rec;
}

// Decodes the recording into the case's trace; false when it could not be. Never throws: a
// problem here is a note, not a verdict.
bool decode_case_trace(CaseResult& r, const Recording& rec, const std::string& keylog) {
  try {
    std::vector<wire::Chunk> chunks;
    chunks.reserve(rec.chunks.size());
    for (const auto& c : rec.chunks)
      chunks.push_back({c.client_to_server ? wire::Direction::client_to_server
                                           : wire::Direction::server_to_client,
                        c.since_start, c.bytes});
    wire::Trace t = wire::decode_trace(chunks, wire::parse_key_log(keylog));
    r.trace = std::move(t.events);
    r.trace_summary = std::move(t.summary);
    if (rec.end != RelayEnd::closed && rec.end != RelayEnd::reset)
      r.trace_note = "relay: " + std::string(to_string(rec.end)) +
                     (rec.error_text.empty() ? "" : ": " + rec.error_text);
    return true;
  } catch (const std::exception& e) {
    r.trace_note = std::string("trace: ") + e.what();
    return false;
  }
}

// The case's capture, when asked for or when the case did not pass. Never throws.
void write_case_pcap(CaseResult& r, const Recording& rec, bool pcap, const std::string& keylog) {
  if (!pcap && r.verdict.grade == Grade::pass)
    return;
  try {
    write_pcapng(r.dir / "case.pcapng", rec, keylog);
    r.pcap = r.dir / "case.pcapng";
  } catch (const std::exception& e) {
    r.trace_note += (r.trace_note.empty() ? "" : "; ") + std::string("pcap: ") + e.what();
  }
}

// Why the case cannot run (a peer not installed, a capability it lacks), or nullopt.
std::optional<std::string> not_applicable_reason(const CaseSpec& c) {
  const PeerInfo& ci = c.client->info();
  const PeerInfo& si = c.server->info();
  if (ci.unavailable || si.unavailable)
    return ci.unavailable ? ci.name + ": " + *ci.unavailable : si.name + ": " + *si.unavailable;
  std::string missing;
  for (const auto& need : ci.needs_from_server)
    if (!si.capabilities.contains(need) && missing.empty())
      missing = ci.name + " needs a server with " + need + "; " + si.name + " lacks it";
  if (!missing.empty() || !has_caps(*c.client, Side::client, *c.scenario, c.version, &missing) ||
      !has_caps(*c.server, Side::server, *c.scenario, c.version, &missing))
    return missing;
  const Expectation& e = c.scenario->expect;
  if (ci.advisory_client && e.result == ExpectedResult::rejected && e.by == Side::client)
    return ci.name + " as a client only reports its verification: " + *ci.advisory_client;
  return std::nullopt;
}

fs::path case_dir(const CaseSpec& c, const RunOptions& options) {
  return options.run_dir / "cases" / slug(c.scenario->id) /
         slug(std::string(to_string(c.version)) + "-" + c.client->info().name + "-" +
              c.server->info().name);
}

struct CaseConfigs {
  TlsConfig server;
  TlsConfig client;
};

// What each endpoint of the case is told; files derived from the PKI are made on first use.
CaseConfigs case_configs(const CaseSpec& c, const PkiDir& pki, Inputs& inputs,
                         const RunOptions& options, const fs::path& dir) {
  const Scenario& s = *c.scenario;
  CaseConfigs out;
  TlsConfig& server = out.server;
  server.version = c.version;
  server.cert = pki.cert(s.server.cert);
  server.key = pki.key(s.server.cert);
  server.chain = inputs.intermediates(s.server.cert, s.server.chain, s.server.extra_certs);
  server.client_auth = s.server.client_auth;
  if (s.server.client_auth != ClientAuth::none)
    server.trust = inputs.trust(s.server.trust, s.server.crl_check);
  server.crl_check = s.server.crl_check;
  if (server.crl_check)
    server.crls = pki.crls();
  server.keylog = dir / "server.keylog";
  server.timeout = options.timeout;

  TlsConfig& client = out.client;
  client.version = c.version;
  if (s.client.cert) {
    client.cert = pki.cert(*s.client.cert);
    client.key = pki.key(*s.client.cert);
    client.chain = inputs.intermediates(*s.client.cert, ChainShape::full);
  }
  client.trust = inputs.trust(s.client.trust, s.client.crl_check);
  client.crl_check = s.client.crl_check;
  if (client.crl_check)
    client.crls = pki.crls();
  client.server_name = s.client.server_name;
  client.server_echoes = c.server->info().echo_server;
  client.verify = s.client.verify;
  client.keylog = dir / "client.keylog";
  client.timeout = options.timeout;
  // Test the verifier, not the presenter: the side that must not be the one to reject presents
  // permissively.
  if (s.expect.result == ExpectedResult::rejected && s.expect.by) {
    server.permissive = *s.expect.by == Side::client;
    client.permissive = *s.expect.by == Side::server;
  }
  if (c.version == TlsVersion::tls12 && !s.key_exchange.empty())
    server.cipher_list = client.cipher_list = s.key_exchange == "rsa" ? "kRSA" : "ECDHE";
  return out;
}

// Calls fn(0 … count-1), `jobs` at a time, until done or `stop`. The calling thread is one of the
// workers; the others live until every call returned (PR_SET_PDEATHSIG follows the thread that
// started a child, so a child must not outlive the worker that started it).
void for_each_parallel(std::size_t count, unsigned jobs, const std::atomic<bool>& stop,
                       const std::function<void(std::size_t)>& fn) {
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; !stop && (i = next.fetch_add(1)) < count;)
      fn(i);
  };
  std::vector<std::jthread> pool;
  for (unsigned t = 1; t < std::min<std::size_t>(jobs, count); ++t)
    pool.emplace_back(worker);
  worker();
}

// Builds the per-run state the peers of these cases need (NSS databases) before any case runs,
// `jobs` at a time, so that no case's time includes work done once for a whole run (~70 ms per
// identity: the first case to use one was charged all of it). A failure is left for the case
// itself to report: the peer remembers it and the case's own prepare call throws it.
void prepare_peers(const std::vector<CaseSpec>& cases, const PkiDir& pki, Inputs& inputs,
                   const RunOptions& options, unsigned jobs, const std::atomic<bool>& stop) {
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < cases.size(); ++i)
    if ((cases[i].client->has_prepare(Side::client) ||
         cases[i].server->has_prepare(Side::server)) &&
        !not_applicable_reason(cases[i]))
      todo.push_back(i);
  for_each_parallel(todo.size(), jobs, stop, [&](std::size_t k) {
    EventLoop loop;
    const CaseSpec& c = cases[todo[k]];
    try {
      const CaseConfigs configs = case_configs(c, pki, inputs, options, case_dir(c, options));
      const CaseContext ctx{options.run_dir / "inputs", options.run_dir / "inputs", &loop,
                            options.timeout};
      c.client->prepare(configs.client, Side::client, ctx);
      c.server->prepare(configs.server, Side::server, ctx);
    } catch (const std::exception&) {
      // reported by the case
    }
  });
}

CaseResult run_one(const CaseSpec& c, const PkiDir& pki, Inputs& inputs, const RunOptions& options,
                   ServerPool* pool) {
  const auto started = Clock::now();
  CaseResult r;
  r.spec = c;
  r.client.peer = c.client->info().name;
  r.server.peer = c.server->info().name;
  const Scenario& s = *c.scenario;
  const PeerInfo& ci = c.client->info();
  const PeerInfo& si = c.server->info();
  if (auto why = not_applicable_reason(c)) {
    r.verdict.grade = Grade::not_applicable;
    r.verdict.detail = std::move(*why);
    return r;
  }

  r.dir = case_dir(c, options);
  try {
    fs::create_directories(r.dir);
    auto [server, client] = case_configs(c, pki, inputs, options, r.dir);

    EventLoop loop;
    const CaseContext ctx{r.dir, options.run_dir / "inputs", &loop, options.timeout};
    // A server shared with other cases (its peer's many-connections mode) or one of its own.
    std::unique_ptr<ServerRun> server_run;
    PooledServerRun* pooled = nullptr;
    if (pool)
      if (auto many = c.server->many_server(server, ctx)) {
        auto run = pool->acquire(*many, std::min(options.timeout, std::chrono::milliseconds(5000)),
                                 r.dir / "server.out");
        pooled = run.get();
        server_run = std::move(run);
      }
    if (!server_run)
      server_run = c.server->start_server(server, ctx);
    r.reproduce_server = server_run->command_line();
    // The relay records the wire; if it cannot start, the client connects directly (then a
    // pooled server cannot tell the case's connection, so the relay is a must there).
    std::unique_ptr<Relay> relay;
    try {
      std::function<void(std::uint16_t)> on_upstream;
      if (pooled)
        on_upstream = [pooled](std::uint16_t p) { pooled->upstream(p); };
      relay = std::make_unique<Relay>(server_run->port(),
                                      RelayOptions{options.timeout + std::chrono::seconds(2)},
                                      std::move(on_upstream));
    } catch (const std::exception& e) {
      if (pooled)
        throw Error(Errc::io, std::string("relay (needed by a pooled server): ") + e.what());
      r.trace_note = std::string("relay: ") + e.what();
    }
    ClientRun client_run;
    try {
      client_run = c.client->run_client(client, relay ? relay->port() : server_run->port(), ctx);
    } catch (const SetupRefusal& refusal) { // our own client refused its configuration
      client_run.observation = refusal.observation();
    }
    r.client = std::move(client_run.observation);
    r.reproduce_client = std::move(client_run.command_line);
    if (r.client.outcome == Outcome::refused) {
      // It never connected: the server waits for nobody. Stop it now rather than at its deadline.
      server_run.reset();
      r.server = not_exercised(si.name, "not exercised: the client refused its configuration");
      r.verdict = grade_case(s, r.client, r.server);
      r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      return r;
    }
    const auto spent =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    const auto left = std::max(std::chrono::milliseconds(500), options.timeout - spent);
    r.server = server_run->finish(left);
    // The wire first, then each side's account checked against it and against the other side,
    // then the verdict (grade_case, then the flow).
    const Recording* rec = nullptr;
    std::string keylog;
    bool traced = false;
    if (relay) {
      try {
        rec = &finish_relay(*relay, std::chrono::milliseconds(1000));
        keylog = case_keylog(r.dir, pooled ? pooled->keylog() : fs::path());
        traced = decode_case_trace(r, *rec, keylog);
      } catch (const std::exception& e) {
        r.trace_note = std::string("relay: ") + e.what();
      }
    }
    r.resource = reconcile(r.client, r.server, traced ? &r.trace : nullptr, client.server_echoes,
                           AlertMeanings{&ci.alert_reasons, &si.alert_reasons});
    r.verdict = grade_case(s, r.client, r.server, traced ? &r.trace : nullptr);
    if (traced)
      grade_flow(s, c.version, &r.trace, rec->events,
                 rec->end == RelayEnd::closed || rec->end == RelayEnd::reset, r.trace_note,
                 r.verdict);
    else if (expected_flow(s, c.version) != nullptr)
      grade_flow(s, c.version, nullptr, {}, false, r.trace_note, r.verdict);
    if (rec)
      write_case_pcap(r, *rec, options.pcap, keylog);
  } catch (const SetupRefusal& refusal) { // the server refused its configuration
    r.server = refusal.observation();
    r.client = not_exercised(ci.name, "not exercised: the server refused its configuration");
    r.verdict = grade_case(s, r.client, r.server);
  } catch (const Error& e) {
    r.verdict.grade = Grade::harness_error;
    r.verdict.detail = e.what();
    if (r.client.outcome == Outcome::invalid)
      r.client = harness_side(ci.name, "");
    if (r.server.outcome == Outcome::invalid)
      r.server = harness_side(si.name, e.what());
  } catch (const std::exception& e) {
    r.verdict.grade = Grade::harness_error;
    r.verdict.detail = std::string("internal error: ") + e.what();
  }
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
  return r;
}

} // namespace

std::vector<CaseResult> run_cases(const std::vector<CaseSpec>& cases, const PkiDir& pki,
                                  const RunOptions& options, const std::atomic<bool>& stop,
                                  const ProgressFn& progress) {
  Inputs inputs(pki, options.run_dir / "inputs");
  // Declared before the workers: it outlives every case, and stops its servers at the end.
  std::optional<ServerPool> servers;
  if (options.reuse_servers)
    servers.emplace(options.run_dir / "servers");
  std::vector<std::optional<CaseResult>> results(cases.size());
  std::size_t done = 0;
  std::mutex progress_mutex;
  const unsigned jobs =
      options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());
  prepare_peers(cases, pki, inputs, options, jobs, stop);
  for_each_parallel(cases.size(), jobs, stop, [&](std::size_t i) {
    if (options.on_start)
      options.on_start(cases[i]);
    CaseResult r = run_one(cases[i], pki, inputs, options, servers ? &*servers : nullptr);
    if (stop && r.verdict.grade != Grade::pass && r.verdict.grade != Grade::not_applicable)
      return; // killed by Ctrl-C: not a result
    std::lock_guard lock(progress_mutex);
    results[i] = std::move(r);
    ++done;
    if (progress)
      progress(*results[i], done, cases.size());
  });
  std::vector<CaseResult> out;
  for (auto& r : results)
    if (r)
      out.push_back(std::move(*r));
  return out;
}

} // namespace harness
