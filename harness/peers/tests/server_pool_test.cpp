// Tests of pooled servers (harness/peers/src/server_pool.cpp) with small shell servers that print
// what a
// `--many` server prints, and of the strict parsing of a peer definition's "many".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include "common/error.hpp"
#include "harness/peers/registry.hpp"
#include "harness/peers/server_pool.hpp"
#include "harness/process/child_groups.hpp"
#include "harness/process/ports.hpp"
#include "harness/process/process.hpp"
#include "pki_fixture.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using harness::ManyServerSpec;
using harness::ProcessResult;
using harness::ServerPool;
using testing_support::ScratchDir;

// A server that listens on its port (a python child in its process group: the pool checks that
// the port is the server's), prints READY, then `lines`, then blocks reading its (open) stdin
// until killed; or exits when `lines` ends with "exit N".
ManyServerSpec shell_server(const std::string& key, const std::string& lines,
                            std::vector<std::string>* seen) {
  ManyServerSpec spec;
  spec.peer = "shell";
  spec.key = key;
  spec.command = [lines](std::uint16_t port, const fs::path&) {
    harness::ProcessSpec p;
    const std::string listen = "/usr/bin/python3 -c 'import socket, sys, time\n"
                               "s = socket.socket()\n"
                               "s.bind((\"127.0.0.1\", int(sys.argv[1])))\n"
                               "s.listen(8)\n"
                               "time.sleep(600)' \"$0\" & ";
    p.argv = {"/bin/sh", "-c", listen + "echo \"READY $0\"; " + lines + "; read x",
              std::to_string(port)};
    p.keep_stdin_open = true;
    return p;
  };
  spec.ready_marker = [](std::uint16_t port) { return "READY " + std::to_string(port); };
  spec.classify = [seen](const ProcessResult& r) {
    seen->push_back(r.out);
    harness::SideObservation o;
    o.peer = "shell";
    return o;
  };
  spec.reproduce = [](std::uint16_t port) {
    return "one-connection server on " + std::to_string(port);
  };
  return spec;
}

std::size_t count_files(const fs::path& dir, const std::string& ext) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    n += e.path().extension() == ext;
  return n;
}

TEST(ServerPool, EachCaseGetsOnlyItsConnectionsLines) {
  ScratchDir dir;
  std::vector<std::string> seen;
  // Lines of two connections, interleaved, as concurrent connections print them.
  const auto spec =
      shell_server("k",
                   "echo '@1111 HANDSHAKE TLSv1.3'; echo '@2222 ERROR handshake x'; "
                   "echo '@1111 COMPLETED client=a'; echo '@2222 END'; echo '@1111 END'",
                   &seen);
  {
    ServerPool pool(dir / "servers");
    auto a = pool.acquire(spec, 5s, dir / "a.out");
    auto b = pool.acquire(spec, 5s, dir / "b.out");
    EXPECT_EQ(a->port(), b->port()); // one process for both
    EXPECT_EQ(a->command_line(), "one-connection server on " + std::to_string(a->port()));
    a->upstream(1111);
    b->upstream(2222);
    (void)b->finish(5s);
    (void)a->finish(5s);
    const std::string ready = "READY " + std::to_string(a->port()) + "\n";
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0], ready + "ERROR handshake x\n");
    EXPECT_EQ(seen[1], ready + "HANDSHAKE TLSv1.3\nCOMPLETED client=a\n");
    EXPECT_EQ(testing_support::read_text(dir / "a.out"), seen[1]);
    EXPECT_EQ(count_files(dir / "servers", ".out"), 1u);
  }
  EXPECT_EQ(harness::live_child_groups(), 0u); // the pool stopped its server
}

TEST(ServerPool, ACaseThatNeverConnectedSeesOnlyTheReadyLine) {
  ScratchDir dir;
  std::vector<std::string> seen;
  ServerPool pool(dir / "servers");
  auto a = pool.acquire(shell_server("k", "true", &seen), 5s, {});
  (void)a->finish(100ms); // no upstream(): the client never reached the server
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "READY " + std::to_string(a->port()) + "\n");
}

