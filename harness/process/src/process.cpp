// Process supervision: Boost.Process v2 launches each child (own group, PDEATHSIG), Asio drives its
// pipes and exit on the case's loop, and a lock-free registry lets a signal handler kill them all.
#include "harness/process/process.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/v2/posix/vfork_launcher.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/stdio.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"

namespace harness {
namespace asio = boost::asio;
namespace bp = boost::process::v2;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using tlsmatrix::Errc;
using tlsmatrix::Error;

namespace {

constexpr auto kill_grace = std::chrono::milliseconds(200);  // SIGTERM → SIGKILL
constexpr auto drain_limit = std::chrono::milliseconds(200); // reading pipes to EOF after exit

std::string error_text(int err) {
  return std::system_category().message(err);
}

// ---- Registry of live process groups: fixed-size, lock-free, readable from a signal handler.

constexpr std::size_t max_groups = 1024;
std::array<std::atomic<pid_t>, max_groups> live_groups{};
static_assert(std::atomic<pid_t>::is_always_lock_free);

std::size_t register_group(pid_t pgid) noexcept {
  for (std::size_t i = 0; i < max_groups; ++i) {
    pid_t expected = 0;
    if (live_groups[i].compare_exchange_strong(expected, pgid))
      return i;
  }
  return max_groups;
}

void unregister_group(std::size_t slot) noexcept {
  if (slot < max_groups)
    live_groups[slot].store(0);
}

// ---- What runs in the child between vfork and exec: async-signal-safe calls only, no allocation,
// nothing that writes the harness's memory (the child borrows it until exec).

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

struct ChildSetup {
  pid_t parent;    // the harness, for the PDEATHSIG race check
  const char* cwd; // nullptr: stay in the harness's cwd

  static bp::error_code last_error() { return {errno, boost::system::system_category()}; }

  template <class Launcher>
  bp::error_code on_exec_setup(Launcher&, const boost::filesystem::path&,
                               const char* const*) const {
    if (::setpgid(0, 0) == -1)
      return last_error();
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
      return last_error();
    // The harness may have died between fork and prctl; then nothing would ever kill us.
    if (::getppid() != parent)
      ::raise(SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr); // worker threads may block signals
    default_signals();
    if (cwd != nullptr && ::chdir(cwd) == -1)
      return last_error();
    mark_fds_cloexec();
    return {};
  }

  // Boost has already sent errno to the parent; leave without running the harness's atexit
  // handlers (Boost would call exit()). Variadic: 1.81 detects this hook with one signature and
  // calls it with another.
  template <class... Args> void on_exec_error(Args&&...) const { ::_exit(127); }
};

// ---- Parent side.

// A pipe whose fds are both close-on-exec and above 2 (so dup2 onto 0..2 in the child is safe).
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

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      struct sigaction ignore {};
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      ::sigaction(SIGPIPE, &ignore, nullptr);
    }
  });
}

// One captured output stream.
struct Stream {
  explicit Stream(asio::io_context& ctx) : pipe(ctx) {}
  asio::readable_pipe pipe;
  std::array<char, 16384> buf{};
  std::string data;
  std::ofstream log;
  bool eof = false;
};

// Everything a running child needs. Shared with the pending Asio handlers, so it lives until the
// last of them has run (or the loop is destroyed), even after its Process is gone.
struct Child {
  explicit Child(asio::io_context& ctx) : out(ctx), err(ctx), in(ctx), exit_watch(ctx) {}
  std::string name;
  pid_t pid = -1; // also the process group id
  std::size_t slot = max_groups;
  Stream out, err;
  asio::writable_pipe in;
  std::string in_flight, in_queue;
  bool in_writing = false, in_close_requested = false, in_closed = false;
  asio::posix::stream_descriptor exit_watch; // our own pidfd: readable once the leader exited
  Clock::time_point started, exited_at;
  bool exited = false, finalized = false, timed_out = false;
  ProcessResult result;

  void mark_exited() {
    if (exited)
      return;
    exited = true;
    exited_at = Clock::now();
  }
};

