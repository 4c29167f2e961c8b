// SHA-256 digests through OpenSSL's one-shot EVP_Digest.
#include "pki/digest.hpp"

#include <openssl/evp.h>

#include "pki/ossl.hpp"

namespace pki {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ossl::check(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr), "SHA-256");
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 15];
  }
  return hex;
}

std::string content_fingerprint(const std::map<std::string, std::string>& sha256_of) {
  std::string listing; // std::map iterates in bytewise order of names, as LC_ALL=C sort does
  for (const auto& [name, digest] : sha256_of)
    listing += digest + "  " + name + "\n";
  return sha256_hex(listing);
}

} // namespace pki
