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

#include "child_setup.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "harness/process/child_groups.hpp"
#include "harness/process/ports.hpp"

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

struct ChildSetup {
  pid_t parent;    // the harness, for the PDEATHSIG race check
  const char* cwd; // nullptr: stay in the harness's cwd

  template <class Launcher>
  bp::error_code on_exec_setup(Launcher&, const boost::filesystem::path&,
                               const char* const*) const {
    if (const int err = child::setup_child(parent, cwd); err != 0)
      return {err, boost::system::system_category()};
    return {};
  }

  // Boost has already sent errno to the parent; leave without running the harness's atexit
  // handlers (Boost would call exit()). Variadic: 1.81 detects this hook with one signature and
  // calls it with another.
  template <class... Args> void on_exec_error(Args&&...) const { ::_exit(127); }
};

// ---- Parent side.

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
  std::size_t slot = max_child_groups;
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
  child.slot = max_child_groups;
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
  const std::vector<std::string> env = child::build_environment(spec.env);
  std::vector<const char*> envp;
  for (const auto& e : env)
    envp.push_back(e.c_str());
  envp.push_back(nullptr);
  std::vector<const char*> argv;
  for (const auto& a : spec.argv)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  const std::string cwd = spec.cwd.empty() ? std::string() : spec.cwd.string();

  const auto in_pipe = child::make_pipe(name);
  common::Fd child_in(in_pipe[0]);
  child->in.assign(in_pipe[1]);
  const auto out_pipe = child::make_pipe(name);
  common::Fd child_out(out_pipe[1]);
  child->out.pipe.assign(out_pipe[0]);
  const auto err_pipe = child::make_pipe(name);
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
    if (child->slot == max_child_groups)
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

} // namespace harness