void read_more(const std::shared_ptr<Child>& child, Stream& stream);

void on_read(const std::shared_ptr<Child>& child, Stream& stream,
             const boost::system::error_code& ec, std::size_t n) {
  if (n > 0) {
    stream.data.append(stream.buf.data(), n);
    if (stream.log.is_open()) {
      stream.log.write(stream.buf.data(), static_cast<std::streamsize>(n));
      stream.log.flush();
    }
  }
  if (ec) { // EOF, or the pipe was closed by finalize()
    stream.eof = true;
    return;
  }
  read_more(child, stream);
}

// The handler holds the Child, so the buffer and stream outlive any pending read.
void read_more(const std::shared_ptr<Child>& child, Stream& stream) {
  stream.pipe.async_read_some(asio::buffer(stream.buf),
                              [child, &stream](const boost::system::error_code& ec, std::size_t n) {
                                on_read(child, stream, ec, n);
                              });
}

void close_stdin(Child& child) {
  child.in_closed = true;
  child.in_queue.clear();
  boost::system::error_code ignored;
  child.in.close(ignored);
}

void pump_stdin(const std::shared_ptr<Child>& child) {
  if (child->in_writing || child->in_closed)
    return;
  if (child->in_queue.empty()) {
    if (child->in_close_requested)
      close_stdin(*child);
    return;
  }
  child->in_flight.swap(child->in_queue);
  child->in_queue.clear();
  child->in_writing = true;
  asio::async_write(child->in, asio::buffer(child->in_flight),
                    [child](const boost::system::error_code& ec, std::size_t) {
                      child->in_writing = false;
                      child->in_flight.clear();
                      if (ec) { // EPIPE: the child closed stdin or exited; drop the rest
                        if (!child->in_closed)
                          close_stdin(*child);
                        return;
                      }
                      pump_stdin(child);
                    });
}

// 127.0.0.1 as a network-order address (INADDR_LOOPBACK is an old-style cast).
in_addr_t loopback_address() {
  return htonl(0x7f000001U);
}

// NLMSG_HDRLEN, spelt without its old-style cast.
constexpr std::size_t netlink_header_length = (sizeof(nlmsghdr) + 3U) & ~std::size_t{3};

// Sends a sock_diag request about the TCP sockets of `family` whose local port is `port`, in
// `states`: one looked up (its local address `source`) or, with NLM_F_DUMP in `flags`, every one
// (the kernel filters listeners by port). False when the kernel does not take it.
bool send_diag_request(int fd, int family, std::uint16_t port, std::uint32_t states,
                       std::uint16_t flags, in_addr_t source = 0) {
  struct Request {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = flags;
  request.body.sdiag_family = static_cast<std::uint8_t>(family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = states;
  request.body.id.idiag_src[0] = source;
  request.body.id.idiag_sport = htons(port);
  request.body.id.idiag_cookie[0] = request.body.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  return ::sendto(fd, &request, sizeof request, 0, reinterpret_cast<const sockaddr*>(&kernel),
                  sizeof kernel) == static_cast<ssize_t>(sizeof request);
}

// Asks the kernel (sock_diag, one socket looked up, not a dump) whether a TCP SYN to
// 127.0.0.1:port would find a listener: the lookup incoming connections use, so 0.0.0.0 and
// dual-stack [::] listeners count. Nothing connects, so no accept is used up; it costs a few
// microseconds where /proc/net/tcp walks the whole connection table (milliseconds).
// nullopt when sock_diag is unavailable.
std::optional<bool> loopback_listener(std::uint16_t port) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd == -1)
    return std::nullopt;
  const common::Fd guard(fd);
  // The local end the listener must accept.
  if (!send_diag_request(fd, AF_INET, port, ~0U, NLM_F_REQUEST, loopback_address()))
    return std::nullopt;
  alignas(nlmsghdr) std::array<char, 4096> reply{};
  const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
  if (n < static_cast<ssize_t>(netlink_header_length))
    return std::nullopt;
  nlmsghdr header{};
  std::memcpy(&header, reply.data(), sizeof header);
  const char* payload = reply.data() + netlink_header_length;
  const auto payload_size = static_cast<std::size_t>(n) - netlink_header_length;
  if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY && payload_size >= sizeof(inet_diag_msg)) {
    inet_diag_msg found{};
    std::memcpy(&found, payload, sizeof found);
    return found.idiag_state == TCP_LISTEN;
  }
  if (header.nlmsg_type == NLMSG_ERROR && payload_size >= sizeof(nlmsgerr)) {
    nlmsgerr error{};
    std::memcpy(&error, payload, sizeof error);
    if (error.error == -ENOENT)
      return false; // no such socket: nobody listens there
  }
  return std::nullopt;
}

