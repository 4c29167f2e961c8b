// Directory locks and the directory swap that respects them, checked against the kernel's own
// account (/proc/locks) and util-linux's `flock` CLI rather than through the code under test.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <thread>

#include "common/dir_lock.hpp"
#include "common/error.hpp"
#include "common/files.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using common::DirLock;
using common::LockMode;
using testing_support::ScratchDir;

struct RawFd {
  int fd;
  explicit RawFd(const fs::path& p) : fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {}
  ~RawFd() { release(); }
  void release() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

ino_t inode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

// Whether /proc/locks shows someone blocked on a lock of the file with this inode ("N: -> FLOCK
// … MAJ:MIN:INODE …").
bool someone_waits_on(ino_t inode) {
  std::ifstream in("/proc/locks");
  const std::string key = ":" + std::to_string(inode) + " ";
  for (std::string line; std::getline(in, line);)
    if (line.find("->") != std::string::npos && line.find(key) != std::string::npos)
      return true;
  return false;
}

// A PKI folder holding f = "old" and a staged tree holding f = "new", as a writer has them.
struct OldAndNew {
  fs::path dir, staged;
  explicit OldAndNew(const ScratchDir& d) : dir(d / "pki"), staged(d / "staged") {
    fs::create_directory(dir);
    fs::create_directory(staged);
    testing_support::write_text(dir / "f", "old");
    testing_support::write_text(staged / "f", "new");
  }
};

// Until /proc/locks shows a waiter on `inode`, at most 10 s.
bool waiter_appears(ino_t inode) {
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    if (someone_waits_on(inode))
      return true;
    std::this_thread::yield();
  }
  return false;
}

TEST(DirLock, AWaitEndsAtItsDeadlineAndLeavesNoSignalBehind) {
  const ScratchDir d;
  const fs::path dir = d / "pki";
  fs::create_directory(dir);
  RawFd reader(dir);
  ASSERT_EQ(::flock(reader.fd, LOCK_SH), 0);

  const auto start = Clock::now();
  try {
    (void)DirLock::lock_current(dir, LockMode::exclusive, 300ms);
    FAIL() << "an exclusive lock was granted while a shared one is held";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::unstable_input);
    EXPECT_NE(std::string(e.what()).find(dir.string()), std::string::npos) << e.what();
  }
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  // Readers share.
  EXPECT_TRUE(DirLock::lock_current(dir, LockMode::shared, 0ms).has_value());

  // The deadline's timer signal must not outlive the wait: a later blocking call of this thread
  // runs to its own end instead of failing with EINTR.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pollfd p{fds[0], POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 100), 0) << std::strerror(errno);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(DirLock, AWaitEndsWhenTheHolderLetsGo) {
  const ScratchDir d;
  const fs::path dir = d / "pki";
  fs::create_directory(dir);
  RawFd writer(dir);
  ASSERT_EQ(::flock(writer.fd, LOCK_EX), 0);
  auto waiting = std::async(std::launch::async, [&] {
    return DirLock::lock_current(dir, LockMode::shared, 20s).has_value();
  });
  ASSERT_TRUE(waiter_appears(inode_of(dir))) << "the reader never waited for the lock";
  const auto released = Clock::now();
  writer.release();
  EXPECT_TRUE(waiting.get());
  EXPECT_LT(Clock::now() - released, 5s);
}

TEST(DirLock, AWaitEndsWhenItsCallerGivesUp) {
  const ScratchDir d;
  const fs::path dir = d / "pki";
  fs::create_directory(dir);
  RawFd writer(dir);
  ASSERT_EQ(::flock(writer.fd, LOCK_EX), 0);
  std::atomic<bool> stop{false};
  auto waiting = std::async(std::launch::async, [&] {
    try {
      (void)DirLock::lock(dir, LockMode::exclusive, 60s, [&] { return stop.load(); });
    } catch (const tlsmatrix::Error& e) {
      return e.code();
    }
    return tlsmatrix::Errc::internal;
  });
  ASSERT_TRUE(waiter_appears(inode_of(dir)));
  const auto asked = Clock::now();
  stop = true; // as Ctrl-C's handler sets the run's flag
  EXPECT_EQ(waiting.get(), tlsmatrix::Errc::interrupted);
  EXPECT_LT(Clock::now() - asked, 2s);
}

