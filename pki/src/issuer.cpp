// PKI issuance: the only place that decides which randomness stream each artefact draws from,
// which is what makes --seed output byte-identical.
#include "pki/issuer.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

#include "common/error.hpp"
#include "pki/random.hpp"

namespace pki {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs fn(i) for i in [0, n) on `jobs` threads, every i even after a failure, then rethrows the
// exception of the lowest i: the one a sequential loop would have met first.
template <class F> void parallel_for(std::size_t n, unsigned jobs, F fn) {
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> errors(n);
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < n;) {
      try {
        fn(i);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    }
  };
  const unsigned threads = std::max(1u, std::min<unsigned>(jobs, static_cast<unsigned>(n)));
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back(worker);
    worker();
  }
  for (const auto& error : errors)
    if (error)
      std::rethrow_exception(error);
}

// Completion flags that workers wait on: certificate i needs its issuer's certificate first.
class Completion {
public:
  explicit Completion(std::size_t n) : state_(n, pending) {}
  // False if `i` failed (or was skipped because its own issuer failed).
  bool wait(std::size_t i) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return state_[i] != pending; });
    return state_[i] == succeeded;
  }
  void finish(std::size_t i, bool ok) {
    {
      std::lock_guard lock(mutex_);
      state_[i] = ok ? succeeded : failed;
    }
    done_.notify_all();
  }

private:
  enum State : unsigned char { pending, succeeded, failed };
  std::mutex mutex_;
  std::condition_variable done_;
  std::vector<State> state_;
};

// How long generating a key of this type takes, as a rank (bigger: longer).
int generation_rank(KeyType type) {
  switch (type) {
  case KeyType::rsa4096:
    return 5;
  case KeyType::rsa3072:
    return 4;
  case KeyType::rsa2048:
    return 3;
  case KeyType::rsa1024:
    return 2;
  case KeyType::p384:
  case KeyType::p521:
  case KeyType::ed448:
    return 1;
  default:
    return 0;
  }
}

struct KeyJob {
  std::string label; // entity name, or "<name>#mismatch"
  KeyType type;
  std::optional<PrivateKey> key;
  bool cached = false;
};

} // namespace

const IssuedEntity& IssuedPki::at(std::string_view name) const {
  for (const auto& e : entities)
    if (e.plan->name == name)
      return e;
  throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                         "no entity named \"" + std::string(name) + "\"");
}