// The inodes of the TCP sockets listening on `port` (any address, IPv4 and IPv6): a sock_diag dump
// of listening sockets only, which the kernel filters by port. nullopt when sock_diag is missing.
std::optional<std::vector<std::uint64_t>> listener_inodes(std::uint16_t port) {
  const int fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd == -1)
    return std::nullopt;
  const common::Fd guard(fd);
  std::vector<std::uint64_t> inodes;
  for (const int family : {AF_INET, AF_INET6}) {
    if (!send_diag_request(fd, family, port, 1U << TCP_LISTEN, NLM_F_REQUEST | NLM_F_DUMP))
      return std::nullopt;
    for (bool done = false; !done;) {
      alignas(nlmsghdr) std::array<char, 16384> reply{};
      const ssize_t n = ::recv(fd, reply.data(), reply.size(), 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return std::nullopt;
      const auto size = static_cast<std::size_t>(n);
      for (std::size_t at = 0; at + sizeof(nlmsghdr) <= size;) {
        nlmsghdr header{};
        std::memcpy(&header, reply.data() + at, sizeof header);
        if (header.nlmsg_len < sizeof header || at + header.nlmsg_len > size ||
            header.nlmsg_type == NLMSG_ERROR)
          return std::nullopt;
        if (header.nlmsg_type == NLMSG_DONE) {
          done = true;
          break;
        }
        if (header.nlmsg_type == SOCK_DIAG_BY_FAMILY &&
            header.nlmsg_len >= netlink_header_length + sizeof(inet_diag_msg)) {
          inet_diag_msg found{};
          std::memcpy(&found, reply.data() + at + netlink_header_length, sizeof found);
          if (found.idiag_state == TCP_LISTEN && ntohs(found.id.idiag_sport) == port)
            inodes.push_back(found.idiag_inode);
        }
        at += (header.nlmsg_len + 3U) & ~std::uint32_t{3}; // NLMSG_ALIGN
      }
    }
  }
  return inodes;
}

// Adds the inodes of the sockets process `pid` holds open; false when its fds cannot be read.
bool add_socket_inodes(pid_t pid, std::vector<std::uint64_t>& out) {
  std::error_code ec;
  const fs::path dir = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string target = fs::read_symlink(entry.path(), ec).string();
    if (!ec && target.starts_with("socket:["))
      out.push_back(std::strtoull(target.c_str() + 8, nullptr, 10));
  }
  return !ec;
}

// The processes of process group `pgid` besides its leader (children a leader forked).
std::vector<pid_t> group_followers(pid_t pgid) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    std::getline(stat, text);
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so from the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    char state = 0;
    long ppid = 0, pgrp = 0;
    if (std::sscanf(text.c_str() + close + 1, " %c %ld %ld", &state, &ppid, &pgrp) == 3 &&
        pgrp == pgid && std::stol(name) != pgid)
      out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

enum class PortHolder { none, group, other };