TEST(ServerPool, HangingConnectionIsAnErrorAndRetiresTheServer) {
  ScratchDir dir;
  std::vector<std::string> seen;
  const auto spec = shell_server("k", "echo '@3333 HANDSHAKE TLSv1.2'", &seen);
  ServerPool pool(dir / "servers");
  {
    auto a = pool.acquire(spec, 5s, {});
    a->upstream(3333);
    try {
      (void)a->finish(1500ms);
      ADD_FAILURE() << "a connection without END must not be classified";
    } catch (const tlsmatrix::Error& e) {
      EXPECT_EQ(e.code(), tlsmatrix::Errc::peer);
      EXPECT_NE(std::string(e.what()).find("no \"@3333 END\""), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("HANDSHAKE TLSv1.2"), std::string::npos) << e.what();
    }
  }
  auto b = pool.acquire(spec, 5s, {}); // a fresh server, not the stuck one
  EXPECT_EQ(count_files(dir / "servers", ".out"), 2u);
  EXPECT_TRUE(seen.empty());
}

TEST(ServerPool, ServerThatDiesFailsItsCasesWithWhyAndIsReplaced) {
  ScratchDir dir;
  std::vector<std::string> seen;
  // It dies when told through a FIFO: once the case holds it and waits for its connection.
  const fs::path fifo = dir / "die";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const auto spec = shell_server(
      "k", "echo '@4444 HANDSHAKE TLSv1.2'; read x < " + fifo.string() + "; echo oops >&2; exit 3",
      &seen);
  ServerPool pool(dir / "servers");
  {
    auto a = pool.acquire(spec, 5s, {});
    a->upstream(4444);
    testing_support::write_text(fifo, "now\n");
    try {
      (void)a->finish(5s);
      ADD_FAILURE() << "a dead server's case must not be classified";
    } catch (const tlsmatrix::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("pooled shell server exited with code 3"), std::string::npos) << what;
      EXPECT_NE(what.find("oops"), std::string::npos) << what;
      EXPECT_NE(what.find("HANDSHAKE TLSv1.2"), std::string::npos) << what;
    }
  }
  // The next case gets a fresh process.
  auto b = pool.acquire(spec, 5s, {});
  EXPECT_EQ(count_files(dir / "servers", ".out"), 2u);
  EXPECT_TRUE(seen.empty());
  testing_support::write_text(fifo, "now\n"); // let it go
}

TEST(ServerPool, ServerThatNeverGetsReadyIsAnError) {
  ScratchDir dir;
  std::vector<std::string> seen;
  auto spec = shell_server("k", "true", &seen);
  spec.ready_marker = [](std::uint16_t) { return std::string("NEVER PRINTED"); };
  ServerPool pool(dir / "servers");
  EXPECT_THROW((void)pool.acquire(spec, 300ms, {}), tlsmatrix::Error);
}

// A TCP connection to 127.0.0.1:port and the source port the server sees.
struct Connection {
  int fd = -1;
  std::uint16_t source = 0;
  explicit Connection(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0)
      ADD_FAILURE() << "connect";
    sockaddr_in me{};
    socklen_t len = sizeof me;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len);
    source = ntohs(me.sin_port);
  }
  void close() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
  ~Connection() { close(); }
};

// Each of our peer programs in its --many mode, seen from outside: two concurrent connections
// (plain TCP that never speaks TLS), each line prefixed with the client's own source port, and
// each connection's END only once that connection is closed.
class ManyMode : public ::testing::TestWithParam<std::string> {};

