// Integration tests of our peer programs over each language's standard TLS API
// (harness/peer-programs/, described by harness/peers/<lang>.json): the default suite between our
// endpoints and each program, through the tlsmatrix binary (CTest labels integration,
// peer-<lang>). Every case must pass except a stack's documented differences. Skipped, with the
// reason, when the language's runtime is not installed.
#include "peer_matrix.hpp"

namespace {

using namespace peer_matrix;

// Both sides of a case as the program printed them: the contract's lines must reach the verdict.
void check_contract(const json& results, const std::string& peer) {
  // TLS 1.3: the client's handshake succeeds and the server's rejection shows only on the read
  // (PEERS.md trap 5) — the program must have read, and said in which phase it failed.
  const json* late = find_case(results, "client-expired/1.3/" + peer + "->local");
  ASSERT_NE(late, nullptr);
  const json& client = late->at("observation").at("client");
  EXPECT_EQ(client.at("outcome"), "error") << client.dump();
  EXPECT_EQ(client.at("phase"), "first_read") << client.dump();
  EXPECT_NE(str(client.at("error_text")).find("ERROR read "), std::string::npos) << client.dump();
  // The server program names the client it served.
  const json* mutual = find_case(results, "mutual/1.3/local->" + peer);
  ASSERT_NE(mutual, nullptr);
  EXPECT_EQ(str(mutual->at("observation").at("server").at("peer_identity")),
            "/O=tlsmatrix/CN=tlsmatrix client")
      << mutual->dump();
}

class PythonPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("python"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "python is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* PythonPeer::run_ = nullptr;

TEST_F(PythonPeer, DefaultSuitePassesInBothDirections) {
  // Python's ssl is OpenSSL 3.0, like our endpoints: no differences.
  check_matrix(*run_, "python", nullptr, nullptr);
}

TEST_F(PythonPeer, ProgramFollowsTheContract) { check_contract(run_->results(), "python"); }

} // namespace