// Who listens on `port`: nobody, only processes of group `pgid` (a child and what it forked), or
// some other process as well (another run's server, say, on a port both picked). nullopt when the
// kernel cannot be asked (no sock_diag, /proc unreadable).
std::optional<PortHolder> port_holder(std::uint16_t port, pid_t pgid) {
  const auto listeners = listener_inodes(port);
  if (!listeners)
    return std::nullopt;
  if (listeners->empty())
    return PortHolder::none;
  std::vector<std::uint64_t> ours;
  if (!add_socket_inodes(pgid, ours))
    return std::nullopt;
  auto all_ours = [&] {
    return std::all_of(listeners->begin(), listeners->end(), [&](std::uint64_t inode) {
      return std::find(ours.begin(), ours.end(), inode) != ours.end();
    });
  };
  if (!all_ours())
    for (const pid_t pid : group_followers(pgid))
      add_socket_inodes(pid, ours);
  return all_ours() ? PortHolder::group : PortHolder::other;
}

} // namespace

// ---- EventLoop

struct EventLoop::Impl {
  asio::io_context ctx{1};

  // Runs handlers until done() or the deadline. Returns done(); returns early when nothing is
  // left that could ever make it true (no pending operation).
  template <class Done> bool run_until(Done&& done, Clock::time_point deadline) {
    while (!done()) {
      if (ctx.stopped())
        ctx.restart();
      if (Clock::now() >= deadline)
        return false;
      if (ctx.run_one_until(deadline) == 0 && ctx.stopped())
        return done();
    }
    return true;
  }

  void poll() {
    if (ctx.stopped())
      ctx.restart();
    ctx.poll();
  }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
  ignore_sigpipe_once();
}
EventLoop::~EventLoop() = default;
void EventLoop::poll() {
  impl_->poll();
}

// ---- Process

struct Process::Impl {
  explicit Impl(EventLoop::Impl& l) : loop(l) {}
  EventLoop::Impl& loop;
  std::shared_ptr<Child> child;
  bool port_taken = false; // the last wait_ready found another process on its port
};

namespace {

// The leader has exited or is about to die of SIGKILL. Kills what is left of its group while the
// unreaped leader still pins the group id (so it cannot name a newer group), then reaps it, reads
// the pipes to their end (drain) and records the result.
void finalize(EventLoop::Impl& loop, Child& child, bool drain) {
  if (child.finalized)
    return;
  ::kill(-child.pid, SIGKILL);
  unregister_group(child.slot);
  child.slot = max_groups;
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = ::waitpid(child.pid, &status, 0);
  } while (reaped == -1 && errno == EINTR);
  child.mark_exited();
  child.finalized = true;
  boost::system::error_code ignored;
  child.exit_watch.close(ignored);
  if (drain)
    loop.run_until([&] { return child.out.eof && child.err.eof; }, Clock::now() + drain_limit);
  child.out.pipe.close(ignored);
  child.err.pipe.close(ignored);
  child.out.eof = child.err.eof = true;
  if (!child.in_closed)
    close_stdin(child);

  ProcessResult& result = child.result;
  if (reaped == child.pid) {
    if (WIFEXITED(status))
      result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status))
      result.signal = WTERMSIG(status);
  }
  result.timed_out = child.timed_out;
  result.out = child.out.data;
  result.err = child.err.data;
  result.elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(child.exited_at - child.started);
  if (child.out.log.is_open())
    child.out.log.close();
  if (child.err.log.is_open())
    child.err.log.close();
}

// SIGTERM to the group, a grace period driven by the loop (the exit is an event), then SIGKILL.
void terminate_group(EventLoop::Impl& loop, Child& child) {
  ::kill(-child.pid, SIGTERM);
  if (!loop.run_until([&] { return child.exited; }, Clock::now() + kill_grace))
    ::kill(-child.pid, SIGKILL);
}

void open_log(std::ofstream& log, const fs::path& path) {
  if (path.empty())
    return;
  log.open(path, std::ios::binary | std::ios::trunc);
  if (!log)
    throw Error(Errc::io, "cannot write log file " + path.string());
}

} // namespace

