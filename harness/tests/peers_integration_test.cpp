// Per-peer integration tests (CTest labels integration, peer-<name>): the default suite between
// our endpoints and one external stack, through the tlsmatrix binary. Every case must pass, except
// the stack's known differences, which must be reported exactly as the stack behaves (grade,
// reason, alert and who sent it) — a difference is a result, not a failure. Skipped, with the
// reason, when the peer is not installed.
#include <algorithm>
#include <optional>
#include <set>

#include "harness/peers/registry.hpp"
#include "peer_matrix.hpp"

namespace {

using namespace peer_matrix;

const KnownDifference gnutls_differences[] = {
    {"mtls-no-client-cert", "1.2", "local", "gnutls", "wrong_reason", "no_client_cert",
     "decode_error", "server",
     "GnuTLS 3.7 answers a TLS 1.2 client without a certificate with decode_error"},
    {"client-untrusted-root", "", "local", "gnutls", "wrong_reason", "unknown_ca", "access_denied",
     "server", "GnuTLS answers a client certificate it refuses with access_denied"},
    {"client-expired", "", "local", "gnutls", "wrong_reason", "expired", "access_denied", "server",
     "GnuTLS answers a client certificate it refuses with access_denied"},
    {"client-revoked", "", "local", "gnutls", "wrong_reason", "revoked", "access_denied", "server",
     "GnuTLS answers a client certificate it refuses with access_denied"},
    {"client-wrong-eku", "", "local", "gnutls", "fail", "", "", "",
     "gnutls-serv verifies client certificates without a key purpose: a serverAuth-only one is "
     "accepted"},
};

const KnownDifference nss_differences[] = {
    {"server-not-yet-valid", "", "nss", "local", "wrong_reason", "expired", "certificate_expired",
     "client", "NSS reports a not-yet-valid certificate as expired (docs/peers.md#nss-not-yet-valid-is-expired)"},
    {"server-self-signed", "", "nss", "local", "wrong_reason", "invalid_ca", "bad_certificate",
     "client",
     "NSS takes a self-signed leaf for its own issuer, a CA that is not one "
     "(SEC_ERROR_CA_CERT_INVALID)"},
    {"client-wrong-eku", "1.2", "nss", "local", "wrong_reason", "no_client_cert",
     "handshake_failure", "server",
     "NSS does not send a client certificate unfit for client authentication"},
    {"client-wrong-eku", "1.3", "nss", "local", "wrong_reason", "no_client_cert",
     "certificate_required", "server",
     "NSS does not send a client certificate unfit for client authentication"},
};

class GnutlsPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("gnutls"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "gnutls is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* GnutlsPeer::run_ = nullptr;

TEST_F(GnutlsPeer, DefaultSuitePassesExceptKnownDifferences) {
  check_matrix(*run_, "gnutls", std::begin(gnutls_differences), std::end(gnutls_differences));
}

TEST_F(GnutlsPeer, BothEndsAgreeOnTheAlertGnutlsSends) {
  // GnuTLS's own log (debug level 5) and our OpenSSL client are independent witnesses.
  const json* c = find_case(run_->results(), "client-expired/1.2/local->gnutls");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(has_alert(c->at("observation").at("server"), "sent", "access_denied")) << c->dump();
  EXPECT_TRUE(has_alert(c->at("observation").at("client"), "received", "access_denied"))
      << c->dump();
  const json* m = find_case(run_->results(), "mtls-no-client-cert/1.2/local->gnutls");
  ASSERT_NE(m, nullptr);
  EXPECT_TRUE(has_alert(m->at("observation").at("client"), "received", "decode_error"))
      << m->dump();
}

TEST_F(GnutlsPeer, SanityCasesAreGreenInBothDirections) {
  // The sanity gate of issue 5: a good 1-way and 2-way case accepted, an untrusted root rejected.
  for (const std::string pair : {"gnutls->local", "local->gnutls"})
    for (const std::string scenario : {"one-way", "mutual", "server-untrusted-root"})
      for (const std::string tls : {"1.2", "1.3"}) {
        const json* c = find_case(run_->results(), scenario + "/" + tls + "/" + pair);
        ASSERT_NE(c, nullptr) << scenario << " " << tls << " " << pair;
        EXPECT_EQ(c->at("verdict").at("grade"), "pass") << c->at("id");
      }
}

class NssPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("nss"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "nss is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* NssPeer::run_ = nullptr;

TEST_F(NssPeer, DefaultSuitePassesExceptKnownDifferences) {
  check_matrix(*run_, "nss", std::begin(nss_differences), std::end(nss_differences));
}

TEST_F(NssPeer, OurServerConfirmsWhatTheNssClientDid) {
  // Our server is an independent witness of the NSS client's differences.
  const json* nyv = find_case(run_->results(), "server-not-yet-valid/1.3/nss->local");
  ASSERT_NE(nyv, nullptr);
  EXPECT_TRUE(has_alert(nyv->at("observation").at("server"), "received", "certificate_expired"))
      << nyv->dump();
  const json* eku = find_case(run_->results(), "client-wrong-eku/1.2/nss->local");
  ASSERT_NE(eku, nullptr);
  EXPECT_EQ(eku->at("observation").at("server").at("reason"), "no_client_cert") << eku->dump();
}

TEST_F(NssPeer, OneDatabasePerIdentityBuiltOncePerRun) {
  // Every server case with the same certificate and trust shares one database; the databases
  // hold one identity each (docs/peers.md#nss-one-identity-per-database).
  const json& r = run_->results();
  ASSERT_FALSE(r.is_null());
  const fs::path inputs = fs::path(r.at("cases").at(0).at("logs").at("dir").get<std::string>())
                              .parent_path()
                              .parent_path()
                              .parent_path() /
                          "inputs";
  int databases = 0;
  for (const auto& e : fs::directory_iterator(inputs)) {
    if (!e.is_directory() || !e.path().filename().string().starts_with("nss-"))
      continue;
    ++databases;
    EXPECT_TRUE(fs::exists(e.path() / "cert9.db")) << e.path();
    const std::string log = testing_support::read_text(e.path() / "prepare.log");
    int identities = 0;
    for (std::size_t at = log.find("pk12util -i"); at != std::string::npos;
         at = log.find("pk12util -i", at + 1))
      ++identities;
    EXPECT_LE(identities, 1) << e.path();
  }
  // Servers: server, each broken server certificate, server+root, server+root+CRLs; clients:
  // none, and each client certificate; plus the positive controls' identities and trust sets
  // (RSA, two anchors) for the sanity gate. Far fewer than the cases that use NSS.
  EXPECT_GE(databases, 8);
  EXPECT_LE(databases, 26);
}

TEST_F(NssPeer, DatabasesAreBuiltBeforeTheFirstCaseRuns) {
  // The runner prepares every database up front, so no case's elapsed time includes one: each
  // prepare.log is finished before any case wrote its first file. (The sanity gate's cases and
  // controls, which run in a phase of their own before the matrix, are left out.)
  const json& r = run_->results();
  ASSERT_FALSE(r.is_null());
  const fs::path run_dir = fs::path(r.at("cases").at(0).at("logs").at("dir").get<std::string>())
                               .parent_path()
                               .parent_path()
                               .parent_path();
  // The gate's scenarios: its own four and the positive controls (results.json's "sanity").
  std::set<std::string> gate_scenarios;
  for (const auto& [peer, roles] : r.at("sanity").at("peers").items())
    for (const auto& [role, check] : roles.items())
      for (const auto& c : check.at("cases"))
        gate_scenarios.insert(c.at("id").get<std::string>().substr(
            0, c.at("id").get<std::string>().find('/')));
  std::optional<fs::file_time_type> last_prepared, first_case_file;
  for (const auto& e : fs::directory_iterator(run_dir / "inputs"))
    if (e.is_directory() && e.path().filename().string().starts_with("nss-")) {
      const auto t = fs::last_write_time(e.path() / "prepare.log");
      last_prepared = last_prepared ? std::max(*last_prepared, t) : t;
    }
  for (const auto& e : fs::recursive_directory_iterator(run_dir / "cases")) {
    const std::string scenario = e.path().parent_path().parent_path().filename().string();
    if (gate_scenarios.contains(scenario))
      continue;
    if (e.is_regular_file()) {
      const auto t = fs::last_write_time(e.path());
      first_case_file = first_case_file ? std::min(*first_case_file, t) : t;
    }
  }
  ASSERT_TRUE(last_prepared && first_case_file);
  EXPECT_LT(*last_prepared, *first_case_file);
}

TEST_F(NssPeer, SanityCasesAreGreenInBothDirections) {
  for (const std::string pair : {"nss->local", "local->nss"})
    for (const std::string scenario : {"one-way", "mutual", "server-untrusted-root"})
      for (const std::string tls : {"1.2", "1.3"}) {
        const json* c = find_case(run_->results(), scenario + "/" + tls + "/" + pair);
        ASSERT_NE(c, nullptr) << scenario << " " << tls << " " << pair;
        EXPECT_EQ(c->at("verdict").at("grade"), "pass") << c->at("id");
      }
}

// Botan: tls_client and tls_server (an echo server: its clients complete on the echo of their
// request), TLS 1.2 only, no client certificates; run with openssl too, for openssl<->botan.
class BotanPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("botan", "openssl"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "botan is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* BotanPeer::run_ = nullptr;

// tls_server writes its ServerKeyExchange as a record of its own after its Certificate: a client
// that refuses the certificate at once may alert before it, and the ServerHelloDone never reaches
// the wire (seen with python and nss clients; OpenSSL's CLI and ours are the same stack): then
// the flow fails, with the client's refusal and alert as expected — or the case passes.
#define BOTAN_FLIGHT_CUT(scenario, client, reason, alert)                                          \
  {                                                                                                \
    scenario, "1.2", client, "botan", "fail", reason, alert, "client",                             \
        "the client's alert overtook botan's ServerKeyExchange", true                              \
  }
#define BOTAN_SERVER_CASES(client)                                                                 \
  BOTAN_FLIGHT_CUT("server-untrusted-root", client, "unknown_ca", "unknown_ca"),                   \
      BOTAN_FLIGHT_CUT("server-expired", client, "expired", "certificate_expired"),                \
      BOTAN_FLIGHT_CUT("server-not-yet-valid", client, "not_yet_valid", "bad_certificate"),        \
      BOTAN_FLIGHT_CUT("server-hostname-mismatch", client, "hostname_mismatch",                    \
                       "bad_certificate"),                                                         \
      BOTAN_FLIGHT_CUT("server-wrong-eku", client, "bad_purpose", "unsupported_certificate"),      \
      BOTAN_FLIGHT_CUT("server-self-signed", client, "self_signed", "unknown_ca"),                 \
      BOTAN_FLIGHT_CUT("server-missing-intermediate", client, "unknown_ca", "unknown_ca")
std::string botan_advisory() {
  return json::parse(testing_support::read_text(testing_support::source_dir() / "harness" /
                                                "peers" / "botan.json"))
      .at("client")
      .at("advisory_verification");
}
const KnownDifference botan_differences[] = {
    BOTAN_SERVER_CASES("local"),
    BOTAN_SERVER_CASES("openssl"),
};

TEST_F(BotanPeer, DefaultSuitePassesOrIsNotApplicable) {
  check_peer_cells(
      *run_, "botan", std::begin(botan_differences), std::end(botan_differences),
      {"botan cannot do TLS 1.3", "botan lacks client_cert", "botan lacks rsa_kx",
       "botan as a client only reports its verification: " + botan_advisory()},
      {"botan>local 1.2", "local>botan 1.2", "openssl>botan 1.2", "botan>openssl 1.2"});
}

TEST_F(BotanPeer, AdvisoryClientIsNeverAskedToRefuse) {
  // tls_client (the CLI) prints its verdict on the server certificate, "Certificate validation
  // status: …", then finishes the handshake and fetches the resource anyway: its definition says
  // so (advisory_verification), and every case that needs the client to refuse is not_applicable
  // with those words — never a pass from a printed line. Good cases still run, and pass.
  const json* bad = find_case(run_->results(), "server-expired/1.2/botan->local");
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->at("verdict").at("grade"), "not_applicable");
  EXPECT_NE(str(bad->at("verdict").at("detail")).find("only reports its verification"),
            std::string::npos);
  const json* good = find_case(run_->results(), "one-way/1.2/botan->local");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->at("verdict").at("grade"), "pass");
  EXPECT_TRUE(good->at("resource").at("delivered").get<bool>());
  const auto& gate = run_->results().at("sanity").at("peers").at("botan");
  EXPECT_TRUE(gate.at("client").at("ok").get<bool>()) << gate.dump(2);
}

TEST_F(BotanPeer, EchoServerClientsCompleteLongBeforeTheDeadline) {
  // tls_server never closes first: a client that waited for the resource would sit until the
  // case's deadline (10 s). Each completes on the echo; the server sees its close_notify.
  for (const std::string client : {"local", "openssl"}) {
    const json* c = find_case(run_->results(), "one-way/1.2/" + client + "->botan");
    ASSERT_NE(c, nullptr) << client;
    EXPECT_EQ(c->at("verdict").at("grade"), "pass") << c->at("id") << c->at("verdict").at("detail");
    EXPECT_EQ(c->at("observation").at("client").at("outcome"), "completed") << client;
    EXPECT_EQ(c->at("observation").at("server").at("outcome"), "completed") << client;
    EXPECT_LT(c->at("elapsed_ms").get<double>(), 3000.0) << c->at("id");
    if (client != "local")
      continue; // s_client -ign_eof never ends by itself: the harness stops it after the echo
    // Our client said close_notify first (the relay's trace; the server never closes first).
    EXPECT_TRUE(std::any_of(c->at("trace").begin(), c->at("trace").end(),
                            [](const json& e) {
                              return str(e.value("name", json())) == "warning close_notify" &&
                                     str(e.value("direction", json())) == "client->server";
                            }))
        << c->at("id") << ": no close_notify from the client";
  }
}

TEST_F(BotanPeer, ServerSendsTheIntermediateFromItsChainFile) {
  // docs/peers.md#s_server-sends-only-the-leaf, checked on the wire (the relay's decoded Certificate message): the one file
  // tls_server takes carries the leaf and the intermediate, and both go out — or only the leaf
  // when the scenario's chain is leaf_only.
  const json* full = find_case(run_->results(), "one-way/1.2/openssl->botan");
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->at("trace_summary").at("server_certificates"),
            json({"localhost", "tlsmatrix Test Intermediate CA"}));
  const json* leaf = find_case(run_->results(), "server-missing-intermediate/1.2/local->botan");
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(leaf->at("trace_summary").at("server_certificates"), json({"localhost"}));
}

// curl: client only; its verdict from its error text and alerts, not its exit code (docs/peers.md#curl-exit-codes-are-ambiguous).
class CurlPeer : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PeerRun("curl"); }
  static void TearDownTestSuite() { delete run_; }
  void SetUp() override {
    if (!run_->skip().empty())
      GTEST_SKIP() << "curl is not available: " << run_->skip();
  }
  static PeerRun* run_;
};
PeerRun* CurlPeer::run_ = nullptr;

