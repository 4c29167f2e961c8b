// The child's side of a start (between vfork and exec), and the pipes and environment the parent
// prepares for it beforehand (after vfork the child may not allocate).
#include "child_setup.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <string_view>
#include <system_error>

#include "common/error.hpp"

namespace harness::child {
namespace {

using tlsmatrix::Errc;
using tlsmatrix::Error;

std::string error_text(int err) {
  return std::system_category().message(err);
}

// Boost.Process 1.81's close_all() leaves the fds between 2 and its own error pipe open (it
// compares each whitelist entry with itself), and Asio creates pipes without O_CLOEXEC. Marking
// every fd above 2 close-on-exec keeps other cases' pipes and sockets out of this child while the
// launcher's error pipe still reports a failed exec.
void mark_fds_cloexec() noexcept {
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  rlimit limit{};
  const rlim_t last =
      ::getrlimit(RLIMIT_NOFILE, &limit) == 0 ? std::min<rlim_t>(limit.rlim_cur, 65536) : 1024;
  for (int fd = 3; static_cast<rlim_t>(fd) < last; ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags != -1)
      ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

// Like POSIX_SPAWN_SETSIGDEF for every signal: an ignored disposition survives exec, and the
// harness ignores SIGPIPE (and may ignore others); peers must start with the defaults.
void default_signals() noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP)
      ::sigaction(sig, &action, nullptr); // EINVAL for the libc-reserved ones: harmless
}

} // namespace

int setup_child(pid_t parent, const char* cwd) noexcept {
  if (::setpgid(0, 0) == -1)
    return errno;
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
    return errno;
  // The harness may have died between fork and prctl; then nothing would ever kill us.
  if (::getppid() != parent)
    ::raise(SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr); // worker threads may block signals
  default_signals();
  if (cwd != nullptr && ::chdir(cwd) == -1)
    return errno;
  mark_fds_cloexec();
  return 0;
}

std::array<int, 2> make_pipe(const std::string& program) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) == -1)
    throw Error(Errc::peer, "cannot start '" + program + "': pipe: " + error_text(errno));
  for (int& fd : fds) {
    if (fd > 2)
      continue;
    const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    ::close(fd);
    fd = moved;
  }
  if (fds[0] == -1 || fds[1] == -1) {
    for (int fd : fds)
      if (fd != -1)
        ::close(fd);
    throw Error(Errc::peer, "cannot start '" + program + "': pipe: " + error_text(errno));
  }
  return {fds[0], fds[1]};
}

std::vector<std::string>
build_environment(const std::vector<std::pair<std::string, std::string>>& overrides) {
  for (const auto& [key, value] : overrides)
    if (key.empty() || key.find('=') != std::string::npos)
      throw Error(Errc::invalid_input, "process environment: invalid variable name '" + key + "'");
  auto overridden = [&](std::string_view key) {
    return std::any_of(overrides.begin(), overrides.end(),
                       [&](const auto& kv) { return kv.first == key; });
  };
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    if (!overridden(text.substr(0, text.find('='))))
      env.emplace_back(text);
  }
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const bool later =
        std::any_of(overrides.begin() + static_cast<std::ptrdiff_t>(i) + 1, overrides.end(),
                    [&](const auto& kv) { return kv.first == overrides[i].first; });
    if (!later)
      env.push_back(overrides[i].first + "=" + overrides[i].second); // last one wins
  }
  return env;
}

} // namespace harness::child
