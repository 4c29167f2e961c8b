// Scenario files: the default suite loads against the default PKI, and malformed files are
// rejected with a message naming the file and the JSON pointer (checked through the real CLI too).
#include <gtest/gtest.h>

#include "common/error.hpp"
#include "harness/model/scenario.hpp"
#include "pki_fixture.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using testing_support::ScratchDir;

// The default PKI shared by the test run (pki_fixture.hpp), and a scratch dir for scenario files.
class DefaultPki : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    pki_ = new harness::PkiDir(testing_support::default_pki().dir);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }
  static fs::path pki_dir() { return testing_support::default_pki().dir; }
  static ScratchDir* dir_;
  static harness::PkiDir* pki_;
};
ScratchDir* DefaultPki::dir_ = nullptr;
harness::PkiDir* DefaultPki::pki_ = nullptr;

TEST_F(DefaultPki, DefaultSuiteLoads) {
  const auto scenarios = harness::load_scenarios(testing_support::source_dir() / "scenarios", pki_);
  ASSERT_GE(scenarios.size(), 16u);
  int rejected_by_server = 0, accepted = 0;
  for (const auto& s : scenarios) {
    EXPECT_FALSE(s.title.empty()) << s.id;
    EXPECT_FALSE(s.tls.empty()) << s.id;
    if (s.expect.result == harness::ExpectedResult::accepted)
      ++accepted;
    if (s.expect.by == harness::Side::server)
      ++rejected_by_server;
  }
  EXPECT_GE(accepted, 4);
  EXPECT_GE(rejected_by_server, 5);
}

struct Malformed {
  const char* name;
  const char* json;
  const char* message; // must appear in the error
};

// A valid scenario to break one field at a time.
const char* base = R"({"version": 1, "id": "x", "title": "t",
  "server": {"cert": "server"}, "client": {"cert": null}, "expect": {"result": "accepted"}})";

