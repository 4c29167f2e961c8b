// Pooled servers: one process per distinct server configuration, serving many cases, each case
// reading exactly the lines its own connection got ("@<source port> …" up to "@<port> END").
#include "harness/peers/server_pool.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <fstream>
#include <optional>
#include <string_view>
#include <thread>

#include "common/error.hpp"
#include "harness/process/ports.hpp"
#include "harness/process/shell.hpp"

namespace harness {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using tlsmatrix::Errc;
using tlsmatrix::Error;

namespace {

std::string tail(const std::string& text, std::size_t n = 1500) {
  return text.size() > n ? "…" + text.substr(text.size() - n) : text;
}

std::string describe_exit(const ProcessResult& r) {
  if (r.exit_code)
    return "exited with code " + std::to_string(*r.exit_code);
  if (r.signal)
    return "was killed by signal " + std::to_string(*r.signal);
  return "ended";
}

} // namespace

// One pooled process. Its own thread starts it (PR_SET_PDEATHSIG follows the forking thread, and
// a Process belongs to the thread that made it), reads its stdout and files every "@<port> …"
// line under that connection, and stops it when asked. Everything else is under `mutex`.
class PooledServer {
public:
  enum class State { starting, ready, dead };

  PooledServer(ManyServerSpec spec, fs::path base, std::chrono::milliseconds ready_deadline)
      : spec_(std::move(spec)), base_(std::move(base)), ready_deadline_(ready_deadline) {
    keylog = base_;
    keylog += ".keylog";
    thread_ = std::thread([this] { run(); });
  }
  ~PooledServer() {
    request_stop();
    if (thread_.joinable())
      thread_.join();
  }
  PooledServer(const PooledServer&) = delete;
  PooledServer& operator=(const PooledServer&) = delete;

  void request_stop() { stop_ = true; }

  struct Connection {
    std::string text; // its lines, prefix stripped
    bool ended = false;
  };

  std::mutex mutex;
  std::condition_variable changed;
  State state = State::starting;
  std::string failure;                    // why it is dead
  std::optional<SideObservation> refusal; // it refused its own configuration at start
  std::string refused_out, refused_err;   // its words then
  bool retired = false;   // a connection hung: no new cases; stopped once its users are done
  unsigned users = 0;     // cases holding it
  std::uint16_t port = 0; // once ready
  std::string command;    // once started
  std::string ready_line; // what the one-connection server would have printed first
  fs::path keylog;
  std::map<std::uint16_t, Connection> connections; // by the client's source port

private:
  void fail(const std::string& why) {
    {
      std::lock_guard lock(mutex);
      state = State::dead;
      failure = why;
    }
    changed.notify_all();
  }

