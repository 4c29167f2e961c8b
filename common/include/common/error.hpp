// The one exception type of tlsmatrix and the documented process exit codes it maps to.
#pragma once

#include <stdexcept>
#include <string>

namespace tlsmatrix {

// Failures, not outcomes: a rejected handshake or a broken certificate is a result, never an Error.
enum class Errc {
  invalid_input,  // malformed spec/scenario, unknown name, bad option value
  io,             // a file or directory could not be read or written
  crypto,         // OpenSSL refused an operation
  peer,           // an external program could not be started or misbehaved
  unstable_input, // a run's inputs (its PKI) changed while it took them, or stayed locked
  interrupted,    // SIGINT/SIGTERM
  internal,       // a bug of ours
};

// Documented exit codes (see `tlsmatrix --help`).
namespace exit_codes {
inline constexpr int ok = 0;
inline constexpr int cases_failed = 1;
inline constexpr int invalid_input = 2;
inline constexpr int io = 3;
inline constexpr int crypto = 4;
inline constexpr int peer = 5;
inline constexpr int changed = 6;        // `diff`, `run --fail-on-change`: behaviour changed
inline constexpr int unstable_input = 7; // `run`, `pki generate`: the PKI changed or stayed locked
inline constexpr int internal = 70;
inline constexpr int interrupted = 130;
} // namespace exit_codes

class Error : public std::runtime_error {
public:
  Error(Errc code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] Errc code() const noexcept { return code_; }

private:
  Errc code_;
};

[[nodiscard]] int exit_code(Errc code) noexcept;

} // namespace tlsmatrix
