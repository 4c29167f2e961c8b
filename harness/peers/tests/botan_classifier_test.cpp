// The Botan adapter's classification (harness/peers/botan.json), fed with real botan tls_client and
// tls_server outputs captured by tests/data/capture-botan.sh (the default suite between botan and
// our endpoints, TLS 1.2). tls_client exits 0 whatever it thinks of the certificate (docs/peers.md
// #botan-tls_client-never-refuses): these tests check that its status line, not its exit code,
// decides. tls_server verifies nothing: it reports the client's alert, and an echo client's
// close_notify is the normal end.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "captured_output.hpp"
#include "common/error.hpp"
#include "harness/peers/peer.hpp"
#include "harness/peers/registry.hpp"
#include "support.hpp"

namespace {

using harness::Outcome;
using harness::Phase;
using harness::Side;

harness::SideObservation observe(const std::string& name, bool verify = true) {
  return testing_support::observe_captured("botan", name, "1.2", Side::client, verify);
}

struct Expected {
  const char* name;
  const char* reason;
};

class BotanRejections : public ::testing::TestWithParam<Expected> {};

TEST_P(BotanRejections, StatusLineDecidesNotTheExitCode) {
  const auto& e = GetParam();
  const auto o = observe(e.name);
  EXPECT_EQ(o.exit_code, 0) << "docs/peers.md#botan-tls_client-never-refuses: tls_client exits 0 "
                               "on a refused certificate";
  EXPECT_EQ(o.outcome, Outcome::rejected) << o.error_text;
  EXPECT_EQ(o.reason, e.reason) << o.error_text;
  EXPECT_NE(o.error_text.find("Certificate validation status: "), std::string::npos);
}

const Expected rejections[] = {
    {"server-expired", "expired"},
    {"server-not-yet-valid", "not_yet_valid"},
    {"server-untrusted-root", "unknown_ca"},
    {"server-hostname-mismatch", "hostname_mismatch"},
    {"server-wrong-eku", "bad_purpose"},
    {"server-self-signed", "unknown_ca"},
    {"server-missing-intermediate", "unknown_ca"},
};

INSTANTIATE_TEST_SUITE_P(Captured, BotanRejections, ::testing::ValuesIn(rejections),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(param_info.param.name, "1.2");
                         });

TEST(BotanClassifier, GoodCaseCompletesAfterReadingTheResource) {
  const auto o = observe("one-way");
  EXPECT_EQ(o.outcome, Outcome::completed) << o.error_text;
  EXPECT_EQ(o.phase, Phase::done);
  EXPECT_TRUE(o.alerts.empty()) << "close_notify is the normal end, not an alert to report";
}

TEST(BotanClassifier, WithoutVerificationTheStatusLineIsNoVerdict) {
  EXPECT_EQ(observe("no-verify-control", false).outcome, Outcome::completed);
  // The same output read as if verification were on is a rejection: the rule is real.
  EXPECT_EQ(observe("no-verify-control", true).outcome, Outcome::rejected);
}

TEST(BotanClassifier, ReceivedAlertAndUnknownStatus) {
  harness::ProcessResult r;
  r.out = "Certificate validation status: Something Botan 3 may say\n"
          "Alert: certificate_required\n";
  r.exit_code = 0;
  const auto o = harness::classify_peer_output(
      testing_support::source_dir() / "harness/peers/botan.json", Side::client, r);
  EXPECT_EQ(o.outcome, Outcome::rejected);
  EXPECT_EQ(o.reason, "unmapped");
  EXPECT_EQ(testing_support::first_fatal_alert(o, false), "certificate_required");
}

// --- tls_server: captured while our client refused its certificate or completed on its echo ---

harness::SideObservation observe_server(const std::string& name) {
  return testing_support::observe_captured("botan", name, "1.2", Side::server);
}

struct ServerSaw {
  const char* name;
  const char* alert;  // the fatal alert our client sent, as botan reports receiving it
  const char* reason; // what that alert means on its own (reconcile applies the sender's meaning)
};

class BotanServerSeesTheClientsAlert : public ::testing::TestWithParam<ServerSaw> {};

TEST_P(BotanServerSeesTheClientsAlert, AsAReceivedFatalAlert) {
  const auto& e = GetParam();
  const auto o = observe_server(e.name);
  EXPECT_EQ(o.outcome, Outcome::error) << o.error_text;
  EXPECT_EQ(o.reason, e.reason) << o.error_text;
  EXPECT_EQ(testing_support::first_fatal_alert(o, false), e.alert) << o.error_text;
  EXPECT_EQ(testing_support::first_fatal_alert(o, true), "") << "tls_server sent nothing itself";
  EXPECT_EQ(o.phase, Phase::handshake);
}

