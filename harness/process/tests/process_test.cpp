// Process supervision against real programs: capture, argv without a shell, stdin, readiness by
// marker and port, deadlines that kill whole process groups, PDEATHSIG, the kill-all registry.
#include "harness/process/process.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/error.hpp"
#include "harness/process/child_groups.hpp"
#include "harness/process/ports.hpp"
#include "support.hpp"

namespace {
using namespace std::chrono_literals;
using harness::EventLoop;
using harness::Process;
using harness::ProcessSpec;
using harness::Readiness;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const char* const debian_python = "/usr/bin/python3"; // not the pyenv shim on PATH (docs/peers.md#python3-on-path-may-be-a-shim)

ProcessSpec sh(const std::string& script, std::vector<std::string> args = {}) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", script, "sh"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  return spec;
}

Readiness stdout_marker(std::string marker, std::chrono::milliseconds deadline = 5s) {
  Readiness r;
  r.kind = Readiness::Kind::stdout_marker;
  r.marker = std::move(marker);
  r.deadline = deadline;
  return r;
}

Readiness port_ready(std::uint16_t port, std::chrono::milliseconds deadline = 5s) {
  Readiness r;
  r.kind = Readiness::Kind::port;
  r.port = port;
  r.deadline = deadline;
  return r;
}

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// The live (not zombie) processes whose process group is pgid, from /proc/<pid>/stat.
std::vector<pid_t> group_members(pid_t pgid) {
  std::vector<pid_t> members;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(),
                                     [](unsigned char ch) { return std::isdigit(ch) != 0; }))
      continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat))
      continue;
    const auto close = stat.rfind(')'); // the command name may contain spaces and parentheses
    if (close == std::string::npos)
      continue;
    char state = 0;
    int ppid = 0, pgrp = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
      continue;
    if (pgrp == pgid && state != 'Z')
      members.push_back(std::stoi(name));
  }
  return members;
}

// True when the process ends within the deadline (or is already gone). Event-driven: a pidfd
// becomes readable when its process exits, whoever its parent is.
bool dies_within(pid_t pid, std::chrono::milliseconds deadline) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd == -1)
    return errno == ESRCH;
  pollfd watch{fd, POLLIN, 0};
  const bool dead = ::poll(&watch, 1, static_cast<int>(deadline.count())) == 1;
  ::close(fd);
  return dead;
}

void kill_if_alive(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids)
    ::kill(pid, SIGKILL);
}

// Connects to 127.0.0.1:port, sends text and closes.
bool send_to_port(std::uint16_t port, const std::string& text) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(0x7f000001U);
  address.sin_port = htons(port);
  const bool ok =
      ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 &&
      ::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

TEST(Process, CapturesStdoutStderrAndExitCode) {
  EventLoop loop;
  Process p(loop, sh("echo out; echo err >&2; printf 'no newline'; exit 3"));
  const auto r = p.wait(5s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_FALSE(r.signal);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "out\nno newline");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_GT(r.elapsed.count(), 0);
  EXPECT_EQ(p.wait(5s).out, r.out); // a second wait returns the same result
}

TEST(Process, ArgvReachesTheChildVerbatimWithoutAShell) {
  testing_support::ScratchDir dir;
  const fs::path script_dir = dir / "dir with space/it's \"quoted\" $(x)";
  fs::create_directories(script_dir);
  const fs::path script = script_dir / "print args.sh";
  testing_support::write_text(script,
                              "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done\n");
  fs::permissions(script, fs::perms::owner_all);
  const std::vector<std::string> args = {
      "two words", "it's", "\"double\"",  "$(touch pwned)", "`touch pwned`", "; touch pwned",
      "*",         "",     "back\\slash", "line\nbreak",    "$HOME"};
  ProcessSpec spec;
  spec.argv = {script.string()};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.cwd = dir.path();
  EventLoop loop;
  const auto r = Process(loop, spec).wait(5s);
  std::string expected;
  for (const auto& a : args)
    expected += "[" + a + "]\n";
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected);
  EXPECT_FALSE(fs::exists(dir / "pwned"));
}

TEST(Process, ChildSeesArgv0AsGiven) {
  EventLoop loop;
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "tr '\\0' '\\n' < /proc/$$/cmdline"}; // found on PATH, still "sh"
  EXPECT_EQ(Process(loop, spec).wait(5s).out, "sh\n-c\n" + spec.argv[2] + "\n");
}

