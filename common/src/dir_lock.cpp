// Directory locks: flock(2) with a deadline, and the re-check a directory replaced by a swap needs.
#include "common/dir_lock.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <utility>

#include "common/error.hpp"

namespace common {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using tlsmatrix::Errc;
using tlsmatrix::Error;

extern "C" void interrupt_only(int) {}

// The signal that ends a lock wait at its deadline. Its handler does nothing and is installed
// without SA_RESTART, so a blocked flock() returns EINTR. It is only ever sent to the thread that
// waits (a timer with SIGEV_THREAD_ID) and is blocked there outside the wait.
int deadline_signal() {
  static const int signal = [] {
    const int s = SIGRTMIN + 1;
    struct sigaction action {};
    action.sa_handler = interrupt_only;
    sigemptyset(&action.sa_mask);
    ::sigaction(s, &action, nullptr);
    return s;
  }();
  return signal;
}

timespec to_timespec(std::chrono::nanoseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d);
  return {static_cast<time_t>(s.count()), static_cast<long>((d - s).count())};
}

std::string seconds(std::chrono::milliseconds wait) {
  return std::to_string((wait.count() + 999) / 1000) + " s";
}

[[noreturn]] void throw_io(const std::string& what, const std::string& path, int err) {
  throw Error(Errc::io, what + " " + path + ": " + std::strerror(err));
}

int open_directory(const fs::path& path) {
  return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

[[noreturn]] void throw_still_locked(const fs::path& path, LockMode mode,
                                     std::chrono::milliseconds wait) {
  throw Error(Errc::unstable_input,
              "waited " + seconds(wait) + " for a" +
                  (mode == LockMode::shared ? " shared" : "n exclusive") + " lock on " +
                  path.string() +
                  ": another tlsmatrix (a run copying it, `pki generate` replacing it, a run "
                  "issuing the default PKI) still holds it");
}

} // namespace

bool lock_with_deadline(int fd, LockMode mode, std::chrono::milliseconds wait,
                        const std::string& what, const std::function<bool()>& give_up) {
  const int op = mode == LockMode::shared ? LOCK_SH : LOCK_EX;
  if (::flock(fd, op | LOCK_NB) == 0)
    return true;
  if (errno != EWOULDBLOCK)
    throw_io("cannot lock", what, errno);
  if (wait <= std::chrono::milliseconds::zero())
    return false;

  // flock() has no timeout: a timer interrupts it, as util-linux `flock -w` does. The timer fires
  // at the deadline and every 10 ms after, so a tick that lands between unblocking the signal and
  // entering flock() is followed by one that interrupts it. A caller that may give up (Ctrl-C)
  // is asked every 100 ms until then.
  const int signal = deadline_signal();
  sigset_t only, previous;
  sigemptyset(&only);
  sigaddset(&only, signal);
  ::pthread_sigmask(SIG_BLOCK, &only, &previous);
  sigevent event{};
  event.sigev_notify = SIGEV_THREAD_ID;
  event.sigev_signo = signal;
  event._sigev_un._tid = ::gettid(); // glibc 2.36 lacks the sigev_notify_thread_id macro
  timer_t timer{};
  if (::timer_create(CLOCK_MONOTONIC, &event, &timer) != 0) {
    const int err = errno;
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw_io("cannot time the lock on", what, err);
  }
  constexpr std::chrono::milliseconds ask_every{100};
  itimerspec when{};
  when.it_value = to_timespec(give_up ? std::min(wait, ask_every) : wait);
  when.it_interval = to_timespec(give_up ? ask_every : std::chrono::milliseconds(10));
  ::timer_settime(timer, 0, &when, nullptr);
  const auto deadline = Clock::now() + wait;
  bool held = false, given_up = false;
  int err = 0;
  for (;;) {
    ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    const int r = ::flock(fd, op);
    err = errno;
    ::pthread_sigmask(SIG_BLOCK, &only, nullptr);
    if (r == 0) {
      held = true;
      break;
    }
    if (err != EINTR || Clock::now() >= deadline)
      break;
    if (give_up && give_up()) {
      given_up = true;
      break;
    }
  }
  ::timer_delete(timer);
  // A tick may still be pending for this thread: take it while it is blocked, so that it cannot
  // interrupt some later call of the caller's.
  const timespec now{};
  while (::sigtimedwait(&only, nullptr, &now) == signal) {
  }
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (given_up)
    throw Error(Errc::interrupted, "interrupted while waiting for the lock on " + what);
  if (!held && err != EINTR)
    throw_io("cannot lock", what, err);
  return held;
}

std::optional<DirLock> DirLock::lock_current(const fs::path& path, LockMode mode,
                                             std::chrono::milliseconds wait,
                                             const std::function<bool()>& give_up) {
  const auto deadline = Clock::now() + wait;
  for (;;) {
    const int fd = open_directory(path);
    if (fd < 0) {
      if (errno == ENOENT)
        return std::nullopt;
      throw_io("cannot open directory", path.string(), errno);
    }
    DirLock lock(fd, path);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (!lock_with_deadline(fd, mode, std::max(left, std::chrono::milliseconds::zero()),
                            path.string(), give_up))
      throw_still_locked(path, mode, wait);
    struct stat held {};
    struct stat named {};
    if (::fstat(fd, &held) != 0)
      throw_io("cannot stat", path.string(), errno);
    if (::stat(path.c_str(), &named) == 0 && named.st_dev == held.st_dev &&
        named.st_ino == held.st_ino)
      return lock;
    // A writer swapped a new tree in between our open() and our lock: lock that one instead.
  }
}

DirLock DirLock::lock(const fs::path& path, LockMode mode, std::chrono::milliseconds wait,
                      const std::function<bool()>& give_up) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    throw Error(Errc::io, "cannot create " + path.string() + ": " + ec.message());
  const int fd = open_directory(path);
  if (fd < 0)
    throw_io("cannot open directory", path.string(), errno);
  DirLock lock(fd, path);
  if (!lock_with_deadline(fd, mode, wait, path.string(), give_up))
    throw_still_locked(path, mode, wait);
  return lock;
}

} // namespace common
