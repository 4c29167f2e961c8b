// Integration tests of pooled servers (one `--many` server process per configuration, shared by
// the cases that need it): the default suite gives the same per-case results with and without
// pooling, each case's lines really come from one shared process, and a pooled server that dies
// costs only the cases it was serving (harness_error, with why) while later cases get a fresh one.
// Through the tlsmatrix binary and our real peer programs (CTest label integration).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "harness/process/process.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

std::string str(const json& v) {
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::string> unavailable(const std::string& peer) {
  for (const auto& p : harness::load_peers())
    if (p->info().name == peer)
      return p->info().unavailable;
  return "no peer definition named " + peer;
}

json run_matrix(const std::vector<std::string>& extra, const fs::path& out,
                const std::string& jobs = "2") {
  std::vector<std::string> argv{
      testing_support::tlsmatrix_binary(), "run", "--jobs", jobs, "--out", out.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  const auto r = testing_support::run(argv, "", std::chrono::seconds(300));
  const fs::path latest = out / "latest" / "results.json";
  if (!fs::exists(latest)) {
    ADD_FAILURE() << "no results.json: " << r.out << r.err;
    return json();
  }
  return json::parse(testing_support::read_text(latest));
}

// What must not change when the server process is shared: the verdict and how each side saw it.
// Except one race that is TLS's, not ours (docs/peers.md#tls13-client-cert-rejection-after-handshake): when a TLS 1.3 server rejects the
// client's certificate, the client has finished its handshake and sent its request, and reads
// either the server's alert or a reset that overtook it — in either mode, from run to run. There
// the client's view and the alert it reports are left out; the server's view still counts.
std::string behaviour(const json& c) {
  const json& v = c.at("verdict");
  const json& s = c.at("observation").at("server");
  const json& cl = c.at("observation").at("client");
  const bool raced = c.at("tls") == "1.3" && v.at("rejected_by") == "server";
  std::string b = str(v.at("grade")) + " reason=" + str(v.at("reason")) +
                  " rejected_by=" + str(v.at("rejected_by")) + " | server " +
                  str(s.value("outcome", json())) + " " + str(s.value("reason", json())) + " " +
                  str(s.value("phase", json())) + " id=" + str(s.value("peer_identity", json()));
  if (!raced)
    b += " | alert=" + str(v.at("alert")) + " from=" + str(v.at("alert_from")) + " | client " +
         str(cl.value("outcome", json())) + " " + str(cl.value("reason", json()));
  return b;
}

std::vector<fs::path> server_logs(const fs::path& out) {
  std::vector<fs::path> logs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::canonical(out / "latest") / "servers", ec))
    if (e.path().extension() == ".out")
      logs.push_back(e.path());
  return logs;
}

// Processes still running whose command line mentions `needle` (nothing may linger after a run).
std::vector<std::string> processes_mentioning(const std::string& needle) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::string cmd;
    try { // a process may end while we read it
      std::ifstream in(e.path() / "cmdline", std::ios::binary);
      cmd.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } catch (const std::exception&) {
      continue;
    }
    if (cmd.find(needle) != std::string::npos)
      found.push_back(pid + ": " + cmd);
  }
  return found;
}

// Go's crypto/tls decides every default case the same way each time (Python and Node have TLS 1.3
// races, docs/peers.md#tls13-client-cert-rejection-after-handshake and #node-closes-without-an-alert, in both modes alike), so any difference here is pooling's doing.
TEST(PooledServers, DefaultSuiteGivesTheSameResultsAsOneServerPerCase) {
  if (auto why = unavailable("go"))
    GTEST_SKIP() << "go is not available: " << *why;
  ScratchDir dir;
  const json pooled = run_matrix({"--peers", "local,go"}, dir / "pooled");
  const json single =
      run_matrix({"--peers", "local,go", "--no-reuse", "--pki", (dir / "pooled" / "pki").string()},
                 dir / "single");
  ASSERT_FALSE(pooled.is_null() || single.is_null());
  std::map<std::string, std::string> expected;
  for (const auto& c : single.at("cases"))
    expected[str(c.at("id"))] = behaviour(c);
  ASSERT_EQ(pooled.at("cases").size(), expected.size());
  std::size_t go_served = 0;
  for (const auto& c : pooled.at("cases")) {
    const std::string id = str(c.at("id"));
    ASSERT_TRUE(expected.contains(id)) << id;
    EXPECT_EQ(behaviour(c), expected[id]) << id;
    if (c.at("server") != "go" || c.at("verdict").at("grade") == "not_applicable" ||
        c.at("verdict").at("grade") == "refused") // nothing of go's ran, or its key was refused
      continue;
    ++go_served;
    // What a user pastes is the one-connection server, not the pooled one.
    const std::string reproduce = str(c.at("reproduce").at("server"));
    EXPECT_EQ(reproduce.find("--many"), std::string::npos) << reproduce;
    EXPECT_NE(reproduce.find("--port "), std::string::npos) << reproduce;
  }
  ASSERT_GT(go_served, 0u);
  // The sanity gate's positive controls that are not matrix cases ran on the pooled servers too.
  std::set<std::string> matrix_ids;
  for (const auto& c : pooled.at("cases"))
    matrix_ids.insert(str(c.at("id")));
  const json& gate = pooled.at("sanity").at("peers");
  ASSERT_TRUE(gate.contains("go") && gate.at("go").contains("server")) << gate.dump();
  for (const auto& check : gate.at("go").at("server").at("cases"))
    if (!matrix_ids.contains(str(check.at("id"))) && check.at("grade") != "not_applicable" &&
        check.at("grade") != "refused")
      ++go_served;

  // The shared processes' own logs: every served case's connection ended there, under its own
  // source port, and far fewer processes than cases served them.
  const std::regex end_line(R"(^@(\d+) END$)");
  std::set<std::string> ports;
  std::size_t ends = 0;
  const auto logs = server_logs(dir / "pooled");
  for (const auto& log : logs) {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
      std::smatch m;
      if (!std::regex_match(line, m, end_line))
        continue;
      ++ends;
      ports.insert(m[1]);
    }
  }
  EXPECT_EQ(ends, go_served);
  // Scenarios that configure the server alike (mutual and the client-certificate faults) share.
  EXPECT_GE(logs.size(), 1u);
  EXPECT_LT(logs.size(), go_served)
      << logs.size() << " server processes for " << go_served << " cases";
  // Without pooling there is no shared process at all.
  EXPECT_TRUE(server_logs(dir / "single").empty());
}