TEST(Process, FindsProgramsOnPathAndPassesAbsolutePathsThrough) {
  const auto shell = harness::find_program("sh");
  ASSERT_TRUE(shell);
  EXPECT_TRUE(shell->is_absolute());
  EXPECT_EQ(shell->filename(), "sh");
  EXPECT_EQ(harness::find_program("/bin/sh"), fs::path("/bin/sh"));
  EXPECT_FALSE(harness::find_program("tlsmatrix-no-such-program"));
  EXPECT_FALSE(harness::find_program("/nonexistent/sh"));
  testing_support::ScratchDir dir;
  testing_support::write_text(dir / "plain", "#!/bin/sh\n");
  fs::permissions(dir / "plain", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(harness::find_program((dir / "plain").string())); // not executable
  EXPECT_FALSE(harness::find_program("/bin"));                   // a directory
  EXPECT_FALSE(harness::find_program(""));
}

TEST(Process, MissingProgramIsAPeerErrorNamingIt) {
  EventLoop loop;
  for (const std::string name : {"tlsmatrix-no-such-program", "/nonexistent/dir/prog"}) {
    ProcessSpec spec;
    spec.argv = {name, "--flag"};
    try {
      Process p(loop, spec);
      ADD_FAILURE() << "started " << name;
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::peer);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  ProcessSpec empty;
  try {
    Process p(loop, empty);
    ADD_FAILURE() << "started an empty argv";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
  }
  EXPECT_EQ(harness::live_child_groups(), 0U);
}

TEST(Process, FailingChildSetupIsAPeerErrorAndLeavesNoZombie) {
  EventLoop loop;
  ProcessSpec spec = sh("true");
  spec.cwd = "/nonexistent/working/dir";
  try {
    Process p(loop, spec);
    ADD_FAILURE() << "started in a missing directory";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::peer);
    EXPECT_NE(std::string(e.what()).find("/bin/sh"), std::string::npos) << e.what();
  }
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1); // no child of ours left, not even a zombie
  EXPECT_EQ(errno, ECHILD);
}

TEST(Process, StdinDataReachesTheChildThenEof) {
  std::string data;
  for (int i = 0; data.size() < 300000; ++i)
    data += "line " + std::to_string(i) + "\n";
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = data; // larger than the pipe buffers both ways: writing and reading interleave
  EventLoop loop;
  const auto r = Process(loop, spec).wait(5s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, data);
}

TEST(Process, StdinKeptOpenTakesLaterWrites) {
  ProcessSpec spec;
  spec.argv = {"cat"};
  spec.stdin_data = "first\n";
  spec.keep_stdin_open = true;
  EventLoop loop;
  Process p(loop, spec);
  ASSERT_TRUE(p.wait_ready(stdout_marker("first\n")));
  p.write_stdin("ping\n");
  ASSERT_TRUE(p.wait_ready(stdout_marker("ping\n")));
  EXPECT_TRUE(p.running());
  p.write_stdin("pong\n", true);
  const auto r = p.wait(5s);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "first\nping\npong\n");
  try {
    p.write_stdin("late");
    ADD_FAILURE() << "wrote to a closed stdin";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::internal);
  }
}

TEST(Process, EnvironmentAndWorkingDirectory) {
  testing_support::ScratchDir dir;
  const fs::path cwd = dir / "sub dir";
  fs::create_directories(cwd);
  ProcessSpec spec = sh("printf '%s|%s|%s' \"$TLSMATRIX_A\" \"$TLSMATRIX_B\" \"$(pwd)\"; "
                        "test -n \"$PATH\"");
  spec.env = {{"TLSMATRIX_A", "a b 'c'"}, {"TLSMATRIX_B", "first"}, {"TLSMATRIX_B", "last"}};
  spec.cwd = cwd;
  EventLoop loop;
  const auto r = Process(loop, spec).wait(5s);
  EXPECT_EQ(r.exit_code, 0); // PATH inherited
  EXPECT_EQ(r.out, "a b 'c'|last|" + fs::canonical(cwd).string());

  spec.env = {{"BAD=NAME", "x"}};
  try {
    Process p(loop, spec);
    ADD_FAILURE() << "accepted an invalid variable name";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
  }
}

