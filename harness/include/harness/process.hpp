// Supervised child processes (Boost.Process v2 + Asio behind a pimpl): argv without a shell,
// captured output, readiness by marker or port with a deadline, the whole process group killed
// on timeout or destruction, and children that die with the harness (PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
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
  struct Impl;
  [[nodiscard]] Impl& impl() { return *impl_; }

private:
  std::unique_ptr<Impl> impl_;
};

struct ProcessSpec {
  std::vector<std::string> argv; // argv[0]: a path, or a name looked up on PATH
  std::vector<std::pair<std::string, std::string>> env; // set on top of the harness's environment
  std::filesystem::path cwd;                            // empty: the harness's cwd
  std::filesystem::path stdout_log;                     // empty: not written to a file
  std::filesystem::path stderr_log;
  std::string stdin_data;       // written to the child's stdin
  bool keep_stdin_open = false; // else stdin is closed after stdin_data
};

struct Readiness {
  enum class Kind { stdout_marker, stderr_marker, port } kind = Kind::stdout_marker;
  std::string marker;  // a substring of the output
  std::uint16_t port = 0; // 127.0.0.1:port accepts a TCP connection
  std::chrono::milliseconds deadline{5000};
};

struct ProcessResult {
  std::optional<int> exit_code; // normal exit
  std::optional<int> signal;    // killed by a signal
  bool timed_out = false;       // the harness killed it at the deadline
  std::string out;
  std::string err;
  std::chrono::microseconds elapsed{0};
};

class Process {
public:
  // Starts the child in its own process group. Throws tlsmatrix::Error(Errc::peer) when the
  // program cannot be found or started.
  Process(EventLoop& loop, const ProcessSpec& spec);
  ~Process(); // kills the group if still running and reaps it: nothing lingers
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // True once ready; false if the process exited first or the deadline passed.
  [[nodiscard]] bool wait_ready(const Readiness& readiness);
  // Waits for exit; at the deadline kills the group (SIGTERM, then SIGKILL after a grace period).
  ProcessResult wait(std::chrono::milliseconds deadline);
  // Ends the process group now and reaps it; returns what it said.
  ProcessResult stop();
  // Writes to stdin (when keep_stdin_open); closes stdin if `close` is set.
  void write_stdin(const std::string& data, bool close = false);

  [[nodiscard]] bool running();
  [[nodiscard]] int pid() const;
  [[nodiscard]] std::string out_so_far() const;
  [[nodiscard]] std::string err_so_far() const;

  struct Impl;

private:
  std::unique_ptr<Impl> impl_;
};

// The program's absolute path, or nullopt when it is not installed.
[[nodiscard]] std::optional<std::filesystem::path> find_program(const std::string& name);

// Kills every live child process group this harness started (from a signal handler too).
void kill_all_children() noexcept;

// A free TCP port on 127.0.0.1 (bound with port 0, then released), for peers that need a number.
[[nodiscard]] std::uint16_t pick_free_port();

// True when 127.0.0.1:port accepts a TCP connection.
[[nodiscard]] bool port_accepts(std::uint16_t port);

} // namespace harness