TEST_P(ManyMode, LinesArePrefixedWithTheClientsSourcePortAndEndAfterItsClose) {
  const fs::path src = testing_support::source_dir() / "harness/peer-programs";
  std::vector<std::string> argv;
  if (GetParam() == "python")
    argv = {"/usr/bin/python3", (src / "tlspeer.py").string()};
  if (GetParam() == "node")
    argv = {"node", (src / "tlspeer.js").string()};
  if (GetParam() == "go")
    argv = {(fs::path(testing_support::tlsmatrix_binary()).parent_path().parent_path() /
             "harness/peer-programs/tlspeer-go")
                .string()};
  if (!harness::find_program(argv.front()))
    GTEST_SKIP() << argv.front() << " is not installed";
  const auto& pki = testing_support::default_pki();
  const std::uint16_t port = harness::pick_free_port();
  const std::vector<std::string> args{"server",
                                      "--port",
                                      std::to_string(port),
                                      "--many",
                                      "--cert",
                                      pki.file("server", "cert").string(),
                                      "--key",
                                      pki.file("server", "key").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  harness::EventLoop loop;
  harness::ProcessSpec spec;
  spec.argv = argv;
  harness::Process server(loop, spec);
  ASSERT_TRUE(server.wait_ready(
      {harness::Readiness::Kind::stdout_marker, "READY " + std::to_string(port), 0, 20s}))
      << server.out_so_far() << server.err_so_far();
  Connection a(port), b(port);
  const std::string end_a = "@" + std::to_string(a.source) + " END\n";
  const std::string end_b = "@" + std::to_string(b.source) + " END\n";
  b.close();
  auto has = [](const std::string& text) {
    return [text](const std::string& out, const std::string&) {
      return out.find(text) != std::string::npos;
    };
  };
  EXPECT_TRUE(server.wait_output(has(end_b), 20s)) << server.out_so_far();
  EXPECT_EQ(server.out_so_far().find(end_a), std::string::npos) << "a's END while a is open";
  a.close();
  EXPECT_TRUE(server.wait_output(has(end_a), 20s)) << server.out_so_far();
  std::istringstream lines(server.out_so_far());
  std::size_t about_a = 0, about_b = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line == "READY " + std::to_string(port))
      continue;
    const bool is_a = line.starts_with("@" + std::to_string(a.source) + " ");
    const bool is_b = line.starts_with("@" + std::to_string(b.source) + " ");
    EXPECT_TRUE(is_a || is_b) << "a line about no connection: " << line;
    about_a += is_a;
    about_b += is_b;
  }
  // END, and (python, go) an ERROR line; Node says nothing of a connection that closes before
  // its handshake, with or without --many.
  EXPECT_GE(about_a, 1u);
  EXPECT_GE(about_b, 1u);
  (void)server.stop();
}

INSTANTIATE_TEST_SUITE_P(Programs, ManyMode, ::testing::Values("python", "node", "go"));

// "many" is strict: only for a server, which must say when it is ready on stdout.
TEST(PeerDefinition, ManyIsOnlyForAServerWithAStdoutReadyMarker) {
  ScratchDir dir;
  const auto base = nlohmann::json::parse(
      testing_support::read_text(testing_support::source_dir() / "harness/peers/python.json"));
  struct Bad {
    const char* pointer;
    std::function<void(nlohmann::json&)> change;
  } bad[] = {
      {"/client/many", [](nlohmann::json& d) { d["client"]["many"] = {"--many"}; }},
      {"/server/many", [](nlohmann::json& d) { d["server"]["many"] = nlohmann::json::array(); }},
      {"/server/many", [](nlohmann::json& d) { d["server"]["many"] = "--many"; }},
      {"/server/many",
       [](nlohmann::json& d) {
         d["server"]["ready"] = {{"stderr", "READY {port}"}};
       }},
  };
  for (const auto& b : bad) {
    auto d = base;
    b.change(d);
    const fs::path file = dir / "bad.json";
    testing_support::write_text(file, d.dump());
    try {
      (void)harness::load_cli_peer(file);
      ADD_FAILURE() << "accepted: " << d.dump();
    } catch (const tlsmatrix::Error& e) {
      EXPECT_NE(std::string(e.what()).find(file.string() + ": " + b.pointer), std::string::npos)
          << e.what();
    }
  }
}

} // namespace
