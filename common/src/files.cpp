// Atomic file and directory replacement with POSIX calls (open with O_EXCL + mode, fsync, rename).
#include "common/files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/dir_lock.hpp"
#include "common/error.hpp"

namespace common {
namespace fs = std::filesystem;
using tlsmatrix::Errc;
using tlsmatrix::Error;

namespace {
[[noreturn]] void throw_io(const fs::path& path, std::string_view what, int err) {
  throw Error(Errc::io, std::string(what) + " " + path.string() + ": " + std::strerror(err));
}
} // namespace

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw Error(Errc::io, "cannot read " + path.string() + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw_io(path, "cannot read", errno);
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad())
    throw_io(path, "cannot read", errno);
  return out.str();
}

void write_file_atomic(const fs::path& path, std::string_view data, fs::perms mode) {
  std::string tmpl =
      (path.parent_path() / ("." + path.filename().string() + ".tmpXXXXXX")).string();
  const int fd = ::mkstemp(tmpl.data()); // created 0600; widened below only if asked
  if (fd < 0)
    throw_io(path, "cannot create a temporary file for", errno);
  auto fail = [&](std::string_view what) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    throw_io(path, what, err);
  };
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
    fail("cannot set the mode of");
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw_io(path, "cannot write", err);
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmpl.c_str());
    throw_io(path, "cannot replace", err);
  }
}

void write_new_file(const fs::path& path, std::string_view data, fs::perms mode) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0)
    throw_io(path, "cannot create", errno);
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw_io(path, "cannot write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0)
    throw_io(path, "cannot write", errno);
}

TempDir::TempDir(const fs::path& near) {
  const fs::path parent = near.parent_path().empty() ? fs::path(".") : near.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  std::string tmpl = (parent / ("." + near.filename().string() + ".tmpXXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw_io(near, "cannot create a temporary directory for", errno);
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty())
    return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void replace_directory(const fs::path& staged, const fs::path& target) {
  for (;;) {
    // Exclusive against readers that copy the tree (DirLock::lock_current, shared): none of them is
    // inside the old tree when it is swapped out and removed.
    const auto lock = DirLock::lock_current(target, LockMode::exclusive);
    if (!lock) {
      if (::rename(staged.c_str(), target.c_str()) == 0)
        return;
      if (errno == EEXIST || errno == ENOTEMPTY)
        continue; // another writer created it meanwhile: swap with theirs, under the lock
      throw_io(target, "cannot create", errno);
    }
    // renameat2(RENAME_EXCHANGE) swaps both trees in one step; the old one is then removed.
    if (::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) != 0)
      throw_io(target, "cannot replace", errno);
    std::error_code ec;
    fs::remove_all(staged, ec); // now holds the previous tree
    return;
  }
}

} // namespace common