// curl checks the host name itself after OpenSSL's handshake (its own verifyhost over the
// certificate), so the handshake completes on the wire before curl closes it: the refusal is in
// its text, and the flow (an alert after the server's Certificate) does not match.
const KnownDifference curl_differences[] = {
    {"server-hostname-mismatch", "", "curl", "local", "fail", "hostname_mismatch", "", "",
     "curl checks the host name after the handshake completed"},
};

TEST_F(CurlPeer, DefaultSuitePassesInBothVersions) {
  check_client_matrix(*run_, "curl", std::begin(curl_differences), std::end(curl_differences),
                      {"curl lacks rsa_kx"});
}

TEST_F(CurlPeer, ServerRefusalIsNotTakenForCurlsOwnVerdict) {
  // Exit 60 in TLS 1.2 is also "the server refused my expired certificate" (docs/peers.md#curl-exit-codes-are-ambiguous).
  const json* c = find_case(run_->results(), "client-expired/1.2/curl->local");
  ASSERT_NE(c, nullptr);
  const json& client = c->at("observation").at("client");
  EXPECT_EQ(client.at("exit_code"), 60);
  EXPECT_EQ(client.at("outcome"), "error");
  EXPECT_EQ(c->at("verdict").at("grade"), "pass");
  EXPECT_EQ(c->at("verdict").at("alert_from"), "server");
}