Process::Process(EventLoop& loop, const ProcessSpec& spec)
    : impl_(std::make_unique<Impl>(loop.impl())) {
  asio::io_context& ctx = loop.impl().ctx;
  if (spec.argv.empty())
    throw Error(Errc::invalid_input, "process: empty argv");
  const std::string& name = spec.argv[0];
  const auto program = find_program(name);
  if (!program)
    throw Error(Errc::peer, "cannot start '" + name + "': " +
                                (name.find('/') == std::string::npos ? "not found on PATH"
                                                                     : "no such executable file"));

  auto child = std::make_shared<Child>(ctx);
  child->name = name;
  open_log(child->out.log, spec.stdout_log);
  open_log(child->err.log, spec.stderr_log);

  // Everything the child needs is built here: after fork it may not allocate.
  const std::vector<std::string> env = build_environment(spec.env);
  std::vector<const char*> envp;
  for (const auto& e : env)
    envp.push_back(e.c_str());
  envp.push_back(nullptr);
  std::vector<const char*> argv;
  for (const auto& a : spec.argv)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const std::string cwd = spec.cwd.empty() ? std::string() : spec.cwd.string();

  const auto in_pipe = make_pipe(name);
  common::Fd child_in(in_pipe[0]);
  child->in.assign(in_pipe[1]);
  const auto out_pipe = make_pipe(name);
  common::Fd child_out(out_pipe[1]);
  child->out.pipe.assign(out_pipe[0]);
  const auto err_pipe = make_pipe(name);
  common::Fd child_err(err_pipe[1]);
  child->err.pipe.assign(err_pipe[0]);

  // vfork, not fork: fork copies the harness's page tables (its cost grows with the results a
  // long run holds, ~4 ms per start at 80 MB) and then every page the harness writes faults once
  // more in every thread; vfork borrows the address space until exec, ~0.5 ms whatever the size.
  // The launcher tells its executor's context about the fork from inside the child, which under
  // vfork runs in our memory: a context of its own with no I/O object yet (no reactor to
  // re-create) keeps the case's event loop out of it.
  asio::io_context launch_context(1);
  bp::posix::vfork_launcher launcher;
  launcher.env = envp.data();
  const ChildSetup setup{::getpid(), cwd.empty() ? nullptr : cwd.c_str()};
  const char** args = argv.data(); // passed as is: argv[0] stays what the caller wrote
  boost::system::error_code ec;
  child->started = Clock::now();
  auto proc =
      launcher(launch_context.get_executor(), ec, boost::filesystem::path(program->string()), args,
               bp::process_stdio{child_in.get(), child_out.get(), child_err.get()}, setup);
  if (ec) {
    if (launcher.pid > 0) { // forked, exec failed: the child is a zombie of ours
      while (::waitpid(launcher.pid, nullptr, 0) == -1 && errno == EINTR) {
      }
    }
    throw Error(Errc::peer,
                "cannot start '" + name + "' (" + program->string() + "): " + ec.message());
  }
  child->pid = proc.id();
  child->slot = register_group(child->pid);
  // We watch our own pidfd and reap the child ourselves: Boost's handle reaps as soon as it sees
  // the exit (too early to kill the rest of the group safely) and its destructor would waitpid()
  // a pid that may since belong to another thread's child.
  proc.detach();
  child_in.reset();
  child_out.reset();
  child_err.reset();

  try { // from here on, a failure must not leave the child running
    if (child->slot == max_groups)
      throw Error(Errc::peer, "cannot start '" + name + "': more than 1024 live processes");
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child->pid, 0));
    if (pidfd == -1)
      throw Error(Errc::peer, "cannot watch '" + name + "': pidfd_open: " + error_text(errno));
    child->exit_watch.assign(pidfd);
    child->exit_watch.async_wait(asio::posix::descriptor_base::wait_read,
                                 [child](const boost::system::error_code& e) {
                                   if (!e)
                                     child->mark_exited();
                                 });
    read_more(child, child->out);
    read_more(child, child->err);
    child->in_queue = spec.stdin_data;
    child->in_close_requested = !spec.keep_stdin_open;
    pump_stdin(child);
  } catch (...) {
    ::kill(-child->pid, SIGKILL);
    finalize(loop.impl(), *child, false);
    throw;
  }
  impl_->child = std::move(child);
}