  // Files the complete lines of out[consumed_…] under their connections.
  void dispatch(const std::string& out) {
    bool any = false;
    std::unique_lock lock(mutex, std::defer_lock);
    for (auto nl = out.find('\n', consumed_); nl != std::string::npos;
         nl = out.find('\n', consumed_)) {
      const std::string_view line(out.data() + consumed_, nl - consumed_);
      consumed_ = nl + 1;
      if (line.size() < 2 || line.front() != '@')
        continue; // READY, or not about a connection
      const auto space = line.find(' ');
      const std::string_view number =
          line.substr(1, space == std::string_view::npos ? line.npos : space - 1);
      std::uint16_t source = 0;
      const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), source);
      if (ec != std::errc() || end != number.data() + number.size())
        continue;
      const std::string_view rest =
          space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
      if (!lock.owns_lock())
        lock.lock();
      Connection& c = connections[source];
      if (rest == "END") {
        c.ended = true;
      } else {
        c.text.append(rest);
        c.text += '\n';
      }
      any = true;
    }
    if (lock.owns_lock())
      lock.unlock();
    if (any)
      changed.notify_all();
  }

  void run() {
    try {
      EventLoop loop;
      std::unique_ptr<Process> process;
      std::string last_output;
      for (int attempt = 0; attempt < 3 && !process; ++attempt) {
        const std::uint16_t p = pick_free_port();
        ProcessSpec ps = spec_.command(p, keylog);
        ps.stdout_log = fs::path(base_.string() + ".out");
        ps.stderr_log = fs::path(base_.string() + ".err");
        {
          std::lock_guard lock(mutex);
          command = shell_join(ps.argv);
        }
        auto started = std::make_unique<Process>(loop, ps);
        Readiness ready;
        ready.kind = Readiness::Kind::stdout_marker;
        ready.marker = spec_.ready_marker(p);
        ready.port = p; // the listener must be this server's
        ready.deadline = ready_deadline_;
        if (started->wait_ready(ready)) {
          std::lock_guard lock(mutex);
          port = p;
          ready_line = ready.marker + "\n";
          process = std::move(started);
          break;
        }
        const bool taken = started->port_taken();
        const ProcessResult r = started->stop();
        last_output = r.out + r.err;
        // A port taken between pick_free_port() and bind() (by another case, or another run):
        // try another.
        if (taken ||
            (!spec_.port_busy.empty() && last_output.find(spec_.port_busy) != std::string::npos))
          continue;
        if (SideObservation o = spec_.classify(r); o.outcome == Outcome::refused) {
          o.peer = spec_.peer;
          std::lock_guard lock(mutex);
          refusal = std::move(o);
          refused_out = r.out;
          refused_err = r.err;
        }
        fail("pooled " + spec_.peer + " server did not become ready" +
             (r.timed_out ? " within its deadline" : " (it " + describe_exit(r) + ")") + ": " +
             (last_output.empty() ? "it printed nothing" : tail(last_output)) +
             "\ncommand: " + shell_join(ps.argv));
        return;
      }
      if (!process) {
        fail("pooled " + spec_.peer +
             " server: no free port after 3 attempts: " + tail(last_output));
        return;
      }
      {
        std::lock_guard lock(mutex);
        state = State::ready;
      }
      changed.notify_all();
      // The predicate sees the output as it arrives: lines are filed at once, without copies.
      // The 50 ms bound is only how soon a stop request is noticed.
      while (!stop_) {
        (void)process->wait_output(
            [this](const std::string& out, const std::string&) {
              dispatch(out);
              return stop_.load();
            },
            std::chrono::milliseconds(50));
        if (!process->running()) {
          const ProcessResult r = process->stop();
          dispatch(r.out);
          fail("pooled " + spec_.peer + " server " + describe_exit(r) + " (" + command + ")" +
               (r.err.empty() ? std::string() : ": " + tail(r.err)));
          return;
        }
      }
      (void)process->stop();
      fail("pooled " + spec_.peer + " server was stopped at the end of the run");
    } catch (const std::exception& e) {
      fail("pooled " + spec_.peer + " server: " + e.what());
    }
  }

  ManyServerSpec spec_;
  fs::path base_;
  std::chrono::milliseconds ready_deadline_;
  std::atomic<bool> stop_{false};
  std::size_t consumed_ = 0; // of stdout, by the thread
  std::thread thread_;
};

PooledServerRun::PooledServerRun(std::shared_ptr<PooledServer> server, ManyServerSpec spec,
                                 fs::path log)
    : server_(std::move(server)), spec_(std::move(spec)), log_(std::move(log)),
      started_(Clock::now()) {}

PooledServerRun::~PooledServerRun() {
  bool stop = false;
  {
    std::lock_guard lock(server_->mutex);
    if (source_)
      server_->connections.erase(*source_);
    --server_->users;
    stop = server_->retired && server_->users == 0;
  }
  if (stop)
    server_->request_stop();
}

std::uint16_t PooledServerRun::port() const {
  std::lock_guard lock(server_->mutex);
  return server_->port;
}

std::string PooledServerRun::command_line() const {
  return spec_.reproduce(port());
}

fs::path PooledServerRun::keylog() const {
  return server_->keylog;
}

void PooledServerRun::upstream(std::uint16_t source_port) {
  {
    std::lock_guard lock(server_->mutex);
    source_ = source_port;
  }
  server_->changed.notify_all();
}

void PooledServerRun::write_log(const std::string& text) const {
  if (log_.empty())
    return;
  std::ofstream out(log_, std::ios::binary | std::ios::trunc);
  out << text; // best effort: the log is for people, the observation is already made
}