TEST(Process, LogFilesReceiveTheOutput) {
  testing_support::ScratchDir dir;
  ProcessSpec spec = sh("echo to-out; echo to-err >&2; echo READY; exec sleep 30");
  spec.stdout_log = dir / "out log.txt";
  spec.stderr_log = dir / "err.txt";
  EventLoop loop;
  Process p(loop, spec);
  ASSERT_TRUE(p.wait_ready(stdout_marker("READY")));
  EXPECT_EQ(testing_support::read_text(spec.stdout_log), "to-out\nREADY\n"); // as it arrives
  const auto r = p.stop();
  EXPECT_EQ(testing_support::read_text(spec.stdout_log), r.out);
  EXPECT_EQ(testing_support::read_text(spec.stderr_log), "to-err\n");

  spec.stdout_log = dir / "missing dir" / "out.txt";
  try {
    Process q(loop, spec);
    ADD_FAILURE() << "started with an unwritable log";
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::io);
  }
}

TEST(Process, ReadyOnStdoutMarkerAfterOtherOutput) {
  EventLoop loop;
  Process p(loop, sh("echo starting; echo noise >&2; echo 'server READY now'; exec sleep 30"));
  const auto start = Clock::now();
  EXPECT_TRUE(p.wait_ready(stdout_marker("READY")));
  EXPECT_LT(since(start), 2s);
  EXPECT_TRUE(p.running());
  const auto r = p.stop();
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.out, "starting\nserver READY now\n");
}

TEST(Process, ReadyOnStderrMarker) {
  EventLoop loop;
  Process p(loop, sh("echo READY-but-stdout; echo 'Echo Server listening' >&2; exec sleep 30"));
  Readiness r = stdout_marker("Echo Server listening");
  r.kind = Readiness::Kind::stderr_marker;
  EXPECT_TRUE(p.wait_ready(r));
  EXPECT_EQ(p.err_so_far(), "Echo Server listening\n");
}

TEST(Process, ReadyOnMarkerSplitAcrossReads) {
  // The child writes "REA", waits for our go, then "DY": the two halves are surely two reads.
  ProcessSpec spec = sh("printf REA; read go; printf 'DY\\n'; exec sleep 30");
  spec.keep_stdin_open = true;
  EventLoop loop;
  Process p(loop, spec);
  ASSERT_TRUE(p.wait_ready(stdout_marker("REA")));
  EXPECT_EQ(p.out_so_far(), "REA");
  EXPECT_FALSE(p.wait_ready(stdout_marker("READY", 50ms)));
  p.write_stdin("go\n");
  EXPECT_TRUE(p.wait_ready(stdout_marker("READY")));
  EXPECT_EQ(p.out_so_far(), "READY\n");
}

TEST(Process, MarkerPrintedJustBeforeExitCounts) {
  EventLoop loop;
  Process p(loop, sh("echo READY"));
  EXPECT_TRUE(p.wait_ready(stdout_marker("READY")));
  EXPECT_EQ(p.wait(5s).exit_code, 0);
  EXPECT_TRUE(p.wait_ready(stdout_marker("READY"))); // still true after the end
}

TEST(Process, ExitBeforeReadyReturnsFalseAtOnce) {
  EventLoop loop;
  Process p(loop, sh("echo starting; echo 'fatal: no' >&2; exit 3"));
  const auto start = Clock::now();
  EXPECT_FALSE(p.wait_ready(stdout_marker("READY", 10s)));
  EXPECT_LT(since(start), 1s);
  EXPECT_FALSE(p.running());
  const auto r = p.wait(5s);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, "fatal: no\n");

  const std::uint16_t port = harness::pick_free_port();
  Process q(loop, sh("exit 1"));
  const auto port_start = Clock::now();
  EXPECT_FALSE(q.wait_ready(port_ready(port, 10s)));
  EXPECT_LT(since(port_start), 1s);
}

TEST(Process, NeverReadyReturnsFalseAtTheDeadline) {
  EventLoop loop;
  Process p(loop, sh("echo starting; exec sleep 30"));
  auto start = Clock::now();
  EXPECT_FALSE(p.wait_ready(stdout_marker("READY", 300ms)));
  auto took = since(start);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 450ms);

  start = Clock::now();
  EXPECT_FALSE(p.wait_ready(port_ready(harness::pick_free_port(), 300ms)));
  took = since(start);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 450ms);
  EXPECT_TRUE(p.running());
}

