// File helpers with tlsmatrix's guarantees: errors name the file, writes are atomic, keys are 0600.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace common {

// Whole file; throws Error(Errc::io) naming the path.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

inline constexpr std::filesystem::perms public_mode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write |
    std::filesystem::perms::group_read | std::filesystem::perms::others_read;
inline constexpr std::filesystem::perms private_mode =
    std::filesystem::perms::owner_read | std::filesystem::perms::owner_write;

// Writes to a temporary sibling then renames it over `path`; `mode` applies from creation on,
// so a private key is never readable by others, not even for a moment.
void write_file_atomic(const std::filesystem::path& path, std::string_view data,
                       std::filesystem::perms mode = public_mode);

// Creates `path` (which must not exist) with `mode` and writes `data`: for files inside a staging
// directory nobody else looks into, where a plain exclusive create is enough.
void write_new_file(const std::filesystem::path& path, std::string_view data,
                    std::filesystem::perms mode);

// A directory that is removed with everything in it unless release()d.
class TempDir {
public:
  // Created next to `near` (same filesystem, so a later rename is atomic).
  explicit TempDir(const std::filesystem::path& near);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  void release() { path_.clear(); }

private:
  std::filesystem::path path_;
};

// Replaces directory `target` by `staged` as atomically as the filesystem allows: a crash leaves
// either the old or the new tree in place, never a mix. The swap and the removal of the old tree
// happen under `target`'s exclusive DirLock (dir_lock.hpp), so a reader that holds it shared keeps
// its tree whole; concurrent writers take turns, the last one's tree stays. Throws
// tlsmatrix::Error: Errc::io, or Errc::unstable_input when the lock stays taken (a minute).
void replace_directory(const std::filesystem::path& staged, const std::filesystem::path& target);

} // namespace common
