// Deterministic randomness for reproducible PKIs: while a DeterministicRandom scope is alive on a
// thread, every OpenSSL random byte drawn on that thread (key generation, ECDSA nonces, serials)
// comes from a SHA-256 counter-mode stream over the scope's seed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pki {

class DeterministicRandom {
public:
  // `seed` and `label` together select the stream (label = e.g. "key:server").
  DeterministicRandom(std::string_view seed, std::string_view label);
  ~DeterministicRandom();
  DeterministicRandom(const DeterministicRandom&) = delete;
  DeterministicRandom& operator=(const DeterministicRandom&) = delete;

  void fill(std::span<std::uint8_t> out);

private:
  std::vector<std::uint8_t> key_;
  std::uint64_t counter_ = 0;
  std::vector<std::uint8_t> pending_;
  DeterministicRandom* previous_;
};

// Random bytes: from the thread's DeterministicRandom when one is active, else OpenSSL's DRBG.
void random_bytes(std::span<std::uint8_t> out);

} // namespace pki
