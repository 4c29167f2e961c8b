// Maps error categories to the documented exit codes.
#include "common/error.hpp"

namespace tlsmatrix {

int exit_code(Errc code) noexcept {
  switch (code) {
  case Errc::invalid_input:
    return exit_codes::invalid_input;
  case Errc::io:
    return exit_codes::io;
  case Errc::crypto:
    return exit_codes::crypto;
  case Errc::peer:
    return exit_codes::peer;
  case Errc::unstable_input:
    return exit_codes::unstable_input;
  case Errc::interrupted:
    return exit_codes::interrupted;
  case Errc::internal:
    return exit_codes::internal;
  }
  return exit_codes::internal;
}

} // namespace tlsmatrix
