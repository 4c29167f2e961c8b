// The wire trace of `tlsmatrix run` end to end: every case goes through the relay, results.json
// holds the decoded (and, from our endpoints' key logs, decrypted) handshake, `tlsmatrix trace`
// draws it, and `--pcap` writes captures that tshark reads.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

struct MatrixRun {
  testing_support::CommandResult result;
  json results;
};

MatrixRun run_matrix(const ScratchDir& dir, const std::string& filter, bool pcap) {
  std::vector<std::string> argv = {testing_support::tlsmatrix_binary(),
                                   "run",
                                   "--peers",
                                   "local",
                                   "--filter",
                                   filter,
                                   "--jobs",
                                   "2",
                                   "--quiet",
                                   "--out",
                                   (dir / "results").string()};
  if (pcap)
    argv.push_back("--pcap");
  MatrixRun r{testing_support::run(argv, "", std::chrono::seconds(120)), json()};
  const fs::path latest = dir / "results" / "latest" / "results.json";
  if (fs::exists(latest))
    r.results = json::parse(testing_support::read_text(latest));
  return r;
}

const json* find(const json& results, const std::string& id) {
  for (const auto& c : results.at("cases"))
    if (c.at("id") == id)
      return &c;
  return nullptr;
}

// The names of the trace's handshake/CCS/alert events as "C:Name" / "S:Name".
std::vector<std::string> steps(const json& c) {
  std::vector<std::string> out;
  for (const auto& e : c.at("trace")) {
    const std::string kind = e.at("kind");
    if (kind == "application_data" || kind == "encrypted")
      continue;
    out.push_back((e.at("direction") == "client->server" ? "C:" : "S:") +
                  e.at("name").get<std::string>());
  }
  return out;
}

// `want` appears in `have` in this order (other steps may come between).
::testing::AssertionResult in_order(const std::vector<std::string>& have,
                                    const std::vector<std::string>& want) {
  std::size_t i = 0;
  for (const auto& h : have)
    if (i < want.size() && h == want[i])
      ++i;
  if (i == want.size())
    return ::testing::AssertionSuccess();
  std::string got;
  for (const auto& h : have)
    got += h + " ";
  return ::testing::AssertionFailure() << "missing " << want[i] << " (in order) in: " << got;
}

TEST(WireTrace, OneWayHandshakesAreRecordedDecryptedAndCaptured) {
  ScratchDir dir;
  const MatrixRun r = run_matrix(dir, "one-way/*", true);
  ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
  const json* tls12 = find(r.results, "one-way/1.2/local->local");
  const json* tls13 = find(r.results, "one-way/1.3/local->local");
  ASSERT_TRUE(tls12 && tls13);
  EXPECT_EQ(tls12->at("verdict").at("grade"), "pass");
  EXPECT_EQ(tls13->at("verdict").at("grade"), "pass");
  EXPECT_TRUE(
      in_order(steps(*tls12), {"C:ClientHello", "S:ServerHello", "S:Certificate",
                               "S:ServerHelloDone", "C:ClientKeyExchange", "C:ChangeCipherSpec",
                               "C:Finished", "S:ChangeCipherSpec", "S:Finished"}));
  EXPECT_TRUE(in_order(steps(*tls13),
                       {"C:ClientHello", "S:ServerHello", "S:EncryptedExtensions", "S:Certificate",
                        "S:CertificateVerify", "S:Finished", "C:Finished"}));
  bool decrypted = false;
  for (const auto& e : tls13->at("trace"))
    if (e.at("name") == "EncryptedExtensions")
      decrypted = e.at("decrypted").get<bool>();
  EXPECT_TRUE(decrypted);
  EXPECT_TRUE(tls13->at("trace_summary").at("keys_found").get<bool>());
  for (const auto& e : tls13->at("trace")) {
    EXPECT_TRUE(e.contains("time_ms") && e.contains("size") && e.contains("detail")) << e.dump();
  }

  // The ladder of one case, by a unique substring of its id.
  const auto ladder =
      testing_support::run({testing_support::tlsmatrix_binary(), "trace", "1.3/local", "--results",
                            (dir / "results" / "latest").string()});
  ASSERT_EQ(ladder.exit_code, 0) << ladder.err;
  EXPECT_NE(ladder.out.find("one-way/1.3/local->local"), std::string::npos) << ladder.out;
  const auto hello = ladder.out.find(" ClientHello -");
  const auto ee = ladder.out.find("- EncryptedExtensions");
  EXPECT_NE(hello, std::string::npos) << ladder.out;
  EXPECT_NE(ee, std::string::npos) << ladder.out;
  EXPECT_LT(hello, ee);
  EXPECT_NE(ladder.out.find("verdict: pass"), std::string::npos) << ladder.out;
  // Two cases match "one-way": an error naming them.
  const auto ambiguous =
      testing_support::run({testing_support::tlsmatrix_binary(), "trace", "one-way", "--results",
                            (dir / "results" / "latest").string()});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("one-way/1.2/local->local"), std::string::npos) << ambiguous.err;

  // --pcap: a capture per case, which tshark decrypts with the key log inside it.
  for (const json* c : {tls12, tls13}) {
    const fs::path capture = fs::path(c->at("logs").at("dir").get<std::string>()) / "case.pcapng";
    ASSERT_TRUE(fs::exists(capture)) << capture;
    if (!testing_support::have_program("tshark"))
      continue;
    const auto t = testing_support::run({"tshark", "-r", capture.string(), "-Y", "tls.handshake",
                                         "-T", "fields", "-e", "tls.handshake.type"});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_NE(t.out.find('1'), std::string::npos) << t.out; // ClientHello
    if (c == tls13) {
      EXPECT_NE(t.out.find('8'), std::string::npos) << t.out; // EncryptedExtensions, decrypted
    }
  }
  if (!testing_support::have_program("tshark"))
    GTEST_SKIP() << "tshark is not installed (captures written, not read)";
}

TEST(WireTrace, FirstReadRejectionKeepsItsVerdictAndShowsTheAlert) {
  ScratchDir dir;
  const MatrixRun r = run_matrix(dir, "client-expired/1.3/*", false);
  ASSERT_EQ(r.result.exit_code, 0) << r.result.err;
  const json* c = find(r.results, "client-expired/1.3/local->local");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->at("verdict").at("grade"), "pass");
  EXPECT_TRUE(in_order(steps(*c),
                       {"C:ClientHello", "S:ServerHello", "S:CertificateRequest", "C:Certificate",
                        "C:CertificateVerify", "C:Finished", "S:fatal certificate_expired"}));
  // Without --pcap a passing case keeps no capture.
  EXPECT_FALSE(fs::exists(fs::path(c->at("logs").at("dir").get<std::string>()) / "case.pcapng"));
  const auto ladder =
      testing_support::run({testing_support::tlsmatrix_binary(), "trace", "client-expired/1.3/*",
                            "--results", (dir / "results" / "latest" / "results.json").string()});
  ASSERT_EQ(ladder.exit_code, 0) << ladder.err;
  EXPECT_NE(ladder.out.find("✗ fatal certificate_expired"), std::string::npos) << ladder.out;
}

} // namespace