const Malformed malformed[] = {
    {"NotJson", R"({"version": 1, )", "not valid JSON"},
    {"TopLevelArray", "[]", "top level: expected an object"},
    {"MissingVersion", R"({"id": "x"})", "/version: missing; expected 1"},
    {"WrongVersion", R"({"version": 2})", "/version: unsupported version"},
    {"VersionString", R"({"version": "1"})", "/version: expected an integer"},
    {"UnknownTopKey", R"({"version": 1, "id": "x", "title": "t", "sever": {}})",
     "/sever: unknown key (did you mean \"server\"?)"},
    {"MissingId", R"({"version": 1, "title": "t"})", "/id: missing; expected a short id"},
    {"BadId", R"({"version": 1, "id": "a b", "title": "t"})", "/id: ids use letters"},
    {"MissingServer", R"({"version": 1, "id": "x", "title": "t"})",
     "/server: missing; expected an object"},
    {"ServerNotObject", R"({"version": 1, "id": "x", "title": "t", "server": "server"})",
     "/server: expected an object"},
    {"UnknownServerKey",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "clientauth": "require"}})",
     "/server/clientauth: unknown key"},
    {"BadClientAuth",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "client_auth": "requried"}})",
     "/server/client_auth: expected one of none, request, require, got \"requried\""},
    {"BadChain",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "chain": "half"}})",
     "/server/chain: expected one of full, leaf_only, reversed"},
    {"UnknownServerEntity",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "nosuch"}})",
     "/server/cert: no entity \"nosuch\""},
    {"UnknownTrustEntity",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "trust": ["root", "nope"]}})",
     "/server/trust/1: no entity \"nope\""},
    {"CrlCheckNotBool",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "crl_check": "yes"}})",
     "/server/crl_check: expected true or false"},
    {"ExtraCertsNotArray",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "extra_certs": "untrusted_root"}})",
     "/server/extra_certs: expected an array"},
    {"ExtraCertsEmpty",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "extra_certs": []}})",
     "/server/extra_certs: expected a non-empty array"},
    {"UnknownExtraCertEntity",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server", "extra_certs": ["root", "nope"]}})",
     "/server/extra_certs/1: no entity \"nope\""},
    {"ClientCrlCheckNotBool",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {"crl_check": 1}})",
     "/client/crl_check: expected true or false"},
    {"ClientCrlCheckWithoutVerify",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {"verify": false, "crl_check": true}})",
     "/client/crl_check: a client that does not verify"},
    {"MissingClient", R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}})",
     "/client: missing; expected an object"},
    {"UnknownClientEntity",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {"cert": "ghost"}})",
     "/client/cert: no entity \"ghost\""},
    {"EmptyServerName",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {"server_name": ""}})",
     "/client/server_name: expected a host name, an IP address, or null"},
    {"BadTls",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "tls": ["1.1"]})",
     "/tls/0: expected one of \"1.2\", \"1.3\""},
    {"EmptyTls",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "tls": []})",
     "/tls: expected a non-empty array"},
    {"DuplicateTls",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "tls": ["1.2", "1.2"]})",
     "/tls/1: listed twice"},
    {"RsaKxWithTls13",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server_rsa"}, "client": {}, "key_exchange": "rsa"})",
     "/key_exchange: RSA key exchange exists only in TLS 1.2"},
    {"RsaKxWithEcCert",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "tls": ["1.2"], "key_exchange": "rsa"})",
     "/key_exchange: RSA key exchange needs an RSA server certificate"},
    {"UnknownCapability",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "requires": ["telepathy"]})",
     "/requires/0: unknown capability \"telepathy\""},
    {"MissingExpect",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}})",
     "/expect: missing; expected an object"},
    {"BadResult",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "ok"}})",
     "/expect/result: expected one of accepted, rejected"},
    {"RejectedWithoutBy",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "rejected", "reasons": ["expired"]}})",
     "/expect/by: missing; expected client or server"},
    {"BadBy",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "rejected", "by": "both", "reasons": ["expired"]}})",
     "/expect/by: expected one of client, server"},
    {"UnknownReason",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "rejected", "by": "client", "reasons": ["expird"]}})",
     "/expect/reasons/0: unknown reason \"expird\""},
    {"UnknownAlert",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "rejected", "by": "client", "reasons": ["expired"], "alerts": ["certificate_expired", "certifcate_unknown"]}})",
     "/expect/alerts/1: unknown alert \"certifcate_unknown\""},
    {"EmptyReasons",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "rejected", "by": "client", "reasons": []}})",
     "/expect/reasons: list at least one acceptable reason"},
    {"AcceptedWithReasons",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "reasons": ["expired"]}})",
     "/expect/reasons: only a rejected expectation"},
    {"UnknownExpectKey",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flw": []}})",
     "/expect/flw: unknown key (did you mean \"flow\"?)"},
    {"EmptyFlow",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": []}})",
     "/expect/flow: expected a non-empty list of steps"},
    {"FlowNotList",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": "C: ClientHello"}})",
     "/expect/flow: expected a list of steps"},
    {"FlowUnknownMessage",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": ["C: ClientHello", "S: ServerHelo"]}})",
     "/expect/flow/1: unknown message \"ServerHelo\""},
    {"FlowBadSide",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": ["X: ClientHello"]}})",
     "/expect/flow/0: \"X: ClientHello\": expected \"C: <message>\" or \"S: <message>\""},
    {"FlowUnknownAlert",
     R"j({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": ["C: alert(expired)"]}})j",
     "/expect/flow/0: unknown alert \"expired\""},
    {"FlowEmptyAlternative",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": ["C: close |"]}})",
     "/expect/flow/0: \"C: close |\": empty alternative"},
    {"FlowVersionNotRun",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "tls": ["1.3"], "expect": {"result": "accepted", "flow": {"1.2": ["C: ClientHello"]}}})",
     "/expect/flow/1.2: the scenario does not run TLS 1.2"},
    {"FlowUnknownVersion",
     R"({"version": 1, "id": "x", "title": "t", "server": {"cert": "server"}, "client": {}, "expect": {"result": "accepted", "flow": {"1.4": ["C: ClientHello"]}}})",
     "/expect/flow/1.4: unknown key"},
};

