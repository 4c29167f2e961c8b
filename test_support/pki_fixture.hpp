// PKIs issued by the tlsmatrix binary for the tests (the shared default one among them), and the
// openssl CLI calls that check them.
#pragma once

#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace testing_support {

// A PKI issued by the tlsmatrix binary into a directory, with its manifest.
struct IssuedDir {
  std::filesystem::path dir;
  std::string now;      // the "now" it was issued at (manifest.json)
  std::time_t now_unix; // the same instant, for openssl -attime
  std::string seed;     // empty when issued without --seed
  nlohmann::json manifest;

  [[nodiscard]] const nlohmann::json& entity(const std::string& name) const;
  // The file of `kind` (cert, key, chain, fullchain, der, p12, crl) of an entity.
  [[nodiscard]] std::filesystem::path file(const std::string& name, const std::string& kind) const;
  [[nodiscard]] std::vector<std::string> entity_names() const;
  [[nodiscard]] std::vector<std::string> chain(const std::string& name) const;
};

// Issues `spec` (nullopt: the built-in default) into `out` with --now (default: the current
// second) and the extra arguments; throws if the binary fails. The spec is written next to `out`.
IssuedDir issue(const std::filesystem::path& out, const std::optional<nlohmann::json>& spec,
                const std::vector<std::string>& extra_args = {}, const std::string& now = {});

// The built-in default PKI with a fixed --seed, issued once per ctest run by a fixture test that
// names its directory in TLSMATRIX_TEST_DEFAULT_PKI, or on first use by this process (then
// removed at exit) when the variable is not set.
const IssuedDir& default_pki();

// The current time as an absolute --now value, whole seconds.
std::string utc_now();
std::string format_utc(std::time_t t);
std::time_t parse_utc(const std::string& text); // "2026-01-31T00:00:00Z" or "2026-01-31 00:00:00Z"

// Runs `tlsmatrix pki generate` with extra arguments; the result carries exit code and output.
CommandResult tlsmatrix_generate(const std::vector<std::string>& args);

// What `openssl verify` said: the first "error N at D depth lookup" line, or 0 for "OK".
struct VerifyOutcome {
  int error = -1; // -1: neither OK nor an error line (the output did not parse)
  int depth = -1;
  std::string output; // stdout + stderr, for failure messages

  [[nodiscard]] bool ok() const { return error == 0; }
};
VerifyOutcome parse_openssl_verify(int exit_code, const std::string& out, const std::string& err);

struct VerifyFlags {
  std::string purpose;                           // sslserver, sslclient or empty
  std::optional<std::string> hostname;           // -verify_hostname
  std::optional<std::string> ip;                 // -verify_ip
  std::optional<std::filesystem::path> crl_file; // -crl_check -CRLfile
  std::optional<int> auth_level;
  std::optional<std::time_t> at_time;
};

// openssl verify -CAfile ca_file [-untrusted untrusted] <flags> cert
VerifyOutcome openssl_verify(const std::filesystem::path& ca_file,
                             const std::optional<std::filesystem::path>& untrusted,
                             const VerifyFlags& flags, const std::filesystem::path& cert);

// Runs the openssl CLI and returns stdout; fails the calling test (ADD_FAILURE) when it exits
// non-zero.
std::string openssl(const std::vector<std::string>& args);

// The concatenated bytes of files (PEM bundles).
std::string concat_files(const std::vector<std::filesystem::path>& files);

// Every regular file below dir (relative path -> bytes).
std::vector<std::pair<std::string, std::string>> snapshot(const std::filesystem::path& dir);

} // namespace testing_support
