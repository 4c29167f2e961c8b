// Grading rules: who rejected, for which reason, against the expectation.
#include <gtest/gtest.h>

#include "common/glob.hpp"
#include "harness/grading/grade.hpp"
#include "harness/model/case.hpp"

namespace {

using namespace harness;

Scenario rejected_by(Side side, std::vector<std::string> reasons,
                     std::vector<std::string> alerts = {}) {
  Scenario s;
  s.id = "s";
  s.expect.result = ExpectedResult::rejected;
  s.expect.by = side;
  s.expect.reasons = std::move(reasons);
  s.expect.alerts = std::move(alerts);
  return s;
}

SideObservation side(Outcome o, std::string reason = "", std::vector<AlertEvent> alerts = {}) {
  SideObservation s;
  s.outcome = o;
  s.reason = std::move(reason);
  s.alerts = std::move(alerts);
  s.phase = o == Outcome::completed ? Phase::done : Phase::handshake;
  return s;
}

TEST(Verdict, AcceptedNeedsBothSidesCompleted) {
  Scenario s;
  s.expect.result = ExpectedResult::accepted;
  EXPECT_EQ(grade_case(s, side(Outcome::completed), side(Outcome::completed)).grade, Grade::pass);
  // The TLS 1.3 trap: the client's handshake succeeded but the server refused it afterwards.
  const auto v = grade_case(s, side(Outcome::error, "no_client_cert"),
                            side(Outcome::rejected, "no_client_cert"));
  EXPECT_EQ(v.grade, Grade::fail);
  EXPECT_EQ(v.rejected_by, Side::server);
}

TEST(Verdict, RightSideRightReasonPasses) {
  const auto v = grade_case(rejected_by(Side::client, {"expired"}),
                            side(Outcome::rejected, "expired", {{true, true, 45}}),
                            side(Outcome::error, "expired", {{false, true, 45}}));
  EXPECT_EQ(v.grade, Grade::pass);
  EXPECT_EQ(v.reason, "expired");
  EXPECT_EQ(v.alert, "certificate_expired");
  EXPECT_EQ(v.alert_from, Side::client);
}

// curl prints no alert it sends; gnutls-serv, which cannot read the plaintext TLS 1.3 alert of an
// OpenSSL 3.0 client, records the bad_record_mac it sent back. The wire shows the order.
TEST(Verdict, TheWireNamesTheFirstFatalAlertOverTheSidesRecords) {
  const auto s = rejected_by(Side::client, {"unknown_ca"}, {"unknown_ca", "bad_certificate"});
  const auto client = side(Outcome::rejected, "unknown_ca");
  const auto server = side(Outcome::error, "unknown_ca", {{true, true, 20}, {false, true, 48}});
  EXPECT_EQ(grade_case(s, client, server).alert, "bad_record_mac") << "the records alone";
  std::vector<wire::TraceEvent> trace(2);
  for (auto& e : trace) {
    e.kind = wire::EventKind::alert;
    e.alert_level = 2;
  }
  trace[0].direction = wire::Direction::client_to_server;
  trace[0].alert_description = 48;
  trace[1].direction = wire::Direction::server_to_client;
  trace[1].alert_description = 20;
  const auto v = grade_case(s, client, server, &trace);
  EXPECT_EQ(v.grade, Grade::pass) << v.detail;
  EXPECT_EQ(v.alert, "unknown_ca");
  EXPECT_EQ(v.alert_from, Side::client);
}

TEST(Verdict, OtherReasonIsWrongReason) {
  const auto v = grade_case(rejected_by(Side::client, {"expired"}),
                            side(Outcome::rejected, "unknown_ca"), side(Outcome::error));
  EXPECT_EQ(v.grade, Grade::wrong_reason);
  EXPECT_NE(v.detail.find("unknown_ca"), std::string::npos);
}

TEST(Verdict, AlertOutsideTheAcceptedSetIsWrongReason) {
  const auto v = grade_case(rejected_by(Side::server, {"no_client_cert"}, {"certificate_required"}),
                            side(Outcome::error, "", {{false, true, 40}}),
                            side(Outcome::rejected, "no_client_cert", {{true, true, 40}}));
  EXPECT_EQ(v.grade, Grade::wrong_reason);
}

TEST(Verdict, WrongSideFails) {
  const auto v = grade_case(rejected_by(Side::server, {"expired"}),
                            side(Outcome::rejected, "expired"), side(Outcome::error));
  EXPECT_EQ(v.grade, Grade::fail);
}

TEST(Verdict, AcceptanceWhenRejectionExpectedFails) {
  EXPECT_EQ(grade_case(rejected_by(Side::client, {"expired"}), side(Outcome::completed),
                       side(Outcome::completed))
                .grade,
            Grade::fail);
}

TEST(Verdict, NoJudgeAndATimeoutIsTimeout) {
  EXPECT_EQ(grade_case(rejected_by(Side::client, {"expired"}), side(Outcome::timeout),
                       side(Outcome::error))
                .grade,
            Grade::timeout);
}

TEST(Glob, Patterns) {
  EXPECT_TRUE(common::glob_match("*expired*/1.3/*", "server-expired/1.3/openssl->local"));
  EXPECT_FALSE(common::glob_match("*expired*/1.2/*", "server-expired/1.3/openssl->local"));
  EXPECT_TRUE(common::glob_match("one-way/1.?/local->local", "one-way/1.2/local->local"));
  EXPECT_TRUE(common::glob_match("*", ""));
  EXPECT_FALSE(common::glob_match("a*b", "acbd"));
}

} // namespace

TEST(CaseId, PartsOfACaseIdAndWhatIsNotOne) {
  const auto p = harness::parse_case_id("client-expired/1.3/openssl->node");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scenario, "client-expired");
  EXPECT_EQ(p->tls, "1.3");
  EXPECT_EQ(p->client, "openssl");
  EXPECT_EQ(p->server, "node");
  EXPECT_FALSE(harness::parse_case_id("client-expired/1.3"));
  EXPECT_FALSE(harness::parse_case_id("openssl->node"));
  EXPECT_FALSE(harness::parse_case_id("/1.3/a->b"));
}