class MalformedScenario : public DefaultPki, public ::testing::WithParamInterface<Malformed> {};

TEST_P(MalformedScenario, NamesFileAndPointer) {
  const auto& m = GetParam();
  const fs::path file = *dir_ / (std::string(m.name) + ".json");
  testing_support::write_text(file, m.json);
  try {
    (void)harness::load_scenario(file, pki_);
    FAIL() << "accepted: " << m.json;
  } catch (const tlsmatrix::Error& e) {
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input);
    const std::string what = e.what();
    EXPECT_NE(what.find(file.string()), std::string::npos) << what;
    EXPECT_NE(what.find(m.message), std::string::npos) << what;
  }
  // The CLI says the same and exits 2.
  const auto r = testing_support::run({testing_support::tlsmatrix_binary(), "scenarios", "check",
                                       file.string(), "--pki", pki_dir().string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(m.message), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedScenario, ::testing::ValuesIn(malformed),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(DefaultPki, BaseOfTheTableIsValid) {
  const fs::path file = *dir_ / "base.json";
  testing_support::write_text(file, base);
  EXPECT_NO_THROW((void)harness::load_scenario(file, pki_));
}

TEST_F(DefaultPki, DuplicateIdsAcrossFiles) {
  const fs::path d = *dir_ / "dup";
  fs::create_directories(d);
  testing_support::write_text(d / "a.json", base);
  testing_support::write_text(d / "b.json", base);
  try {
    (void)harness::load_scenarios(d, pki_);
    FAIL();
  } catch (const tlsmatrix::Error& e) {
    EXPECT_NE(std::string(e.what()).find("is also the id of"), std::string::npos) << e.what();
  }
}

TEST_F(DefaultPki, ImpliedCapabilities) {
  const fs::path file = *dir_ / "caps.json";
  testing_support::write_text(file, R"({"version": 1, "id": "c", "title": "t",
    "server": {"cert": "server", "client_auth": "require", "crl_check": true},
    "client": {"cert": "client", "verify": false}, "expect": {"result": "accepted"}})");
  const auto s = harness::load_scenario(file, pki_);
  for (const char* cap : {"client_cert", "crl_check", "no_verify"})
    EXPECT_NE(std::find(s.requires_.begin(), s.requires_.end(), cap), s.requires_.end()) << cap;
}

TEST_F(DefaultPki, ClientCrlCheckAndExtraCertsImplyTheirCapabilities) {
  const fs::path file = *dir_ / "caps2.json";
  testing_support::write_text(file, R"({"version": 1, "id": "c", "title": "t",
    "server": {"cert": "server", "extra_certs": ["untrusted_root"]},
    "client": {"crl_check": true}, "expect": {"result": "accepted"}})");
  const auto s = harness::load_scenario(file, pki_);
  EXPECT_TRUE(s.client.crl_check);
  EXPECT_FALSE(s.server.crl_check);
  EXPECT_EQ(s.server.extra_certs, std::vector<std::string>{"untrusted_root"});
  for (const char* cap : {"crl_check", "chain_order"})
    EXPECT_NE(std::find(s.requires_.begin(), s.requires_.end(), cap), s.requires_.end()) << cap;
  EXPECT_EQ(std::find(s.requires_.begin(), s.requires_.end(), "client_cert"), s.requires_.end());
}

TEST_F(DefaultPki, ANullServerNameIsNoNameAndImpliesItsCapability) {
  const fs::path file = *dir_ / "noname.json";
  testing_support::write_text(file, R"({"version": 1, "id": "c", "title": "t",
    "server": {"cert": "server"}, "client": {"server_name": null}, "expect": {"result": "accepted"}})");
  const auto s = harness::load_scenario(file, pki_);
  EXPECT_TRUE(s.client.server_name.empty());
  EXPECT_NE(std::find(s.requires_.begin(), s.requires_.end(), "no_server_name"), s.requires_.end());
}

} // namespace
