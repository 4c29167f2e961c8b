// Reconciliation rules replayed on real cases (data/reconcile/, captured by capture.sh with the
// openssl CLI set up the way users get it wrong): each side's account against the wire and the
// other side. Every test here fails when the rule it names is taken out of reconcile().
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/grading/grade.hpp"
#include "harness/grading/reconcile.hpp"
#include "support.hpp"

namespace {

using namespace harness;
using nlohmann::json;

Outcome outcome_of(const std::string& s) {
  for (auto o : {Outcome::completed, Outcome::rejected, Outcome::error, Outcome::timeout})
    if (to_string(o) == s)
      return o;
  throw std::runtime_error("unknown outcome " + s);
}

int alert_code(const std::string& name) {
  for (int d = 0; d < 256; ++d)
    if (wire::alert_name(d) == name)
      return d;
  throw std::runtime_error("unknown alert " + name);
}

// A side as results.json recorded it, before reconciliation (capture.sh restores the claim).
SideObservation side_from(const json& o) {
  SideObservation s;
  s.peer = o.at("peer");
  s.outcome = outcome_of(o.at("outcome"));
  s.reason = o.at("reason");
  for (auto src : {ReasonSource::none, ReasonSource::output, ReasonSource::verify_error,
                   ReasonSource::alert, ReasonSource::peer_alert, ReasonSource::transport})
    if (o.contains("reason_source") && o.at("reason_source") == to_string(src))
      s.reason_source = src;
  if (!o.at("verify_error").is_null())
    s.verify_error = o.at("verify_error").get<int>();
  for (const auto& a : o.at("alerts"))
    s.alerts.push_back({a.at("direction") == "sent", a.at("level") == "fatal", a.at("code")});
  s.resource = o.at("resource");
  return s;
}

std::vector<wire::TraceEvent> trace_from(const json& trace) {
  std::vector<wire::TraceEvent> out;
  for (const auto& j : trace) {
    wire::TraceEvent e;
    e.direction = j.at("direction") == "client->server" ? wire::Direction::client_to_server
                                                        : wire::Direction::server_to_client;
    const std::string kind = j.at("kind");
    for (auto k : {wire::EventKind::handshake, wire::EventKind::change_cipher_spec,
                   wire::EventKind::alert, wire::EventKind::application_data,
                   wire::EventKind::encrypted, wire::EventKind::malformed})
      if (wire::to_string(k) == kind)
        e.kind = k;
    e.name = j.at("name");
    e.detail = j.at("detail");
    e.decrypted = j.at("decrypted");
    if (e.kind == wire::EventKind::alert) {
      e.alert_level = j.at("level") == "fatal" ? 2 : 1;
      e.alert_description = alert_code(e.name.substr(e.name.find(' ') + 1));
    }
    out.push_back(std::move(e));
  }
  return out;
}

struct Captured {
  json raw;
  SideObservation client, server;
  std::vector<wire::TraceEvent> trace;
};

Captured load(const std::string& name) {
  Captured c;
  c.raw =
      json::parse(testing_support::read_text(testing_support::source_dir() / "harness" / "tests" /
                                             "data" / "reconcile" / (name + ".json")));
  c.client = side_from(c.raw.at("observation").at("client"));
  c.server = side_from(c.raw.at("observation").at("server"));
  c.trace = trace_from(c.raw.at("trace"));
  return c;
}

Scenario expecting_rejection_by(Side side, std::string reason) {
  Scenario s;
  s.id = "s";
  s.expect.result = ExpectedResult::rejected;
  s.expect.by = side;
  s.expect.reasons = {std::move(reason)};
  return s; // no flow: the verdict must not need one
}

// Rule 1, client side: s_client without -verify_return_error prints "verify error:num=20" and
// fetches the resource from our server anyway. It accepted.
TEST(Reconcile, AdvisoryClientThatFetchedTheResourceAccepted) {
  auto c = load("advisory-client-local-server");
  ASSERT_EQ(c.client.outcome, Outcome::rejected); // what it claimed
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_TRUE(d.delivered);
  EXPECT_TRUE(d.served);
  EXPECT_TRUE(d.received);
  EXPECT_EQ(d.on_wire, true);
  EXPECT_EQ(c.client.outcome, Outcome::completed);
  EXPECT_EQ(c.client.phase, Phase::done);
  EXPECT_EQ(c.client.verify_error, 20); // kept: what its verifier said is an observation
  ASSERT_TRUE(c.client.overruled);
  EXPECT_TRUE(c.client.overruled->conflict);
  EXPECT_EQ(c.client.overruled->outcome, Outcome::rejected);
  EXPECT_EQ(c.client.overruled->reason, "unknown_ca");
  EXPECT_NE(c.client.overruled->note.find("verify error 20"), std::string::npos);
  EXPECT_NE(c.client.overruled->note.find("but continued"), std::string::npos);
  const Verdict v =
      grade_case(expecting_rejection_by(Side::client, "unknown_ca"), c.client, c.server);
  EXPECT_EQ(v.grade, Grade::fail);
  EXPECT_NE(v.detail.find("both sides completed"), std::string::npos) << v.detail;
  EXPECT_NE(v.detail.find("overruled: client: claimed a rejection"), std::string::npos);
}

// Rule 1 with a server that keeps no record of serving (s_server -www): the client's own receipt
// and the decrypted record decide. Either alone is enough.
TEST(Reconcile, ReceiptOrWireAloneProvesDelivery) {
  for (const bool keep_receipt : {true, false}) {
    auto c = load("advisory-client-openssl-server");
    ASSERT_FALSE(c.server.resource);
    c.client.resource = keep_receipt;
    const auto d = reconcile(c.client, c.server, &c.trace, false);
    EXPECT_TRUE(d.delivered) << keep_receipt;
    EXPECT_EQ(d.on_wire, true);
    EXPECT_EQ(c.client.outcome, Outcome::completed) << keep_receipt;
  }
  // Without a trace the client's receipt still decides.
  auto c = load("advisory-client-openssl-server");
  const auto d = reconcile(c.client, c.server, nullptr, false);
  EXPECT_TRUE(d.delivered);
  EXPECT_FALSE(d.on_wire.has_value());
  EXPECT_EQ(c.client.outcome, Outcome::completed);
}

// Rule 1 needs the client to have gone on: Node's TLS 1.2 client finished the handshake, found
// the expired certificate and closed without a word; our Python server (before it learnt not to)
// read the close as an empty request and sent the page into the closed connection. The page
// crossed the wire, but the client asked for nothing: it rejected.
// (From `run --cross`: server-expired/1.2/node->python.)
TEST(Reconcile, AnAnswerToNoRequestIsNotTheClientGoingOn) {
  auto c = load("unsolicited-answer");
  ASSERT_EQ(c.client.outcome, Outcome::rejected);
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(d.on_wire, true);
  EXPECT_EQ(d.requested, false);
  EXPECT_EQ(c.client.outcome, Outcome::rejected);
  EXPECT_EQ(c.client.reason, "expired");
  EXPECT_FALSE(c.client.overruled);
  EXPECT_EQ(grade_case(expecting_rejection_by(Side::client, "expired"), c.client, c.server).grade,
            Grade::pass);
}

// Rule 1, server side: s_server -verify without -verify_return_error logs the untrusted client
// certificate and serves the page.
TEST(Reconcile, AdvisoryServerThatServedTheResourceAccepted) {
  auto c = load("advisory-server");
  ASSERT_EQ(c.server.outcome, Outcome::rejected);
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(c.server.outcome, Outcome::completed);
  ASSERT_TRUE(c.server.overruled);
  EXPECT_TRUE(c.server.overruled->conflict);
  EXPECT_FALSE(c.client.overruled);
  EXPECT_EQ(
      grade_case(expecting_rejection_by(Side::server, "unknown_ca"), c.client, c.server).grade,
      Grade::fail);
}

// Rule 2: a definition that calls s_client "completed" from its CONNECTED banner; the wire has
// its fatal certificate_expired alert. It rejected, for the alert's reason.
TEST(Reconcile, ClaimedCompletionWithAFatalAlertSentIsARejection) {
  auto c = load("eager-client-alert");
  ASSERT_EQ(c.client.outcome, Outcome::completed);
  ASSERT_FALSE(c.client.resource); // it printed no resource: the claim is only a banner
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(c.client.outcome, Outcome::rejected);
  EXPECT_EQ(c.client.reason, "expired");
  EXPECT_EQ(c.client.phase, Phase::handshake);
  ASSERT_TRUE(c.client.overruled);
  EXPECT_TRUE(c.client.overruled->conflict);
  EXPECT_NE(c.client.overruled->note.find("certificate_expired"), std::string::npos);
  EXPECT_EQ(c.server.outcome, Outcome::error); // the honest side is left alone
  EXPECT_EQ(grade_case(expecting_rejection_by(Side::client, "expired"), c.client, c.server).grade,
            Grade::pass);
}

// Rule 3, client side: s_client refuses an expired server certificate, but its definition
// understands none of its words (openssl-mute): it "reported an error", unmapped. It sent the
// connection's first fatal alert, so it rejected; the reason is the alert's, and says so.
TEST(Reconcile, ErrorSideThatSentTheFirstFatalAlertRejected) {
  auto c = load("mute-client");
  ASSERT_EQ(c.client.outcome, Outcome::error); // what its definition made of it
  ASSERT_EQ(c.client.reason, "unmapped");
  ASSERT_EQ(grade_case(expecting_rejection_by(Side::client, "expired"), c.client, c.server).grade,
            Grade::fail); // "no side reported a rejection" without the wire
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_FALSE(d.delivered);
  EXPECT_EQ(c.client.outcome, Outcome::rejected);
  EXPECT_EQ(c.client.reason, "expired");
  EXPECT_EQ(c.client.reason_source, ReasonSource::alert);
  EXPECT_EQ(c.client.phase, Phase::handshake);
  ASSERT_TRUE(c.client.overruled);
  EXPECT_FALSE(c.client.overruled->conflict); // an error is not a claim the wire contradicts
  EXPECT_NE(c.client.overruled->note.find("first fatal alert, certificate_expired"),
            std::string::npos);
  EXPECT_EQ(c.server.outcome, Outcome::error); // the side that received it did not refuse
  EXPECT_EQ(grade_case(expecting_rejection_by(Side::client, "expired"), c.client, c.server).grade,
            Grade::pass);
}

// Rule 3, server side, from the wire alone: s_server's own record holds no alert (its output
// shows none), the trace has its unknown_ca.
TEST(Reconcile, TheWireNamesTheRejectingServer) {
  auto c = load("mute-server");
  ASSERT_EQ(c.server.outcome, Outcome::error);
  ASSERT_TRUE(c.server.alerts.empty());
  (void)reconcile(c.client, c.server, &c.trace, false);
  EXPECT_EQ(c.server.outcome, Outcome::rejected);
  EXPECT_EQ(c.server.reason, "unknown_ca");
  EXPECT_EQ(c.server.reason_source, ReasonSource::alert);
  EXPECT_EQ(c.client.outcome, Outcome::error);
  EXPECT_EQ(
      grade_case(expecting_rejection_by(Side::server, "unknown_ca"), c.client, c.server).grade,
      Grade::pass);
}

// Rule 3 keeps a reason the side's own output gave: the alert only decides who refused.
TEST(Reconcile, OwnReasonOutranksTheAlertsMeaning) {
  auto c = load("mute-client");
  c.client.reason = "not_yet_valid";
  c.client.reason_source = ReasonSource::output;
  (void)reconcile(c.client, c.server, &c.trace, false);
  EXPECT_EQ(c.client.outcome, Outcome::rejected);
  EXPECT_EQ(c.client.reason, "not_yet_valid");
  EXPECT_EQ(c.client.reason_source, ReasonSource::output);
}

// Rule 4: a rejection whose output did not say why takes the reason of the alert it sent.
TEST(Reconcile, UnexplainedRejectionTakesItsAlertsReason) {
  auto c = load("mute-client");
  c.client.outcome = Outcome::rejected;
  (void)reconcile(c.client, c.server, &c.trace, false);
  EXPECT_EQ(c.client.reason, "expired");
  EXPECT_EQ(c.client.reason_source, ReasonSource::alert);
  EXPECT_FALSE(c.client.overruled); // who refused was never in doubt
}

// Every alert's reason is read with its sender's meaning (a definition's alert_reasons): for the
// sender itself (rule 3) and for the side that received it (rule 5).
TEST(Reconcile, AlertsAreReadWithTheSendersMeaning) {
  auto c = load("mute-client");
  c.server.reason = "unmapped"; // as if the server had not read the alert itself
  c.server.reason_source = ReasonSource::none;
  const AlertReasons sender = {{"certificate_expired", "not_yet_valid"}};
  (void)reconcile(c.client, c.server, &c.trace, false, AlertMeanings{&sender, nullptr});
  EXPECT_EQ(c.client.reason, "not_yet_valid");
  EXPECT_EQ(c.server.outcome, Outcome::error);
  EXPECT_EQ(c.server.reason, "not_yet_valid");
  EXPECT_EQ(c.server.reason_source, ReasonSource::peer_alert);
}

// Controls: a real rejection and a real completion are left exactly as they were.
TEST(Reconcile, TruthfulAccountsAreLeftAlone) {
  auto r = load("genuine-rejection");
  const auto dr = reconcile(r.client, r.server, &r.trace, false);
  EXPECT_FALSE(dr.delivered);
  EXPECT_EQ(r.client.outcome, Outcome::rejected);
  EXPECT_FALSE(r.client.overruled || r.server.overruled);
  auto a = load("genuine-completion");
  const auto da = reconcile(a.client, a.server, &a.trace, false);
  EXPECT_TRUE(da.delivered);
  EXPECT_EQ(a.client.outcome, Outcome::completed);
  EXPECT_EQ(a.server.outcome, Outcome::completed);
  EXPECT_FALSE(a.client.overruled || a.server.overruled);
}

// Rule 1 for an error reported after the exchange: accepted, noted, not a conflict.
TEST(Reconcile, ErrorAfterTheExchangeIsNotAConflict) {
  auto c = load("genuine-completion");
  c.client.outcome = Outcome::error;
  c.client.reason = "unmapped";
  const auto d = reconcile(c.client, c.server, &c.trace, false);
  EXPECT_TRUE(d.delivered);
  EXPECT_EQ(c.client.outcome, Outcome::completed);
  ASSERT_TRUE(c.client.overruled);
  EXPECT_FALSE(c.client.overruled->conflict);
}

// A timeout stays a timeout: the case's deadline, not the resource, ended it.
TEST(Reconcile, TimeoutIsNeverOverruled) {
  auto c = load("genuine-completion");
  c.client.outcome = Outcome::timeout;
  EXPECT_TRUE(reconcile(c.client, c.server, &c.trace, false).delivered);
  EXPECT_EQ(c.client.outcome, Outcome::timeout);
}

TEST(Reconcile, ResourceOnTheWireIsRecognisedByContent) {
  wire::TraceEvent e;
  e.kind = wire::EventKind::application_data;
  e.direction = wire::Direction::server_to_client;
  e.detail = "\"HTTP/1.0 200 ok\\r\\nContent-type: t\"…";
  EXPECT_TRUE(carries_resource(e, false));
  e.detail = "\"HTTP/1.1 400 Bad Request\\r\\n\"";
  EXPECT_FALSE(carries_resource(e, false)); // an HTTP refusal is no resource
  e.detail = "\"GET /tlsmatrix HTTP/1.0\\r\\nHost\"…";
  EXPECT_TRUE(carries_resource(e, true));
  EXPECT_FALSE(carries_resource(e, false));
  e.direction = wire::Direction::client_to_server;
  EXPECT_FALSE(carries_resource(e, true)); // the request itself is not the echo
}

} // namespace