TEST(DirLock, TheFlockCliSeesIt) {
  if (!testing_support::have_program("flock"))
    GTEST_SKIP() << "util-linux flock is not installed";
  const ScratchDir d;
  const fs::path dir = d / "pki";
  fs::create_directory(dir);
  {
    const auto shared = DirLock::lock_current(dir, LockMode::shared);
    ASSERT_TRUE(shared);
    EXPECT_EQ(testing_support::run({"flock", "-s", "-n", dir.string(), "true"}).exit_code, 0);
    EXPECT_EQ(testing_support::run({"flock", "-x", "-n", dir.string(), "true"}).exit_code, 1);
  }
  {
    const auto exclusive = DirLock::lock(dir, LockMode::exclusive);
    EXPECT_EQ(testing_support::run({"flock", "-s", "-n", dir.string(), "true"}).exit_code, 1);
  }
  EXPECT_EQ(testing_support::run({"flock", "-x", "-n", dir.string(), "true"}).exit_code, 0);
}

TEST(DirLock, NoDirectoryNoLockAndLockCreatesARoot) {
  const ScratchDir d;
  EXPECT_FALSE(DirLock::lock_current(d / "missing", LockMode::shared).has_value());
  const auto root = DirLock::lock(d / "results" / "deep", LockMode::exclusive);
  EXPECT_TRUE(fs::is_directory(d / "results" / "deep"));
}

// A reader that opened the old tree and waited while a writer swapped a new one in must end up
// holding the new tree, not the one swapped out (which the writer removes).
TEST(DirLock, AfterASwapTheReaderLocksTheNewTree) {
  const ScratchDir d;
  const OldAndNew trees(d);
  const fs::path &dir = trees.dir, &staged = trees.staged;
  RawFd writer(dir);
  ASSERT_EQ(::flock(writer.fd, LOCK_EX), 0);
  const ino_t old_inode = inode_of(dir);
  auto reader = std::async(std::launch::async, [&] {
    auto lock = DirLock::lock_current(dir, LockMode::shared, 20s);
    struct stat held {};
    ::fstat(lock->fd(), &held);
    return held.st_ino;
  });
  ASSERT_TRUE(waiter_appears(old_inode));
  ASSERT_EQ(::renameat2(AT_FDCWD, staged.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE), 0);
  writer.release();
  EXPECT_EQ(reader.get(), inode_of(dir));
  EXPECT_NE(inode_of(dir), old_inode);
  EXPECT_EQ(testing_support::read_text(dir / "f"), "new");
}

TEST(ReplaceDirectory, WaitsForAReaderOfTheOldTree) {
  const ScratchDir d;
  const OldAndNew trees(d);
  const fs::path &dir = trees.dir, &staged = trees.staged;
  auto reader = DirLock::lock_current(dir, LockMode::shared);
  ASSERT_TRUE(reader);
  const ino_t old_inode = inode_of(dir);
  auto writer = std::async(std::launch::async, [&] { common::replace_directory(staged, dir); });
  ASSERT_TRUE(waiter_appears(old_inode)) << "the writer did not wait for the reader";
  // Still the tree the reader locked, whole, under its path.
  EXPECT_EQ(inode_of(dir), old_inode);
  EXPECT_EQ(testing_support::read_text(dir / "f"), "old");
  reader.reset();
  writer.get();
  EXPECT_EQ(testing_support::read_text(dir / "f"), "new");
  EXPECT_FALSE(fs::exists(staged)) << "the old tree was not removed";
}

TEST(ReplaceDirectory, ConcurrentWritersLeaveOneWholeTree) {
  const ScratchDir d;
  const fs::path dir = d / "pki";
  std::vector<std::future<void>> writers;
  for (int w = 0; w < 8; ++w)
    writers.push_back(std::async(std::launch::async, [&, w] {
      common::TempDir staged(dir);
      for (int f = 0; f < 20; ++f)
        testing_support::write_text(staged.path() / std::to_string(f), std::to_string(w));
      common::replace_directory(staged.path(), dir);
      staged.release();
    }));
  for (auto& w : writers)
    w.get();
  const std::string first = testing_support::read_text(dir / "0");
  for (int f = 1; f < 20; ++f)
    EXPECT_EQ(testing_support::read_text(dir / std::to_string(f)), first) << "a mixed tree";
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(d.path()))
    left.push_back(e.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{"pki"});
}

} // namespace