const ServerSaw server_saw[] = {
    {"server-expired", "certificate_expired", "expired"},
    {"server-not-yet-valid", "bad_certificate", "bad_certificate"},
    {"server-untrusted-root", "unknown_ca", "unknown_ca"},
    {"server-hostname-mismatch", "bad_certificate", "bad_certificate"},
    {"server-wrong-eku", "unsupported_certificate", "unsupported_certificate"},
    {"server-self-signed", "unknown_ca", "unknown_ca"},
    {"server-missing-intermediate", "unknown_ca", "unknown_ca"},
};

INSTANTIATE_TEST_SUITE_P(Captured, BotanServerSeesTheClientsAlert, ::testing::ValuesIn(server_saw),
                         [](const auto& param_info) {
                           return testing_support::captured_case_name(param_info.param.name, "1.2");
                         });

TEST(BotanServerClassifier, HandshakeThenCloseNotifyIsCompleted) {
  for (const std::string name : {"one-way", "one-way-ecdhe", "no-verify-control"}) {
    const auto o = observe_server(name);
    EXPECT_EQ(o.outcome, Outcome::completed) << name << ": " << o.error_text;
    EXPECT_EQ(o.phase, Phase::done) << name;
    // The echo client's close_notify ("Alert: close_notify") ends the connection; it is no error.
    EXPECT_EQ(testing_support::first_fatal_alert(o, false), "") << name;
  }
}

TEST(BotanServerClassifier, NoHandshakeIsNoCompletion) {
  // The same server output without its "Handshake complete" line: not completed. What botan
  // printed (stderr) for a TLS 1.3-only client, seen by hand against s_client -tls1_3.
  harness::ProcessResult r;
  r.out = "Listening for new connections on tcp port 40000\n";
  r.err = "Connection problem: No shared TLS version\n";
  r.exit_code = 0;
  const auto o = harness::classify_peer_output(
      testing_support::source_dir() / "harness/peers/botan.json", Side::server, r);
  EXPECT_EQ(o.outcome, Outcome::error);
  EXPECT_NE(o.error_text.find("No shared TLS version"), std::string::npos) << o.error_text;
}

TEST(BotanClassifier, AgainstAnEchoServerTheEchoIsTheClientsCompletion) {
  // botan tls_client against botan tls_server (tlsmatrix run --cross): no resource ever comes,
  // the echoed request does; completed only when the client was told the server echoes.
  harness::ProcessResult r;
  r.out = "Certificate validation status: Verified\n"
          "Handshake complete, TLS v1.2 using ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
          "GET /tlsmatrix HTTP/1.0\r\nHost: localhost\r\n\r\nEOF on stdin\n";
  r.exit_code = 0;
  const auto definition = testing_support::source_dir() / "harness/peers/botan.json";
  harness::TlsConfig config;
  config.version = harness::TlsVersion::tls12;
  EXPECT_EQ(harness::classify_peer_output(definition, Side::client, r, config).outcome,
            Outcome::error);
  config.server_echoes = true;
  EXPECT_EQ(harness::classify_peer_output(definition, Side::client, r, config).outcome,
            Outcome::completed);
  r.out = "Certificate validation status: Verified\n"
          "Handshake complete, TLS v1.2 using ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n"
          "0.1/PTTH xirtamslt/ TEG\n";
  EXPECT_EQ(harness::classify_peer_output(definition, Side::client, r, config).outcome,
            Outcome::error)
      << "an answer that is not the echo";
}

// "answers" is strict: a server's, "resource" or "echo", and an echo server speaks no HTTP.
TEST(PeerDefinition, AnswersEchoIsAServersAndExcludesHttp) {
  const auto botan = testing_support::source_dir() / "harness/peers/botan.json";
  EXPECT_TRUE(harness::load_cli_peer(botan)->info().echo_server);
  EXPECT_FALSE(harness::load_cli_peer(testing_support::source_dir() / "harness/peers/openssl.json")
                   ->info()
                   .echo_server);
  const testing_support::ScratchDir dir;
  const auto base = nlohmann::json::parse(testing_support::read_text(botan));
  struct Bad {
    const char* pointer;
    std::function<void(nlohmann::json&)> change;
  } bad[] = {
      {"/client/answers", [](nlohmann::json& d) { d["client"]["answers"] = "echo"; }},
      {"/server/answers", [](nlohmann::json& d) { d["server"]["answers"] = "echoes"; }},
      {"/server/answers", [](nlohmann::json& d) { d["server"]["answers"] = true; }},
      {"/capabilities", [](nlohmann::json& d) { d["capabilities"].push_back("http"); }},
  };
  for (const auto& b : bad) {
    auto d = base;
    b.change(d);
    const auto file = dir.path() / "bad.json";
    testing_support::write_text(file, d.dump());
    try {
      (void)harness::load_cli_peer(file);
      ADD_FAILURE() << "accepted: " << b.pointer;
    } catch (const tlsmatrix::Error& e) {
      EXPECT_NE(std::string(e.what()).find(file.string() + ": " + b.pointer), std::string::npos)
          << e.what();
    }
  }
}

} // namespace