SideObservation PooledServerRun::finish(std::chrono::milliseconds deadline) {
  PooledServer& s = *server_;
  std::unique_lock lock(s.mutex);
  auto ended = [&] {
    if (!source_)
      return false;
    auto it = s.connections.find(*source_);
    return it != s.connections.end() && it->second.ended;
  };
  s.changed.wait_for(lock, deadline,
                     [&] { return ended() || s.state == PooledServer::State::dead; });
  ProcessResult r;
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started_);
  // What the one-connection server would have printed: its READY line, then the connection's.
  r.out = s.ready_line;
  std::string lines;
  if (source_)
    if (auto it = s.connections.find(*source_); it != s.connections.end())
      lines = it->second.text;
  if (ended()) {
    r.out += lines;
    s.connections.erase(*source_);
    source_.reset();
    lock.unlock();
    write_log(r.out);
    return spec_.classify(r);
  }
  const std::string so_far =
      lines.empty() ? std::string() : "; this connection's lines so far:\n" + tail(lines);
  if (s.state == PooledServer::State::dead)
    throw Error(Errc::peer, s.failure + " before this case's connection" +
                                (source_ ? " (@" + std::to_string(*source_) + ")" : std::string()) +
                                " ended" + so_far);
  if (!source_) {
    // The client never reached the server: the one-connection server would have been stopped at
    // the deadline having said nothing but READY.
    lock.unlock();
    write_log(r.out);
    return spec_.classify(r);
  }
  // The connection hangs: this server may be stuck, so later cases get a fresh one.
  s.retired = true;
  throw Error(Errc::peer, "pooled " + spec_.peer + " server (" + s.command + ") printed no \"@" +
                              std::to_string(*source_) + " END\" within " +
                              std::to_string(deadline.count()) +
                              " ms; it is retired (later cases get a fresh one)" + so_far);
}

ServerPool::ServerPool(fs::path dir) : dir_(std::move(dir)) {
  // A run may pool servers in several phases (the sanity gate, then the matrix, then --repeat
  // rounds), each with a pool of its own in the same folder: number on, never overwrite logs.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    unsigned n = 0;
    const auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), n);
    if (err == std::errc() && end != name.data() && *end == '-')
      started_ = std::max(started_, n);
  }
}

ServerPool::~ServerPool() {
  // Ask every server to stop first, so they wind down in parallel; each destructor then joins.
  for (const auto& s : all_)
    s->request_stop();
  servers_.clear();
  all_.clear();
}

std::unique_ptr<PooledServerRun> ServerPool::acquire(const ManyServerSpec& spec,
                                                     std::chrono::milliseconds ready_deadline,
                                                     const fs::path& case_log) {
  std::shared_ptr<PooledServer> s;
  {
    std::lock_guard lock(mutex_);
    if (auto it = servers_.find(spec.key); it != servers_.end()) {
      std::lock_guard server_lock(it->second->mutex);
      if (it->second->state != PooledServer::State::dead && !it->second->retired)
        s = it->second;
    }
    if (!s) {
      std::error_code ec;
      fs::create_directories(dir_, ec);
      if (ec)
        throw Error(Errc::io, "cannot create " + dir_.string() + ": " + ec.message());
      s = std::make_shared<PooledServer>(
          spec, dir_ / (std::to_string(++started_) + "-" + spec.peer), ready_deadline);
      servers_[spec.key] = s;
      all_.push_back(s);
    }
    std::lock_guard server_lock(s->mutex);
    ++s->users;
  }
  auto run = std::make_unique<PooledServerRun>(s, spec, case_log);
  std::unique_lock lock(s->mutex);
  // The server's own ready deadline ends the start; this bound is only a backstop.
  const bool settled = s->changed.wait_for(lock, ready_deadline + std::chrono::seconds(2), [&] {
    return s->state != PooledServer::State::starting;
  });
  if (!settled) {
    s->retired = true;
    throw Error(Errc::peer, "pooled " + spec.peer + " server did not start: " + s->command);
  }
  if (s->state == PooledServer::State::dead) {
    if (s->refusal) {
      // Each case it refused keeps the server's words as its own server.out/.err (best effort).
      if (!case_log.empty()) {
        std::ofstream(case_log, std::ios::binary | std::ios::trunc) << s->refused_out;
        fs::path err = case_log;
        std::ofstream(err.replace_extension(".err"), std::ios::binary | std::ios::trunc)
            << s->refused_err;
      }
      throw SetupRefusal(Side::server, *s->refusal);
    }
    throw Error(Errc::peer, s->failure);
  }
  return run;
}

} // namespace harness