IssuedPki issue_pki(Spec spec, const IssueOptions& options) {
  IssuedPki pki{std::move(spec), options.seed, {}, {}, {}};
  const Spec& s = pki.spec;
  const std::string seed = options.seed.value_or("");
  const unsigned jobs =
      options.jobs ? options.jobs : std::max(1u, std::thread::hardware_concurrency());

  // 1. Keys: one job per entity that owns a key, plus the wrong keys of key_mismatch entities.
  auto start = Clock::now();
  std::vector<KeyJob> key_jobs;
  std::map<std::string, std::size_t> job_of;
  for (const auto& e : s.entities) {
    if (!e.key_from) {
      job_of[e.name] = key_jobs.size();
      key_jobs.push_back({e.name, e.key_type, std::nullopt, false});
    }
    if (e.mismatched_key) {
      job_of[e.name + "#mismatch"] = key_jobs.size();
      key_jobs.push_back({e.name + "#mismatch", e.key_type, std::nullopt, false});
    }
  }
  std::optional<KeyCache> cache;
  if (options.key_cache)
    cache.emplace(*options.key_cache);
  // Longest first (RSA prime searches dominate), so that the threads run out of work together;
  // a failure is still reported for the first key in spec order.
  std::vector<std::size_t> order(key_jobs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return generation_rank(key_jobs[a].type) > generation_rank(key_jobs[b].type);
  });
  std::vector<std::exception_ptr> key_errors(key_jobs.size());
  parallel_for(order.size(), jobs, [&](std::size_t k) {
    auto& job = key_jobs[order[k]];
    try {
      std::optional<DeterministicRandom> rng;
      if (options.seed)
        rng.emplace(seed, "key:" + job.label);
      job.key = cache ? cache->get_or_generate(seed, job.label, job.type, &job.cached)
                      : PrivateKey::generate(job.type);
    } catch (...) {
      key_errors[order[k]] = std::current_exception();
    }
  });
  for (const auto& error : key_errors)
    if (error)
      std::rethrow_exception(error);
  for (const auto& job : key_jobs)
    (job.cached ? pki.stats.keys_from_cache : pki.stats.keys_generated)++;
  pki.stats.key_seconds = seconds_since(start);

  // 2. Certificates, in parallel: workers take entities in spec order (issuers first) and wait
  //    for the issuer's certificate. Each draws from its own "cert:<name>" stream, so the bytes
  //    do not depend on the schedule; a failure is reported for the first entity in spec order.
  start = Clock::now();
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < s.entities.size(); ++i)
    index[s.entities[i].name] = i;
  std::vector<std::optional<IssuedEntity>> built(s.entities.size());
  Completion completion(s.entities.size());
  // Builds entity i once its issuer is done; false when the issuer failed (nothing to sign with).
  auto issue_one = [&](std::size_t i) {
    const EntityPlan& plan = s.entities[i];
    const IssuedEntity* issuer = nullptr;
    if (plan.issuer) {
      const std::size_t issuer_index = index.at(*plan.issuer);
      if (!completion.wait(issuer_index))
        return false;
      issuer = &*built[issuer_index];
    }
    const PrivateKey& key = *key_jobs[job_of.at(plan.key_from.value_or(plan.name))].key;
    CertificateSettings settings = plan.cert;
    std::optional<DeterministicRandom> rng;
    if (options.seed)
      rng.emplace(seed, "cert:" + plan.name);
    if (!plan.serial_given) {
      settings.serial.assign(16, 0);
      random_bytes(settings.serial);
      settings.serial[0] =
          static_cast<std::uint8_t>((settings.serial[0] & 0x7f) | 0x40); // positive, 16 bytes
    }
    auto cert = [&] {
      try {
        return build_certificate(settings, key, issuer ? &issuer->cert : nullptr,
                                 issuer ? issuer->key : key);
      } catch (const tlsmatrix::Error& e) {
        throw tlsmatrix::Error(e.code(), s.origin + ": " + plan.pointer + ": " + e.what());
      }
    }();
    IssuedEntity issued{&plan, key, key, cert, {}, std::nullopt};
    if (plan.mismatched_key)
      issued.key_file = *key_jobs[job_of.at(plan.name + "#mismatch")].key;
    if (issuer) {
      if (issuer->plan->issuer)
        issued.intermediates.push_back(issuer->cert);
      issued.intermediates.insert(issued.intermediates.end(), issuer->intermediates.begin(),
                                  issuer->intermediates.end());
      issued.root = issuer->root ? issuer->root : std::optional(issuer->cert);
    }
    built[i].emplace(std::move(issued));
    return true;
  };
  parallel_for(s.entities.size(), jobs, [&](std::size_t i) {
    bool ok = false;
    try {
      ok = issue_one(i);
    } catch (...) {
      completion.finish(i, false); // before rethrowing: the entities it issues are waiting
      throw;
    }
    completion.finish(i, ok);
  });
  for (auto& e : built)
    pki.entities.push_back(std::move(*e));

  // 3. One CRL per CA with the entities it issued that are revoked (independent: in parallel).
  std::vector<const IssuedEntity*> cas;
  for (const auto& e : pki.entities)
    if (e.plan->crl)
      cas.push_back(&e);
  std::vector<std::optional<Crl>> crls(cas.size());
  parallel_for(cas.size(), jobs, [&](std::size_t i) {
    const IssuedEntity& ca = *cas[i];
    CrlSettings crl{ca.plan->crl->this_update,
                    ca.plan->crl->next_update,
                    ca.plan->crl->number,
                    ca.plan->crl->digest,
                    {}};
    for (const auto& e : pki.entities) {
      if (e.plan->issuer != ca.plan->name || !e.plan->revocation)
        continue;
      RevokedEntry entry;
      entry.serial = e.cert.serial();
      entry.revocation_date = e.plan->revocation->date;
      entry.reason = e.plan->revocation->reason;
      crl.revoked.push_back(std::move(entry));
    }
    if (ca.plan->crl->digest == "md5" && !is_rsa(ca.key.type()))
      crl.digest = "sha256";
    std::optional<DeterministicRandom> rng;
    if (options.seed)
      rng.emplace(seed, "crl:" + ca.plan->name);
    crls[i].emplace(build_crl(crl, ca.cert, ca.key));
  });
  for (std::size_t i = 0; i < cas.size(); ++i)
    pki.crls.emplace(cas[i]->plan->name, std::move(*crls[i]));
  pki.stats.cert_seconds = seconds_since(start);
  return pki;
}

} // namespace pki
