// Routes OpenSSL's randomness through a thread-local deterministic stream when one is active.
//
// OpenSSL 3.0 has no deterministic ECDSA (RFC 6979 arrived in 3.2), so byte-identical output for
// a given --seed needs control of the nonce source. RAND_set_rand_method is deprecated but is the
// one hook that RAND_bytes_ex/RAND_priv_bytes_ex (used by key generation and by the ECDSA nonce
// in BN_generate_dsa_nonce) still consult first in 3.0. Outside a scope we forward to the real
// DRBGs, so the rest of the process (TLS endpoints) is unaffected.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "pki/random.hpp"

#include <algorithm>
#include <mutex>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "pki/ossl.hpp"

namespace pki {
namespace {

thread_local DeterministicRandom* active_stream = nullptr;

int forward_or_stream(unsigned char* buf, int num, bool priv) {
  if (num < 0)
    return 0;
  if (active_stream != nullptr) {
    active_stream->fill({buf, static_cast<std::size_t>(num)});
    return 1;
  }
  EVP_RAND_CTX* drbg = priv ? RAND_get0_private(nullptr) : RAND_get0_public(nullptr);
  if (drbg == nullptr)
    return 0;
  return EVP_RAND_generate(drbg, buf, static_cast<std::size_t>(num), 0, 0, nullptr, 0);
}

int method_bytes(unsigned char* buf, int num) {
  return forward_or_stream(buf, num, true);
}
int method_pseudo(unsigned char* buf, int num) {
  return forward_or_stream(buf, num, false);
}
int method_status() {
  return 1;
}

const RAND_METHOD routed_method = {
    nullptr, method_bytes, nullptr, nullptr, method_pseudo, method_status,
};

void install_routed_method() {
  static std::once_flag once;
  std::call_once(once, [] { RAND_set_rand_method(&routed_method); });
}

} // namespace

DeterministicRandom::DeterministicRandom(std::string_view seed, std::string_view label)
    : key_(32), previous_(active_stream) {
  install_routed_method();
  std::string material = "tlsmatrix-v1|";
  material.append(seed).append("|").append(label);
  unsigned int len = 0;
  ossl::check(
      EVP_Digest(material.data(), material.size(), key_.data(), &len, EVP_sha256(), nullptr),
      "deriving the deterministic seed");
  active_stream = this;
}

DeterministicRandom::~DeterministicRandom() {
  active_stream = previous_;
}

void DeterministicRandom::fill(std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    if (pending_.empty()) {
      std::uint8_t block[32];
      unsigned int len = 0;
      std::uint8_t ctr[8];
      for (int i = 0; i < 8; ++i)
        ctr[i] = static_cast<std::uint8_t>(counter_ >> (56 - 8 * i));
      ++counter_;
      HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), ctr, sizeof ctr, block, &len);
      pending_.assign(block, block + len);
    }
    const std::size_t take = std::min(pending_.size(), out.size() - done);
    std::copy_n(pending_.begin(), take, out.begin() + static_cast<std::ptrdiff_t>(done));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
    done += take;
  }
}

void random_bytes(std::span<std::uint8_t> out) {
  install_routed_method();
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1)
    ossl::throw_last_error("drawing random bytes");
}

} // namespace pki
