// Advisory locks (flock(2)) on directories, with deadlines: how the writers of a PKI directory and
// the runs that copy it keep out of each other's way.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "common/fd.hpp"

namespace common {

enum class LockMode { shared, exclusive };

// How long a lock is waited for by default: writers hold a PKI directory's lock only for a swap
// and readers only for a copy (milliseconds), so a minute means something is stuck.
inline constexpr std::chrono::milliseconds default_lock_wait{60000};

// An flock(2) on an open directory, released when this object is destroyed.
//
// A PKI directory is replaced by swapping a new tree in (renameat2 RENAME_EXCHANGE), so its path
// names a new inode afterwards: a lock on the path's old inode says nothing about the new one.
// lock_current() therefore checks, once it holds the lock, that the path still names the directory
// it locked, and otherwise locks the new one. Writers take it exclusive around the swap, readers
// shared around a copy: a reader never sees a tree swapped out, or removed, under it.
class DirLock {
public:
  // Locks the directory `path` names now (see above). nullopt when `path` does not exist. Throws
  // tlsmatrix::Error: Errc::unstable_input when the lock is not had within `wait` (the message
  // names the path and says who may hold it), Errc::io when `path` cannot be opened as a directory,
  // Errc::interrupted when `give_up` (asked every 100 ms while waiting) says so.
  [[nodiscard]] static std::optional<DirLock>
  lock_current(const std::filesystem::path& path, LockMode mode,
               std::chrono::milliseconds wait = default_lock_wait,
               const std::function<bool()>& give_up = {});
  // Locks directory `path` itself, creating it (and its parents) when missing: for a directory
  // that is never replaced (a results root), whose lock guards something inside it.
  [[nodiscard]] static DirLock lock(const std::filesystem::path& path, LockMode mode,
                                    std::chrono::milliseconds wait = default_lock_wait,
                                    const std::function<bool()>& give_up = {});

  // Closing the descriptor (it is ours alone: O_CLOEXEC, never dup'ed) releases the lock.
  DirLock(DirLock&& other) noexcept = default;
  DirLock& operator=(DirLock&& other) noexcept = default;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() = default;

  // The locked directory, open (O_DIRECTORY): read its files with openat() relative to it.
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

private:
  DirLock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  Fd fd_;
  std::filesystem::path path_;
};

// flock(fd, mode), waiting at most `wait`: true once held, false at the deadline. Throws
// tlsmatrix::Error: Errc::io when flock fails otherwise (`what` names the file), Errc::interrupted
// when `give_up` (asked every 100 ms while waiting) says so.
[[nodiscard]] bool lock_with_deadline(int fd, LockMode mode, std::chrono::milliseconds wait,
                                      const std::string& what,
                                      const std::function<bool()>& give_up = {});

} // namespace common
