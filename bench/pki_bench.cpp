// Micro-benchmarks of the mini-CA's hot paths: key generation, key encoding and decoding (the key
// cache), certificate signing, and whole-PKI issuance and writing (PKCS#12 included).
// Names are "<what>/<key type>" (KeyGeneration/rsa-2048); scripts/bench-pki reads them.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "common/files.hpp"
#include "pki/certificate.hpp"
#include "pki/issuer.hpp"
#include "pki/key.hpp"
#include "pki/spec.hpp"
#include "pki/writer.hpp"

namespace {

namespace fs = std::filesystem;
using pki::KeyType;

constexpr KeyType all_types[] = {KeyType::rsa1024, KeyType::rsa2048, KeyType::rsa3072,
                                 KeyType::rsa4096, KeyType::p256,    KeyType::p384,
                                 KeyType::p521,    KeyType::ed25519, KeyType::ed448};
constexpr KeyType signing_types[] = {KeyType::p256,  KeyType::p384,    KeyType::ed25519,
                                     KeyType::ed448, KeyType::rsa2048, KeyType::rsa4096};

void KeyGeneration(benchmark::State& state, KeyType type) {
  for (auto _ : state)
    benchmark::DoNotOptimize(pki::PrivateKey::generate(type));
}

void KeyPemEncode(benchmark::State& state, KeyType type) {
  const auto key = pki::PrivateKey::generate(type);
  for (auto _ : state)
    benchmark::DoNotOptimize(key.pkcs8_pem());
}

void KeyPemDecode(benchmark::State& state, KeyType type) {
  const auto pem = pki::PrivateKey::generate(type).pkcs8_pem();
  for (auto _ : state)
    benchmark::DoNotOptimize(pki::PrivateKey::from_pem(pem, "bench"));
}

// A warm key cache: one file read and decode per key.
void KeyCacheHit(benchmark::State& state, KeyType type) {
  const fs::path dir = fs::temp_directory_path() / "tlsmatrix-bench-key-cache";
  pki::KeyCache cache(dir);
  (void)cache.get_or_generate("bench", "entity", type);
  for (auto _ : state)
    benchmark::DoNotOptimize(cache.get_or_generate("bench", "entity", type));
  fs::remove_all(dir);
}

pki::CertificateSettings leaf_settings() {
  pki::CertificateSettings s;
  s.subject = "/O=tlsmatrix/CN=localhost";
  s.subject_alt_names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  s.serial = {0x42};
  s.not_before = pki::current_time();
  s.not_after = s.not_before + std::chrono::days(1);
  s.basic_constraints = pki::BasicConstraints{false, std::nullopt, true};
  s.key_usage = pki::KeyUsage{{"digitalSignature"}, true};
  s.extended_key_usage = pki::ExtendedKeyUsage{{"serverAuth"}, false};
  return s;
}

// A P-256 leaf signed by an issuer key of the given type (extensions encoded and signed).
void CertificateSigning(benchmark::State& state, KeyType issuer_type) {
  const auto issuer_key = pki::PrivateKey::generate(issuer_type);
  const auto leaf_key = pki::PrivateKey::generate(KeyType::p256);
  auto ca = leaf_settings();
  ca.subject = "/O=tlsmatrix/CN=CA";
  ca.subject_alt_names.clear();
  ca.basic_constraints = pki::BasicConstraints{true, std::nullopt, true};
  ca.key_usage = pki::KeyUsage{{"keyCertSign", "cRLSign"}, true};
  const auto issuer = pki::build_certificate(ca, issuer_key, nullptr, issuer_key);
  const auto s = leaf_settings();
  for (auto _ : state)
    benchmark::DoNotOptimize(pki::build_certificate(s, leaf_key, &issuer, issuer_key));
}

void CertificatePemEncode(benchmark::State& state) {
  const auto key = pki::PrivateKey::generate(KeyType::p256);
  const auto cert = pki::build_certificate(leaf_settings(), key, nullptr, key);
  for (auto _ : state)
    benchmark::DoNotOptimize(cert.pem());
}

void DefaultSpecParse(benchmark::State& state) {
  const auto now = pki::current_time();
  for (auto _ : state)
    benchmark::DoNotOptimize(pki::default_spec(now));
}

// The default spec (51 certificates) with every key from a warm cache: signing, CRLs, bookkeeping.
void IssueDefaultPkiWarmCache(benchmark::State& state) {
  const fs::path dir = fs::temp_directory_path() / "tlsmatrix-bench-issue-cache";
  pki::IssueOptions options;
  options.key_cache = dir;
  const auto now = pki::current_time();
  (void)pki::issue_pki(pki::default_spec(now), options);
  for (auto _ : state)
    benchmark::DoNotOptimize(pki::issue_pki(pki::default_spec(now), options));
  fs::remove_all(dir);
}

// Writing the issued default PKI: "pem" is certificates, keys, CRLs and the manifest; "all" adds
// DER, chains and PKCS#12 (whose key derivation dominates).
void WriteDefaultPki(benchmark::State& state, const char* formats) {
  const fs::path dir = fs::temp_directory_path() / "tlsmatrix-bench-write";
  pki::IssueOptions options;
  options.key_cache = fs::temp_directory_path() / "tlsmatrix-bench-write-cache";
  const auto issued = pki::issue_pki(pki::default_spec(pki::current_time()), options);
  const auto f = pki::parse_formats(formats);
  for (auto _ : state)
    pki::write_pki(issued, dir, f);
  fs::remove_all(dir);
  fs::remove_all(*options.key_cache);
}

} // namespace

int main(int argc, char** argv) {
  auto name = [](const char* what, KeyType type) {
    return std::string(what) + "/" + std::string(pki::key_type_name(type));
  };
  for (auto type : all_types) {
    benchmark::RegisterBenchmark(name("KeyGeneration", type).c_str(), KeyGeneration, type)
        ->Unit(pki::is_rsa(type) ? benchmark::kMillisecond : benchmark::kMicrosecond);
  }
  for (auto type : {KeyType::p256, KeyType::ed25519, KeyType::rsa2048}) {
    benchmark::RegisterBenchmark(name("KeyPemEncode", type).c_str(), KeyPemEncode, type)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("KeyPemDecode", type).c_str(), KeyPemDecode, type)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(name("KeyCacheHit", type).c_str(), KeyCacheHit, type)
        ->Unit(benchmark::kMicrosecond);
  }
  for (auto type : signing_types) {
    benchmark::RegisterBenchmark(name("CertificateSigning", type).c_str(), CertificateSigning, type)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("CertificatePemEncode", CertificatePemEncode)
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("DefaultSpecParse", DefaultSpecParse)->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("IssueDefaultPki/warm-cache", IssueDefaultPkiWarmCache)
      ->Unit(benchmark::kMillisecond);
  for (const char* formats : {"pem", "all"}) {
    benchmark::RegisterBenchmark((std::string("WriteDefaultPki/") + formats).c_str(),
                                 WriteDefaultPki,
                                 formats)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime(); // the writer's threads do the work
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
