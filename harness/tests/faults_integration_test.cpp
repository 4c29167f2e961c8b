// Peers that are missing, exit at once, never become ready or hang mid-handshake, and Ctrl-C in
// the middle of a run: each ends as a recorded result with a clear reason, and nothing lingers.
#include <gtest/gtest.h>

#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/process/process.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

const fs::path fault_peers = testing_support::source_dir() / "harness/tests/data/fault-peers";

// Processes whose command line contains `token` (fault fixtures carry a unique one).
int processes_with(const std::string& token) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), {});
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(token) != std::string::npos && cmd.find("gtest") == std::string::npos)
      ++n;
  }
  return n;
}

json case_by_id(const json& results, const std::string& id) {
  for (const auto& c : results.at("cases"))
    if (c.at("id") == id)
      return c;
  ADD_FAILURE() << "no case " << id;
  return json::object();
}

// These peers are broken on purpose, so the sanity gate would report them adapter_broken before
// their faults are seen (sanity gate: shard_merge_integration_test.cpp): --no-sanity.
TEST(Faults, EachFaultIsARecordedResult) {
  ScratchDir dir;
  const auto started = std::chrono::steady_clock::now();
  const auto r = testing_support::run(
      {testing_support::tlsmatrix_binary(), "run", "--no-sanity", "--peer-defs",
       fault_peers.string(), "--peers", "local,ghost,quitter,sleeper,mute", "--filter",
       "one-way/1.3/*", "--timeout", "2", "--jobs", "2", "--out", (dir / "results").string()},
      "", std::chrono::seconds(60));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err; // some cases did not pass
  EXPECT_LT(seconds, 20.0) << "faults must be bounded by the case timeout";
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));

  EXPECT_EQ(case_by_id(results, "one-way/1.3/local->local").at("verdict").at("grade"), "pass");
  const auto ghost = case_by_id(results, "one-way/1.3/local->ghost");
  EXPECT_EQ(ghost.at("verdict").at("grade"), "not_applicable");
  EXPECT_NE(ghost.at("verdict").at("detail").get<std::string>().find("not installed"),
            std::string::npos);
  const auto quits = case_by_id(results, "one-way/1.3/local->quitter");
  EXPECT_EQ(quits.at("verdict").at("grade"), "harness_error");
  EXPECT_NE(quits.at("verdict").at("detail").get<std::string>().find("exited"), std::string::npos);
  const auto quits_client = case_by_id(results, "one-way/1.3/quitter->local");
  EXPECT_EQ(quits_client.at("verdict").at("grade"), "fail");
  EXPECT_EQ(quits_client.at("observation").at("client").at("exit_code"), 7);
  EXPECT_EQ(quits_client.at("observation").at("client").at("reason"), "unmapped");
  const auto sleeper = case_by_id(results, "one-way/1.3/local->sleeper");
  EXPECT_EQ(sleeper.at("verdict").at("grade"), "harness_error");
  EXPECT_NE(sleeper.at("verdict").at("detail").get<std::string>().find("did not become ready"),
            std::string::npos);
  const auto mute = case_by_id(results, "one-way/1.3/local->mute");
  EXPECT_EQ(mute.at("verdict").at("grade"), "timeout") << mute.at("verdict").at("detail");
  EXPECT_EQ(processes_with("tlsmatrix-fault-"), 0) << "a fault fixture outlived the run";
}

TEST(Faults, CtrlCSavesFinishedCasesAndLeavesNoProcess) {
  ScratchDir dir;
  harness::EventLoop loop;
  harness::ProcessSpec spec;
  spec.argv = {testing_support::tlsmatrix_binary(),
               "run",
               "--no-sanity",
               "--peer-defs",
               fault_peers.string(),
               "--peers",
               "local,mute",
               "--filter",
               "one-way/1.3/*",
               "--timeout",
               "60",
               "--jobs",
               "1",
               "--out",
               (dir / "results").string()};
  harness::Process run(loop, spec);
  // The first case (local->local) is reported; the second hangs on the mute server.
  harness::Readiness first_case{harness::Readiness::Kind::stdout_marker, "one-way/1.3/local->local",
                                0, std::chrono::seconds(30)};
  ASSERT_TRUE(run.wait_ready(first_case)) << run.out_so_far() << run.err_so_far();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (processes_with("tlsmatrix-fault-mute") == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_GT(processes_with("tlsmatrix-fault-mute"), 0) << "the hanging server never started";
  ASSERT_EQ(::kill(run.pid(), SIGINT), 0);
  const auto result = run.wait(std::chrono::seconds(15));
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code.value_or(-1), 130) << result.out << result.err;
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));
  EXPECT_TRUE(results.at("interrupted").get<bool>());
  ASSERT_EQ(results.at("cases").size(), 1u);
  EXPECT_EQ(results.at("cases")[0].at("id"), "one-way/1.3/local->local");
  EXPECT_EQ(processes_with("tlsmatrix-fault-mute"), 0) << "the hanging server outlived Ctrl-C";
}

TEST(Faults, BusyPortIsRetriedOnAnotherPort) {
  // s_server reports a taken port and exits 0 (docs/peers.md#s_server-busy-port-exits-0). This fixture does exactly that
  // on its first start and becomes ready on the second (listening on its port: a marker alone is
  // no readiness); the harness must retry, not give up.
  ScratchDir dir;
  fs::create_directories(dir / "peers");
  const std::string state = (dir / "started-once").string();
  testing_support::write_text(dir / "peers/busy.json", R"({"version": 1, "name": "busy",
    "description": "fault fixture: port taken on the first attempt", "program": "/bin/sh",
    "roles": ["server"], "capabilities": ["tls1.2", "tls1.3"],
    "server": {"argv": ["-c", "if [ -e \"$0\" ]; then exec /usr/bin/python3 -c \"import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',int(sys.argv[1])))\ns.listen(8)\nprint('READY',flush=True)\ntime.sleep(600)\" \"$1\" \"$2\"; else : > \"$0\"; echo 'connect: Address already in use'; exit 0; fi", ")" +
                                                           state +
                                                           R"(", "{port}", "tlsmatrix-fault-busy"],
               "tls": {}, "ready": {"stdout": "READY"}, "port_busy": "Address already in use"}})");
  const auto r = testing_support::run({testing_support::tlsmatrix_binary(), "run", "--no-sanity",
                                       "--peer-defs", (dir / "peers").string(), "--peers",
                                       "local,busy", "--filter", "one-way/1.3/local->busy",
                                       "--timeout", "2", "--out", (dir / "results").string()},
                                      "", std::chrono::seconds(30));
  const auto results = json::parse(testing_support::read_text(dir / "results/latest/results.json"));
  const auto c = case_by_id(results, "one-way/1.3/local->busy");
  // It started on the second attempt; it is no TLS server, so the case itself cannot pass.
  EXPECT_NE(c.at("verdict").at("grade"), "harness_error") << c.at("verdict").at("detail");
  EXPECT_TRUE(fs::exists(state));
  EXPECT_EQ(processes_with("tlsmatrix-fault-busy"), 0);
}

} // namespace
