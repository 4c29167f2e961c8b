// Micro-benchmarks of the mini-CA's hot paths: key generation, certificate signing, PKCS#12.
#include <benchmark/benchmark.h>

#include "pki/certificate.hpp"
#include "pki/issuer.hpp"
#include "pki/key.hpp"
#include "pki/spec.hpp"

namespace {

void KeyGeneration(benchmark::State& state) {
  const auto type = static_cast<pki::KeyType>(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(pki::PrivateKey::generate(type));
  state.SetLabel(std::string(pki::key_type_name(type)));
}
BENCHMARK(KeyGeneration)
    ->Arg(static_cast<int>(pki::KeyType::p256))
    ->Arg(static_cast<int>(pki::KeyType::p384))
    ->Arg(static_cast<int>(pki::KeyType::ed25519))
    ->Arg(static_cast<int>(pki::KeyType::ed448))
    ->Arg(static_cast<int>(pki::KeyType::rsa2048))
    ->Unit(benchmark::kMicrosecond);

void CertificateSigning(benchmark::State& state) {
  const auto type = static_cast<pki::KeyType>(state.range(0));
  const auto issuer_key = pki::PrivateKey::generate(type);
  const auto leaf_key = pki::PrivateKey::generate(pki::KeyType::p256);
  pki::CertificateSettings s;
  s.subject = "/O=tlsmatrix/CN=localhost";
  s.subject_alt_names = {"DNS:localhost", "IP:127.0.0.1"};
  s.serial = {0x42};
  s.not_before = pki::current_time();
  s.not_after = s.not_before + std::chrono::days(1);
  s.basic_constraints = pki::BasicConstraints{false, std::nullopt, true};
  s.key_usage = pki::KeyUsage{{"digitalSignature"}, true};
  s.extended_key_usage = pki::ExtendedKeyUsage{{"serverAuth"}, false};
  for (auto _ : state) benchmark::DoNotOptimize(pki::build_certificate(s, leaf_key, nullptr, issuer_key));
  state.SetLabel(std::string(pki::key_type_name(type)) + " issuer");
}
BENCHMARK(CertificateSigning)
    ->Arg(static_cast<int>(pki::KeyType::p256))
    ->Arg(static_cast<int>(pki::KeyType::ed25519))
    ->Arg(static_cast<int>(pki::KeyType::rsa2048))
    ->Unit(benchmark::kMicrosecond);

void DefaultSpecParse(benchmark::State& state) {
  const auto now = pki::current_time();
  for (auto _ : state) benchmark::DoNotOptimize(pki::default_spec(now));
}
BENCHMARK(DefaultSpecParse)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