TEST(Process, WaitOutputEndsWhenEitherStreamSaysSo) {
  // A server that outlives its connection: wait for the line that decides it, on either stream.
  EventLoop loop;
  ProcessSpec spec = sh("echo accepted; read go; echo 'Error in handshake' >&2; exec sleep 30");
  spec.keep_stdin_open = true;
  Process p(loop, spec);
  auto decided = [](const std::string& out, const std::string& err) {
    return out.find("Channel bindings") != std::string::npos ||
           err.find("Error in") != std::string::npos;
  };
  EXPECT_FALSE(p.wait_output(decided, 100ms));
  EXPECT_EQ(p.out_so_far(), "accepted\n");
  p.write_stdin("go\n");
  const auto start = Clock::now();
  EXPECT_TRUE(p.wait_output(decided, 5s));
  EXPECT_LT(since(start), 2s);
  EXPECT_TRUE(p.running());
  EXPECT_EQ(p.stop().err, "Error in handshake\n");
}

TEST(Process, WaitOutputReturnsAtExitWithWhatWasPrintedLast) {
  EventLoop loop;
  Process p(loop, sh("echo done; exit 0"));
  EXPECT_TRUE(p.wait_output(
      [](const std::string& out, const std::string&) { return out == "done\n"; }, 5s));
  Process q(loop, sh("echo other; exit 0"));
  const auto start = Clock::now();
  EXPECT_FALSE(q.wait_output(
      [](const std::string& out, const std::string&) { return out == "done\n"; }, 10s));
  EXPECT_LT(since(start), 1s);
}

TEST(Process, ReadyWhenPortListensWithoutUsingUpAnAccept) {
  if (!fs::exists(debian_python))
    GTEST_SKIP() << debian_python << " is not installed";
  const std::uint16_t port = harness::pick_free_port();
  // Accepts exactly one connection and prints what it received: had the readiness probe
  // connected, the probe would be that connection and "GOT hello" would never appear.
  ProcessSpec spec;
  spec.argv = {debian_python, "-c",
               "import socket, sys\n"
               "s = socket.socket()\n"
               "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
               "s.bind(('127.0.0.1', int(sys.argv[1])))\n"
               "s.listen(1)\n"
               "c, _ = s.accept()\n"
               "print('GOT', c.recv(100).decode(), flush=True)\n",
               std::to_string(port)};
  EventLoop loop;
  Process p(loop, spec);
  ASSERT_TRUE(p.wait_ready(port_ready(port))) << p.err_so_far();
  ASSERT_TRUE(send_to_port(port, "hello"));
  const auto r = p.wait(5s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "GOT hello\n");
}

// Two runs may pick the same free port: a server whose bind failed must not pass for ready
// because the other run's server listens there. The listener here is the test's own socket.
TEST(Process, AListenerThatIsNotTheChildsIsNoReadiness) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(0x7f000001U);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const std::uint16_t port = ntohs(address.sin_port);

  EventLoop loop;
  Process by_port(loop, sh("exec sleep 30"));
  auto start = Clock::now();
  EXPECT_FALSE(by_port.wait_ready(port_ready(port, 10s)));
  EXPECT_TRUE(by_port.port_taken());
  EXPECT_LT(since(start), 2s);

  Process by_marker(loop, sh("echo READY; exec sleep 30"));
  Readiness marker = stdout_marker("READY", 10s);
  marker.port = port;
  start = Clock::now();
  EXPECT_FALSE(by_marker.wait_ready(marker));
  EXPECT_TRUE(by_marker.port_taken());
  EXPECT_LT(since(start), 2s);
  // Without a port the marker alone decides, as before.
  EXPECT_TRUE(by_marker.wait_ready(stdout_marker("READY")));
  EXPECT_FALSE(by_marker.port_taken());
  ::close(fd);
}