Process::~Process() {
  if (!impl_ || !impl_->child)
    return;
  try {
    Child& child = *impl_->child;
    if (!child.finalized) {
      if (!child.exited)
        ::kill(-child.pid, SIGKILL);
      finalize(impl_->loop, child, false);
    }
  } catch (...) { // NOLINT(bugprone-empty-catch): a destructor must not throw; the group is dead
  }
}

bool Process::wait_ready(const Readiness& readiness) {
  Child& child = *impl_->child;
  EventLoop::Impl& loop = impl_->loop;
  const auto deadline = Clock::now() + readiness.deadline;
  impl_->port_taken = false;

  // Nothing announces a listening socket: probe at short intervals (1, 2, 2 … ms, but at least
  // ten times what a probe costs), running the loop between probes so an exit ends the wait at
  // once and other pipes keep draining. The listener must be the child's: a server whose bind
  // failed must not pass for ready because another process (another run) listens on its port.
  // Where the kernel cannot say whose it is, any listener counts (without sock_diag, one that
  // accepts a connection).
  auto listening = [&](std::uint16_t port) {
    Clock::duration step = std::chrono::milliseconds(1);
    for (;;) {
      if (child.exited)
        return false;
      const auto probe_start = Clock::now();
      if (const auto holder = port_holder(port, child.pid)) {
        if (*holder == PortHolder::group)
          return true;
        if (*holder == PortHolder::other) {
          impl_->port_taken = true;
          return false;
        }
      } else if (const auto any = loopback_listener(port); any ? *any : port_accepts(port)) {
        return true;
      }
      const auto now = Clock::now();
      if (now >= deadline)
        return false;
      loop.run_until([&] { return child.exited; }, std::min(now + step, deadline));
      step = std::max<Clock::duration>(
          std::min<Clock::duration>(step * 2, std::chrono::milliseconds(2)),
          10 * (now - probe_start));
    }
  };

  if (readiness.kind == Readiness::Kind::port) {
    if (readiness.port == 0)
      throw Error(Errc::invalid_input, "wait_ready: port 0");
    return listening(readiness.port);
  }

  if (readiness.marker.empty())
    throw Error(Errc::invalid_input, "wait_ready: empty marker");
  const Stream& stream = readiness.kind == Readiness::Kind::stdout_marker ? child.out : child.err;
  const std::string& marker = readiness.marker;
  std::size_t scanned = 0;
  bool found = false;
  auto seen = [&] { // scans only what is new, plus an overlap for a marker split across reads
    if (!found) {
      const std::size_t from = scanned >= marker.size() ? scanned - marker.size() + 1 : 0;
      found = stream.data.find(marker, from) != std::string::npos;
      scanned = stream.data.size();
    }
    return found;
  };
  loop.run_until([&] { return seen() || child.exited; }, deadline);
  if (!found && child.exited) // what it printed just before exiting may still be in the pipe
    loop.run_until([&] { return seen() || stream.eof; },
                   std::min(deadline, Clock::now() + drain_limit));
  if (!seen())
    return false;
  // A marker says the server is up, not whose socket a client will reach.
  return readiness.port == 0 || listening(readiness.port);
}

bool Process::port_taken() const {
  return impl_->port_taken;
}

bool Process::wait_output(
    const std::function<bool(const std::string& out, const std::string& err)>& done,
    std::chrono::milliseconds deadline) {
  Child& child = *impl_->child;
  EventLoop::Impl& loop = impl_->loop;
  const auto until = Clock::now() + deadline;
  auto holds = [&] { return done(child.out.data, child.err.data); };
  loop.run_until([&] { return holds() || child.exited; }, until);
  if (child.exited && !holds()) // what it printed just before exiting may still be in the pipes
    loop.run_until([&] { return holds() || (child.out.eof && child.err.eof); },
                   std::min(until, Clock::now() + drain_limit));
  return holds();
}

ProcessResult Process::wait(std::chrono::milliseconds deadline) {
  Child& child = *impl_->child;
  EventLoop::Impl& loop = impl_->loop;
  if (!child.finalized) {
    loop.run_until([&] { return child.exited; }, Clock::now() + deadline);
    if (!child.exited) {
      child.timed_out = true;
      terminate_group(loop, child);
    }
    finalize(loop, child, true);
  }
  return child.result;
}