TEST_F(CurlPeer, ServerWithoutHttpIsNotApplicable) {
  // A server definition without the http capability (python's, renamed, http removed): curl's
  // cells against it are not_applicable with the reason, and against ours they run.
  ScratchDir defs;
  json d = json::parse(testing_support::read_text(harness::default_peers_dir() / "python.json"));
  d["name"] = "plain";
  auto& caps = d["capabilities"];
  caps.erase(std::remove(caps.begin(), caps.end(), "http"), caps.end());
  for (auto* role : {&d["server"], &d["client"]})
    for (auto& a : role->at("argv"))
      if (a.get<std::string>().starts_with("{definition_dir}"))
        a = (harness::default_peers_dir() / "../peer-programs/tlspeer.py").string();
  testing_support::write_text(defs / "plain.json", d.dump());
  ScratchDir out;
  const auto r =
      testing_support::run({testing_support::tlsmatrix_binary(), "run", "--peers",
                            "local,curl,plain", "--cross", "--peer-defs", defs.path().string(),
                            "--filter", "one-way/1.3/curl->*", "--out", (out / "results").string()},
                           "", std::chrono::seconds(60));
  const json results =
      json::parse(testing_support::read_text(out / "results" / "latest" / "results.json"));
  const json* plain = find_case(results, "one-way/1.3/curl->plain");
  ASSERT_NE(plain, nullptr) << r.out << r.err;
  EXPECT_EQ(plain->at("verdict").at("grade"), "not_applicable");
  EXPECT_EQ(plain->at("verdict").at("detail"), "curl needs a server with http; plain lacks it");
  const json* ours = find_case(results, "one-way/1.3/curl->local");
  ASSERT_NE(ours, nullptr);
  EXPECT_EQ(ours->at("verdict").at("grade"), "pass");
}

} // namespace
