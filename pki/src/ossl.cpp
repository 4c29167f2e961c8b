// OpenSSL error-queue draining and small BIO helpers shared by the pki library.
#include "pki/ossl.hpp"

#include <openssl/err.h>

#include "common/error.hpp"

namespace pki::ossl {

void throw_last_error(std::string_view what) {
  std::string message(what);
  unsigned long code = 0;
  const char* sep = ": ";
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    message += sep;
    message += buf;
    sep = "; ";
  }
  throw tlsmatrix::Error(tlsmatrix::Errc::crypto, message);
}

void clear_errors() noexcept {
  ERR_clear_error();
}

std::string bio_to_string(BIO& bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(&bio, &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

} // namespace pki::ossl