TEST(Process, AListenerOfAProcessTheChildForkedCounts) {
  if (!fs::exists(debian_python))
    GTEST_SKIP() << debian_python << " is not installed";
  const std::uint16_t port = harness::pick_free_port();
  // The shell forks python (same process group) and waits: the listener is not the leader's.
  EventLoop loop;
  Process p(loop, sh(std::string(debian_python) + " -c 'import socket, sys, time\n"
                                                  "s = socket.socket()\n"
                                                  "s.bind((\"127.0.0.1\", int(sys.argv[1])))\n"
                                                  "s.listen(1)\n"
                                                  "print(\"READY\", flush=True)\n"
                                                  "time.sleep(30)' \"$1\" & wait",
                     {std::to_string(port)}));
  Readiness ready = stdout_marker("READY", 10s);
  ready.port = port;
  EXPECT_TRUE(p.wait_ready(ready)) << p.err_so_far();
  EXPECT_FALSE(p.port_taken());
}

TEST(Process, OpensslServerReadyByPortServesItsOneConnection) {
  if (!harness::find_program("openssl"))
    GTEST_SKIP() << "openssl is not installed";
  testing_support::ScratchDir dir;
  const auto key = testing_support::run(
      {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-subj",
       "/CN=localhost", "-days", "1"},
      "", 10s);
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::uint16_t port = harness::pick_free_port();
  ProcessSpec server;
  server.argv = {"openssl",  "s_server",
                 "-accept",  std::to_string(port),
                 "-naccept", "1",
                 "-cert",    (dir / "cert.pem").string(),
                 "-key",     (dir / "key.pem").string()};
  server.keep_stdin_open = true; // s_server quits at stdin EOF (docs/peers.md#s_server-exits-at-stdin-eof)
  EventLoop loop;
  Process s(loop, server);
  ASSERT_TRUE(s.wait_ready(port_ready(port))) << s.err_so_far();
  ProcessSpec client;
  client.argv = {"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port)};
  Process c(loop, client); // stdin at EOF at once: handshake, then close
  const auto cr = c.wait(10s);
  EXPECT_NE(cr.out.find("CONNECTED"), std::string::npos) << cr.out << cr.err;
  const auto sr = s.wait(10s);
  EXPECT_FALSE(sr.timed_out);
  EXPECT_EQ(sr.exit_code, 0) << sr.err;
  EXPECT_NE(sr.out.find("ACCEPT"), std::string::npos);
}

TEST(Process, WaitDeadlineKillsTheWholeGroup) {
  EventLoop loop;
  Process p(loop, sh("sleep 30 & sleep 30 & echo started; wait"));
  ASSERT_TRUE(p.wait_ready(stdout_marker("started")));
  const auto members = group_members(p.pid());
  EXPECT_EQ(members.size(), 3U); // sh and its two sleeps
  const auto start = Clock::now();
  const auto r = p.wait(200ms);
  const auto took = since(start);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
  EXPECT_FALSE(r.exit_code);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 400ms); // SIGTERM works here: no grace period needed
  for (pid_t pid : members)
    EXPECT_TRUE(dies_within(pid, 2s)) << pid;
  EXPECT_TRUE(group_members(p.pid()).empty());
  kill_if_alive(group_members(p.pid()));
}

TEST(Process, IgnoredSigtermEscalatesToSigkillAfterTheGrace) {
  EventLoop loop;
  // An ignored signal stays ignored across exec: sh and sleep both shrug off SIGTERM.
  Process p(loop, sh("trap '' TERM; sleep 30 & echo started; wait"));
  ASSERT_TRUE(p.wait_ready(stdout_marker("started")));
  const auto members = group_members(p.pid());
  const auto start = Clock::now();
  const auto r = p.wait(100ms);
  const auto took = since(start);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_GE(took, 300ms); // deadline + 200 ms grace
  EXPECT_LT(took, 500ms);
  for (pid_t pid : members)
    EXPECT_TRUE(dies_within(pid, 2s)) << pid;
}

TEST(Process, LeaderExitTakesItsLeftoversAlong) {
  // The background sleep keeps the stdout pipe open; the group dies with its leader, so the
  // wait does not hang on it and nothing lingers.
  EventLoop loop;
  Process p(loop, sh("sleep 30 & echo \"$!\""));
  ASSERT_TRUE(p.wait_ready(stdout_marker("\n")));
  const pid_t straggler = std::stoi(p.out_so_far());
  const auto start = Clock::now();
  const auto r = p.wait(5s);
  EXPECT_LT(since(start), 150ms);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(dies_within(straggler, 2s));
}