// A pooled server (Python's, behind a shell that kills its whole process group as soon as a
// connection completed its handshake) dies under the case it serves: that case becomes
// harness_error naming the pooled server, the next case starts a fresh one (and passes when its
// handshake fails, so the server lives to tell), and nothing is left running afterwards.
TEST(PooledServers, ServerThatDiesCostsOnlyItsCasesAndIsReplaced) {
  if (auto why = unavailable("python"))
    GTEST_SKIP() << "python is not available: " << *why;
  ScratchDir dir;
  json def = json::parse(
      testing_support::read_text(testing_support::source_dir() / "harness/peers/python.json"));
  def["name"] = "dying";
  def["program"] = "/bin/sh";
  def["roles"] = json::array({"server"});
  def.erase("client");
  def.erase("version_argv");
  const std::string program =
      (testing_support::source_dir() / "harness/peer-programs/tlspeer.py").string();
  json argv = json::array(
      {"-c",
       "/usr/bin/python3 \"$0\" \"$@\" | while IFS= read -r l; do printf '%s\\n' \"$l\"; "
       "case \"$l\" in *' HANDSHAKE '*) kill 0;; esac; done",
       program});
  for (const auto& a : def["server"]["argv"])
    argv.push_back(a);
  argv.erase(3); // the python.json's own program argument (tlspeer.py under {definition_dir})
  def["server"]["argv"] = argv;
  fs::create_directories(dir / "defs");
  testing_support::write_text(dir / "defs" / "dying.json", def.dump(2));

  const json r = run_matrix({"--peers", "local,dying", "--peer-defs", (dir / "defs").string(),
                             "--filter", "*/local->dying", "--timeout", "5",
                             // broken on purpose: the sanity gate would report it before its
                             // cases show how the pool copes
                             "--no-sanity"},
                            dir / "out", "1");
  ASSERT_FALSE(r.is_null());
  std::size_t passed = 0, errors = 0, passed_after_error = 0;
  for (const auto& c : r.at("cases")) {
    const json& v = c.at("verdict");
    // A server that refuses its own key never starts: that is the stack, not the pool.
    if (v.at("grade") == "not_applicable" || v.at("grade") == "refused")
      continue;
    if (v.at("grade") == "pass") {
      ++passed;
      if (errors > 0)
        ++passed_after_error;
      continue;
    }
    ++errors;
    EXPECT_EQ(v.at("grade"), "harness_error") << c.at("id") << ": " << v.dump();
    EXPECT_NE(str(v.at("detail")).find("pooled dying server"), std::string::npos) << v.dump();
  }
  // Accepted scenarios (one-way, mutual, …) kill it; rejected ones (server-expired, …) pass.
  const auto logs = server_logs(dir / "out");
  EXPECT_GE(errors, 4u) << passed << " passed";
  EXPECT_GE(passed_after_error, 4u) << errors << " errors";
  EXPECT_GT(logs.size(), 1u);
  EXPECT_TRUE(processes_mentioning((dir / "out").string()).empty());
}

// Ctrl-C while pooled servers are running: the run ends with 130 and takes them all with it.
TEST(PooledServers, CtrlCLeavesNoPooledServerBehind) {
  if (auto why = unavailable("python"))
    GTEST_SKIP() << "python is not available: " << *why;
  ScratchDir dir;
  harness::EventLoop loop;
  harness::ProcessSpec spec;
  spec.argv = {
      testing_support::tlsmatrix_binary(), "run", "--peers", "local,python", "--jobs", "2", "--out",
      (dir / "results").string()};
  harness::Process run(loop, spec);
  const std::string mark = (dir / "results").string();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto pooled = [&] {
    std::size_t n = 0;
    for (const auto& p : processes_mentioning(mark))
      n += p.find("--many") != std::string::npos;
    return n;
  };
  while (pooled() == 0 && run.running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  ASSERT_GT(pooled(), 0u) << "no pooled server started: " << run.out_so_far() << run.err_so_far();
  ASSERT_EQ(::kill(run.pid(), SIGINT), 0);
  const auto result = run.wait(std::chrono::seconds(20));
  EXPECT_FALSE(result.timed_out);
  EXPECT_EQ(result.exit_code.value_or(-1), 130) << result.out << result.err;
  EXPECT_TRUE(processes_mentioning(mark).empty());
}

} // namespace
