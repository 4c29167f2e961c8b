// Supervised child processes (Boost.Process v2 + Asio behind a pimpl): argv without a shell,
// captured output, readiness by marker or port with a deadline, the whole process group killed
// on timeout or destruction, and children that die with the harness (PR_SET_PDEATHSIG).
//
// Threading: one EventLoop per thread; a Process is used only by the thread that created it, and
// its EventLoop outlives it. PR_SET_PDEATHSIG is tied to the *thread* that forked the child: when
// that thread ends, the kernel kills the child even if the harness lives on. So start processes
// from threads that outlive them (the runner's workers live for the whole run).
// Each child runs in its own process group; the group does not outlive its leader: when the leader
// exits (or is killed), whatever it left behind in its group is SIGKILLed before it is reaped.
// Grandchildren that leave the group (setsid) are beyond reach, and PDEATHSIG covers only the
// leader: if the harness is SIGKILLed, a leader's own children are orphaned, not killed.
// The first EventLoop sets SIGPIPE to ignored in the harness (a child that closes its stdin must
// not kill us); children get the default disposition and an empty signal mask back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace harness {

// One event loop drives every process of a case, so waiting on one still drains the others' pipes.
class EventLoop {
public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  // Handles whatever is ready now (pipe reads, exits) without blocking. Waits on any Process of
  // this loop do this too; call it to refresh out_so_far() without waiting.
  void poll();
  struct Impl;
  [[nodiscard]] Impl& impl() { return *impl_; }

private:
  std::unique_ptr<Impl> impl_;
};

struct ProcessSpec {
  std::vector<std::string> argv; // argv[0]: a path (relative: to the harness's cwd), or a name
                                 // looked up on PATH; the child sees argv[0] as given
  std::vector<std::pair<std::string, std::string>> env; // set on top of the harness's environment
  std::filesystem::path cwd;                            // empty: the harness's cwd
  std::filesystem::path stdout_log; // empty: not written to a file; else written as it arrives
  std::filesystem::path stderr_log;
  std::string stdin_data;       // written to the child's stdin
  bool keep_stdin_open = false; // else stdin is closed after stdin_data
};

struct Readiness {
  enum class Kind { stdout_marker, stderr_marker, port } kind = Kind::stdout_marker;
  std::string marker; // a substring of the output (may arrive split across reads)
  // Kind::port: ready once the child (a process of its group) listens on TCP `port`. With a
  // marker: when set, the child must also listen on it after the marker (a marker says a server
  // is up, not whose socket a client will reach). Asked of the kernel (sock_diag, whose socket
  // inodes are matched against the group's /proc/<pid>/fd) every 1-2 ms rather than by
  // connecting, so the probe does not use up an accept (`s_server -naccept 1`). Another process
  // listening there ends the wait at once (port_taken()): two runs may pick the same free port.
  // Where the kernel cannot tell whose a listener is, any listener counts, and without sock_diag
  // one that accepts a connection.
  std::uint16_t port = 0;
  std::chrono::milliseconds deadline{5000};
};

struct ProcessResult {
  std::optional<int> exit_code; // normal exit
  std::optional<int> signal;    // killed by a signal
  bool timed_out = false;       // the harness killed it at the deadline
  std::string out;
  std::string err;
  std::chrono::microseconds elapsed{0}; // from start until the harness saw the exit
};

class Process {
public:
  // Starts the child in its own process group. Throws tlsmatrix::Error: Errc::peer when the
  // program cannot be found or started (the message names it), Errc::io when a log file cannot be
  // written, Errc::invalid_input for an empty argv or an environment name with '='.
  Process(EventLoop& loop, const ProcessSpec& spec);
  ~Process(); // kills the group if still running and reaps it: nothing lingers
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // True once ready; false if the process exited first or the deadline passed. A marker printed
  // just before exiting still counts. Throws Error(invalid_input) for an empty marker or port 0.
  [[nodiscard]] bool wait_ready(const Readiness& readiness);
  // After wait_ready() returned false: whether another process held the port the child was to
  // listen on (start it again on another port).
  [[nodiscard]] bool port_taken() const;
  // Waits until `done(stdout so far, stderr so far)` holds, the process exits, or the deadline
  // passes; returns done's answer (after an exit, once what it printed last has been read). For
  // servers that outlive a connection: their output tells when the connection's outcome is known.
  [[nodiscard]] bool
  wait_output(const std::function<bool(const std::string& out, const std::string& err)>& done,
              std::chrono::milliseconds deadline);
  // Waits for exit; at the deadline kills the group (SIGTERM, then SIGKILL after a 200 ms grace),
  // reaps it and reads its pipes to the end (at most 200 ms more). Repeated calls return the same.
  ProcessResult wait(std::chrono::milliseconds deadline);
  // Ends the process group now (SIGTERM, grace, SIGKILL) and reaps it; returns what it said.
  ProcessResult stop();
  // Queues data for stdin (keep_stdin_open); closes stdin once written if `close` is set. Throws
  // Error(internal) when stdin is already closed. The loop writes it while any wait runs.
  void write_stdin(const std::string& data, bool close = false);

  [[nodiscard]] bool running();                 // polls the loop; false once the leader has exited
  [[nodiscard]] int pid() const;                // also the process group id
  [[nodiscard]] std::string out_so_far() const; // what the loop has read so far
  [[nodiscard]] std::string err_so_far() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// The program's absolute path, or nullopt when it is not installed. A name with a "/" is taken
// as a path (relative to the cwd) and must be an executable regular file; others go through PATH.
[[nodiscard]] std::optional<std::filesystem::path> find_program(const std::string& name);

} // namespace harness