TEST(Process, StopEndsItNowAndDestructorKillsWhatRuns) {
  EventLoop loop;
  pid_t stopped_pid = 0;
  {
    Process p(loop, sh("exec sleep 30"));
    stopped_pid = p.pid();
    const auto start = Clock::now();
    const auto r = p.stop();
    EXPECT_LT(since(start), 150ms);
    EXPECT_EQ(r.signal, SIGTERM);
    EXPECT_FALSE(r.timed_out);
    EXPECT_FALSE(p.running());
    EXPECT_EQ(p.stop().signal, SIGTERM); // idempotent
  }
  EXPECT_TRUE(dies_within(stopped_pid, 0ms));

  std::vector<pid_t> members;
  pid_t leader = 0;
  {
    Process p(loop, sh("sleep 30 & echo started; exec sleep 30"));
    ASSERT_TRUE(p.wait_ready(stdout_marker("started")));
    leader = p.pid();
    members = group_members(leader);
    EXPECT_EQ(members.size(), 2U);
    EXPECT_EQ(harness::live_child_groups(), 1U);
  }
  EXPECT_EQ(harness::live_child_groups(), 0U);
  for (pid_t pid : members)
    EXPECT_TRUE(dies_within(pid, 2s)) << pid;
  errno = 0;
  EXPECT_EQ(::waitpid(leader, nullptr, WNOHANG), -1); // reaped: no zombie
  EXPECT_EQ(errno, ECHILD);
  loop.poll(); // the closed pipes' handlers run and release what the Process left behind
}

TEST(Process, ChildDiesWithTheHarness) {
  // A stand-in harness (a fork of this test) starts a child through the supervisor and dies
  // without cleaning up; PR_SET_PDEATHSIG must take the child down.
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t harness_pid = ::fork();
  ASSERT_NE(harness_pid, -1);
  if (harness_pid == 0) {
    ::close(report[0]);
    EventLoop loop;
    auto* p = new Process(loop, sh("exec sleep 30")); // never destroyed: we die without cleanup
    const pid_t pid = p->pid();
    if (::write(report[1], &pid, sizeof pid) != sizeof pid)
      ::_exit(2);
    ::_exit(0);
  }
  ::close(report[1]);
  pid_t child = 0;
  const auto got = ::read(report[0], &child, sizeof child);
  ::close(report[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(harness_pid, &status, 0), harness_pid);
  ASSERT_EQ(got, static_cast<ssize_t>(sizeof child));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const bool died = dies_within(child, 2s);
  EXPECT_TRUE(died);
  if (!died)
    ::kill(child, SIGKILL);
}

TEST(Process, ChildDiesWhenItsStartingThreadEnds) {
  // PDEATHSIG follows the thread that forked, not the process: the documented reason why
  // processes must be started from threads that outlive them.
  EventLoop loop;
  std::unique_ptr<Process> p;
  std::thread starter([&] { p = std::make_unique<Process>(loop, sh("exec sleep 30")); });
  starter.join();
  ASSERT_TRUE(p);
  const auto r = p->wait(2s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
}

TEST(Process, KillAllChildrenKillsEveryRegisteredGroup) {
  EventLoop loop;
  const std::size_t before = harness::live_child_groups();
  std::vector<std::unique_ptr<Process>> ps;
  for (int i = 0; i < 3; ++i)
    ps.push_back(std::make_unique<Process>(loop, sh("sleep 30 & exec sleep 30")));
  EXPECT_EQ(harness::live_child_groups(), before + 3);
  harness::kill_all_children();
  for (auto& p : ps) {
    const auto r = p->wait(2s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.signal, SIGKILL);
  }
  EXPECT_EQ(harness::live_child_groups(), before);
}

TEST(Process, OneLoopDrainsEveryProcessWhileWaitingOnOne) {
  // A writes 1 MB to its stdout and only then unblocks B through a FIFO. B can exit only if A's
  // pipe was read while we waited on B.
  testing_support::ScratchDir dir;
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EventLoop loop;
  Process a(loop, sh("head -c 1000000 /dev/zero; echo x > \"$1\"", {fifo.string()}));
  ProcessSpec reader;
  reader.argv = {"cat", fifo.string()};
  Process b(loop, reader);
  const auto rb = b.wait(5s);
  EXPECT_FALSE(rb.timed_out);
  EXPECT_EQ(rb.out, "x\n");
  const auto ra = a.wait(5s);
  EXPECT_EQ(ra.exit_code, 0);
  EXPECT_EQ(ra.out.size(), 1000000U);
}

TEST(Process, ManyProcessesFromTwoThreads) {
  constexpr int batches = 5, per_batch = 6;
  std::atomic<int> good{0};
  auto worker = [&](int thread) {
    try {
      EventLoop loop;
      Process idle(loop, sh("exec sleep 30"));
      for (int b = 0; b < batches; ++b) {
        std::vector<std::unique_ptr<Process>> ps;
        for (int i = 0; i < per_batch; ++i) {
          ProcessSpec spec;
          spec.argv = {"echo", "t" + std::to_string(thread) + "-" + std::to_string(b * 10 + i)};
          ps.push_back(std::make_unique<Process>(loop, spec));
        }
        for (int i = 0; i < per_batch; ++i) {
          const auto r = ps[static_cast<std::size_t>(i)]->wait(5s);
          if (r.exit_code == 0 && !r.timed_out &&
              r.out == "t" + std::to_string(thread) + "-" + std::to_string(b * 10 + i) + "\n")
            ++good;
          else
            ADD_FAILURE() << "thread " << thread << " batch " << b << ": " << r.out << r.err;
        }
      }
      if (idle.stop().signal != SIGTERM)
        ADD_FAILURE() << "idle process not stopped";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "thread " << thread << ": " << e.what();
    }
  };
  std::thread t1(worker, 1), t2(worker, 2);
  t1.join();
  t2.join();
  EXPECT_EQ(good.load(), 2 * batches * per_batch);
  EXPECT_EQ(harness::live_child_groups(), 0U);
}

TEST(Process, HarnessFdsDoNotLeakIntoChildren) {
  // Low-numbered fds without O_CLOEXEC: Boost.Process 1.81 alone would leave them open.
  int leaked[2];
  ASSERT_EQ(::pipe(leaked), 0);
  EventLoop loop;
  const auto r = Process(loop, sh("ls /proc/$$/fd")).wait(5s);
  ::close(leaked[0]);
  ::close(leaked[1]);
  std::set<std::string> fds;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);)
    fds.insert(line);
  EXPECT_TRUE(fds.count("0") && fds.count("1") && fds.count("2")) << r.out;
  EXPECT_FALSE(fds.count(std::to_string(leaked[0]))) << r.out;
  EXPECT_FALSE(fds.count(std::to_string(leaked[1]))) << r.out;
}

