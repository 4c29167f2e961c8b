// Test support: run a command (Boost.Process v2, no shell, with a deadline), temp dirs, PKI
// fixtures.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace testing_support {

struct CommandResult {
  int exit_code = -1; // -1 when killed at the deadline
  bool timed_out = false;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up on PATH unless it contains '/') with the given stdin text.
// Throws std::runtime_error if the program cannot be found or started.
CommandResult run(const std::vector<std::string>& argv, const std::string& input = {},
                  std::chrono::milliseconds deadline = std::chrono::seconds(60),
                  const std::optional<std::filesystem::path>& cwd = std::nullopt);

// True when `program` is found on PATH.
bool have_program(const std::string& program);

// The tlsmatrix binary under test and the source tree.
std::string tlsmatrix_binary();
std::filesystem::path source_dir();

// A fresh directory under the system temp dir, removed with everything in it.
class ScratchDir {
public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const {
    return path_ / name;
  }

private:
  std::filesystem::path path_;
};

// SHA-256 of the sha256sum listing of every file in `dir` in bytewise order of names, by
// coreutils (`ls | LC_ALL=C sort | xargs sha256sum | sha256sum`): what a PKI's content
// fingerprint must be, computed without tlsmatrix.
std::string sha256sum_listing(const std::filesystem::path& dir);

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);

} // namespace testing_support
