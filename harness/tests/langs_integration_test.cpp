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
  // (docs/peers.md#tls13-client-cert-rejection-after-handshake) — the program must have read, and said in which phase it failed.
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

// The seed scenarios with static RSA key exchange (17, 18) need rsa_kx, which these stacks refuse
// by default (docs/peers.md#static-rsa-key-exchange): not applicable in both directions.
#define NO_RSA_KX(peer)                                                                            \
  {"one-way-rsa-kx", "1.2", peer, "local", "not_applicable", "", "", "", "no rsa_kx"},             \
      {"one-way-rsa-kx", "1.2", "local", peer, "not_applicable", "", "", "", "no rsa_kx"},         \
      {"mutual-rsa-kx", "1.2", peer, "local", "not_applicable", "", "", "", "no rsa_kx"}, {        \
    "mutual-rsa-kx", "1.2", "local", peer, "not_applicable", "", "", "", "no rsa_kx"               \
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
  // Python's ssl is OpenSSL 3.0, like our endpoints: no differences but its default ciphers.
  const KnownDifference python_differences[] = {NO_RSA_KX("python")};
  check_matrix(*run_, "python", std::begin(python_differences), std::end(python_differences));
}

TEST_F(PythonPeer, ProgramFollowsTheContract) {
  check_contract(run_->results(), "python");
}

// Node's tls closes a connection it refuses without an alert, as client and as server (docs/peers.md
// #node-closes-without-an-alert): our OpenSSL endpoint then sees an unexpected EOF, and the only alert of the exchange is
// the decode_error OpenSSL 3 records for that EOF (its side, its own doing). Right reason, and the
// stack's real alert behaviour: graded wrong_reason.
#define NODE_NO_ALERT(scenario, client, server, from)                                              \
  {                                                                                                \
    scenario, "1.3", client, server, "wrong_reason", "", "decode_error", from,                     \
        "Node closes without an alert (docs/peers.md#node-closes-without-an-alert); OpenSSL records decode_error for the EOF"          \
  }
// TLS 1.2: Node's client even completes the handshake (ClientKeyExchange … Finished) with a server
// it does not trust and only then closes: the wire deviates from the scenario's flow.
#define NODE_COMPLETES_12(scenario)                                                                \
  {                                                                                                \
    scenario, "1.2", "node", "local", "fail", "", "decode_error", "server",                        \
        "Node's client finishes the TLS 1.2 handshake before refusing (expect.flow mismatch)"      \
  }
#define NODE_NO_ALERT_12(scenario, client, server, from)                                           \
  {                                                                                                \
    scenario, "1.2", client, server, "wrong_reason", "", "decode_error", from,                     \
        "Node closes without an alert (docs/peers.md#node-closes-without-an-alert); OpenSSL records decode_error for the EOF"          \
  }
// TLS 1.3: our client has finished its handshake and sent its request when the Node server closes;
// it reads either the EOF (decode_error recorded, as above) or a reset (no alert at all: pass).
#define NODE_CLOSE_RACE_13(scenario)                                                               \
  {                                                                                                \
    scenario, "1.3", "local", "node", "wrong_reason", "", "decode_error", "client",                \
        "Node closes without an alert (docs/peers.md#node-closes-without-an-alert); our client reads the EOF or a reset", true         \
  }
const KnownDifference node_differences[] = {
    NODE_NO_ALERT("server-untrusted-root", "node", "local", "server"),
    NODE_COMPLETES_12("server-untrusted-root"),
    NODE_NO_ALERT("server-expired", "node", "local", "server"),
    NODE_COMPLETES_12("server-expired"),
    NODE_NO_ALERT("server-not-yet-valid", "node", "local", "server"),
    NODE_COMPLETES_12("server-not-yet-valid"),
    NODE_NO_ALERT("server-hostname-mismatch", "node", "local", "server"),
    NODE_COMPLETES_12("server-hostname-mismatch"),
    NODE_NO_ALERT("server-wrong-eku", "node", "local", "server"),
    NODE_COMPLETES_12("server-wrong-eku"),
    NODE_NO_ALERT("server-self-signed", "node", "local", "server"),
    NODE_COMPLETES_12("server-self-signed"),
    NODE_NO_ALERT("server-missing-intermediate", "node", "local", "server"),
    NODE_COMPLETES_12("server-missing-intermediate"),
    NODE_NO_ALERT_12("client-untrusted-root", "local", "node", "client"),
    NODE_NO_ALERT_12("client-expired", "local", "node", "client"),
    NODE_NO_ALERT_12("client-wrong-eku", "local", "node", "client"),
    NODE_CLOSE_RACE_13("client-untrusted-root"),
    NODE_CLOSE_RACE_13("client-expired"),
    NODE_CLOSE_RACE_13("client-wrong-eku"),
    {"client-revoked", "", "node", "local", "not_applicable", "", "", "",
     "no crl_check: Node's crl option checks CRLs for the whole chain (CRL_CHECK_ALL)"},
    {"client-revoked", "", "local", "node", "not_applicable", "", "", "",
     "no crl_check: Node's crl option checks CRLs for the whole chain (CRL_CHECK_ALL)"},
    NO_RSA_KX("node"),
};
#undef NODE_NO_ALERT
#undef NODE_COMPLETES_12
#undef NODE_NO_ALERT_12
#undef NODE_CLOSE_RACE_13

class NodePeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("node"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "node is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* NodePeer::run_ = nullptr;

TEST_F(NodePeer, DefaultSuitePassesExceptKnownDifferences) {
  check_matrix(*run_, "node", std::begin(node_differences), std::end(node_differences));
}

TEST_F(NodePeer, ProgramFollowsTheContract) {
  check_contract(run_->results(), "node");
}

// Go withholds a client certificate whose issuer is not among the server's CertificateRequest CAs
// (docs/peers.md#client-withholds-certificate-not-in-ca-list): "untrusted client certificate" becomes "no client certificate" on the wire.
const KnownDifference go_differences[] = {
    NO_RSA_KX("go"),
    {"client-untrusted-root", "1.2", "go", "local", "wrong_reason", "no_client_cert",
     "handshake_failure", "server",
     "Go withholds a client certificate the server's CA list does not name"},
    {"client-untrusted-root", "1.3", "go", "local", "wrong_reason", "no_client_cert",
     "certificate_required", "server",
     "Go withholds a client certificate the server's CA list does not name"},
    {"client-revoked", "", "go", "local", "not_applicable", "", "", "",
     "crypto/tls checks no CRLs"},
    {"client-revoked", "", "local", "go", "not_applicable", "", "", "",
     "crypto/tls checks no CRLs"},
};

class GoPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("go"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "go is not available (golang-go missing at build time?): " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* GoPeer::run_ = nullptr;

TEST_F(GoPeer, DefaultSuitePassesExceptKnownDifferences) {
  check_matrix(*run_, "go", std::begin(go_differences), std::end(go_differences));
}

TEST_F(GoPeer, ProgramFollowsTheContract) {
  check_contract(run_->results(), "go");
}

// Java, like Go, withholds a client certificate whose issuer is not among the server's
// CertificateRequest CAs (docs/peers.md#client-withholds-certificate-not-in-ca-list). Hand-checked on the wire: no Certificate content from
// the client, our server's alert handshake_failure (1.2) / certificate_required (1.3).
const KnownDifference java_differences[] = {
    {"client-untrusted-root", "1.2", "java", "local", "wrong_reason", "no_client_cert",
     "handshake_failure", "server",
     "JSSE withholds a client certificate the server's CA list does not name"},
    {"client-untrusted-root", "1.3", "java", "local", "wrong_reason", "no_client_cert",
     "certificate_required", "server",
     "JSSE withholds a client certificate the server's CA list does not name"},
    NO_RSA_KX("java"),
};

class JavaPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("java"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "java is not available (no JDK at build time?): " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* JavaPeer::run_ = nullptr;

TEST_F(JavaPeer, DefaultSuitePassesExceptKnownDifferences) {
  check_matrix(*run_, "java", std::begin(java_differences), std::end(java_differences));
}

TEST_F(JavaPeer, ProgramFollowsTheContract) {
  check_contract(run_->results(), "java");
}

TEST_F(JavaPeer, ChecksTheHostnameAndRevocation) {
  // Endpoint identification is on (docs/peers.md#java-sslsocket-checks-no-hostname) and PKIX checks the CRLs: both are Java's
  // own verdicts, not our server's.
  const json* name = find_case(run_->results(), "server-hostname-mismatch/1.3/java->local");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->at("observation").at("client").at("reason"), "hostname_mismatch");
  const json* revoked = find_case(run_->results(), "client-revoked/1.2/local->java");
  ASSERT_NE(revoked, nullptr);
  EXPECT_EQ(revoked->at("observation").at("server").at("reason"), "revoked");
  // JSSE answers any client certificate it refuses with certificate_unknown (the wire's alert).
  EXPECT_EQ(revoked->at("verdict").at("alert"), "certificate_unknown");
  EXPECT_EQ(revoked->at("verdict").at("alert_from"), "server");
}

} // namespace