TEST(Process, ChildStartsWithDefaultSignalsAndAnEmptyMask) {
  // The harness ignores SIGPIPE (EventLoop), here also SIGINT, and this thread blocks SIGUSR1:
  // none of it may reach a peer, or a peer could not be interrupted or terminated.
  struct sigaction ignore {
  }, old_int{};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGINT, &ignore, &old_int), 0);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old_mask), 0);
  EventLoop loop;
  ProcessSpec spec;
  spec.argv = {"cat", "/proc/self/status"};
  const auto r = Process(loop, spec).wait(5s);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGINT, &old_int, nullptr);
  EXPECT_NE(r.out.find("\nSigBlk:\t0000000000000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nSigIgn:\t0000000000000000\n"), std::string::npos) << r.out;
}

TEST(Process, FreePortsAndAcceptingPorts) {
  std::set<std::uint16_t> ports;
  for (int i = 0; i < 20; ++i)
    ports.insert(harness::pick_free_port());
  EXPECT_EQ(ports.size(), 20U);
  const std::uint16_t port = *ports.begin();
  EXPECT_NE(port, 0);
  EXPECT_FALSE(harness::port_accepts(port));
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(0x7f000001U);
  address.sin_port = htons(port);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  EXPECT_TRUE(harness::port_accepts(port));
  ::close(fd);
}

TEST(Process, InvalidReadinessIsRejected) {
  EventLoop loop;
  Process p(loop, sh("exec sleep 30"));
  EXPECT_THROW((void)p.wait_ready(stdout_marker("")), tlsmatrix::Error);
  EXPECT_THROW((void)p.wait_ready(port_ready(0)), tlsmatrix::Error);
}

} // namespace