ProcessResult Process::stop() {
  Child& child = *impl_->child;
  EventLoop::Impl& loop = impl_->loop;
  if (!child.finalized) {
    if (!child.exited)
      terminate_group(loop, child);
    finalize(loop, child, true);
  }
  return child.result;
}

void Process::write_stdin(const std::string& data, bool close) {
  const std::shared_ptr<Child>& child = impl_->child;
  if (child->in_closed || child->in_close_requested)
    throw Error(Errc::internal, "stdin of '" + child->name + "' is already closed");
  child->in_queue += data;
  child->in_close_requested = close;
  pump_stdin(child);
}

bool Process::running() {
  Child& child = *impl_->child;
  if (child.exited)
    return false;
  impl_->loop.poll();
  if (child.exited)
    return false;
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(child.pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
      info.si_pid == child.pid)
    child.mark_exited(); // not reaped: finalize() still kills the rest of the group first
  return !child.exited;
}

int Process::pid() const {
  return impl_->child->pid;
}
std::string Process::out_so_far() const {
  return impl_->child->out.data;
}
std::string Process::err_so_far() const {
  return impl_->child->err.data;
}

// ---- Free functions

std::optional<fs::path> find_program(const std::string& name) {
  if (name.empty())
    return std::nullopt;
  auto usable = [](const fs::path& path) {
    std::error_code ec;
    return fs::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
  };
  std::error_code ec;
  if (name.find('/') != std::string::npos) {
    fs::path path = fs::absolute(name, ec);
    if (ec || !usable(path))
      return std::nullopt;
    return path;
  }
  const char* env_path = std::getenv("PATH");
  const std::string_view search = env_path != nullptr ? env_path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = std::min(search.find(':', begin), search.size());
    const std::string_view dir = search.substr(begin, end - begin);
    fs::path candidate = fs::absolute(fs::path(dir.empty() ? "." : dir) / name, ec);
    if (!ec && usable(candidate))
      return candidate;
    if (end == search.size())
      return std::nullopt;
    begin = end + 1;
  }
}

void kill_all_children() noexcept {
  const int saved_errno = errno;
  for (auto& slot : live_groups) {
    const pid_t pgid = slot.load();
    if (pgid > 0)
      ::kill(-pgid, SIGKILL);
  }
  errno = saved_errno;
}

std::size_t live_child_groups() noexcept {
  return static_cast<std::size_t>(std::count_if(live_groups.begin(), live_groups.end(),
                                                [](const auto& slot) { return slot.load() > 0; }));
}

std::uint16_t pick_free_port() {
  // The kernel may hand the same ephemeral port to two threads once the first has released it;
  // remembering recent answers keeps parallel cases on different ports.
  static std::mutex mutex;
  static std::array<std::uint16_t, 64> recent{};
  static std::size_t next = 0;
  for (int attempt = 0; attempt < 32; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
      throw Error(Errc::io, "pick_free_port: socket: " + error_text(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = loopback_address();
    socklen_t length = sizeof address;
    const bool ok = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
    const int err = errno;
    ::close(fd);
    if (!ok)
      throw Error(Errc::io, "pick_free_port: bind 127.0.0.1:0: " + error_text(err));
    const std::uint16_t port = ntohs(address.sin_port);
    const std::lock_guard lock(mutex);
    if (std::find(recent.begin(), recent.end(), port) != recent.end())
      continue;
    recent[next++ % recent.size()] = port;
    return port;
  }
  throw Error(Errc::io, "pick_free_port: the kernel keeps returning recently used ports");
}

bool port_accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = loopback_address();
  address.sin_port = htons(port);
  bool accepted = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  if (!accepted && errno == EINPROGRESS) {
    pollfd watch{fd, POLLOUT, 0};
    int error = 0;
    socklen_t length = sizeof error;
    accepted = ::poll(&watch, 1, 1000) == 1 &&
               ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
  }
  ::close(fd);
  return accepted;
}

} // namespace harness
