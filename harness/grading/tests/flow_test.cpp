// Flow assertions: step parsing, the matcher's ignore rules and its first-differing-step report,
// and grading. Traces are built as the decoder reports them; the matcher against real stacks'
// traces is covered by flow_integration_test.cpp.
#include <gtest/gtest.h>

#include "harness/grading/flow_match.hpp"
#include "harness/grading/grade.hpp"

namespace {

using harness::Flow;
using harness::FlowResult;
using harness::WireEvent;
using harness::WireEventKind;
using harness::wire::Direction;
using harness::wire::EventKind;
using harness::wire::TraceEvent;
using std::chrono::microseconds;

Flow flow_of(std::initializer_list<const char*> steps) {
  Flow f;
  for (const char* s : steps) {
    std::string error;
    auto step = harness::parse_flow_step(s, error);
    EXPECT_TRUE(step.has_value()) << s << ": " << error;
    if (step)
      f.steps.push_back(*step);
  }
  return f;
}

// "C ClientHello", "S ccs", "C alert fatal 48", "S app", "C enc EncryptedHandshakeMessage"; times
// are the event's position * 10 µs, so TCP events can be placed between them.
struct TraceBuilder {
  std::vector<TraceEvent> events;
  std::vector<WireEvent> tcp;

  TraceEvent& add(Direction d, EventKind k, std::string name) {
    TraceEvent e;
    e.direction = d;
    e.kind = k;
    e.name = std::move(name);
    e.time = microseconds(10 * static_cast<long>(events.size() + 1));
    events.push_back(e);
    return events.back();
  }
  TraceBuilder& msg(char side, const char* name) {
    auto& e = add(dir(side), EventKind::handshake, name);
    e.handshake_type = 0;
    return *this;
  }
  TraceBuilder& ccs(char side) {
    add(dir(side), EventKind::change_cipher_spec, "ChangeCipherSpec");
    return *this;
  }
  TraceBuilder& alert(char side, int level, int description) {
    auto& e = add(dir(side), EventKind::alert, "alert");
    e.alert_level = level;
    e.alert_description = description;
    return *this;
  }
  TraceBuilder& app(char side) {
    add(dir(side), EventKind::application_data, "ApplicationData");
    return *this;
  }
  TraceBuilder& enc(char side, const char* name) {
    add(dir(side), EventKind::encrypted, name);
    return *this;
  }
  TraceBuilder& fin(char side) {
    tcp.push_back({side == 'C', WireEventKind::fin,
                   microseconds(10 * static_cast<long>(events.size()) + 5), 0});
    return *this;
  }
  static Direction dir(char side) {
    return side == 'C' ? Direction::client_to_server : Direction::server_to_client;
  }
  [[nodiscard]] harness::FlowCheck check(const Flow& f, bool tls13 = false) const {
    return harness::check_flow(f, harness::flow_tokens(events, tcp, tls13));
  }
};

const Flow rsa_one_way =
    flow_of({"C: ClientHello", "S: ServerHello", "S: Certificate", "S: ServerHelloDone",
             "C: ClientKeyExchange", "C: ChangeCipherSpec", "C: Finished", "S: ChangeCipherSpec",
             "S: Finished"});

TraceBuilder textbook_rsa() {
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerHelloDone").msg('C', "ClientKeyExchange").ccs('C').msg('C', "Finished");
  t.ccs('S').msg('S', "Finished");
  return t;
}

TEST(FlowStep, ParsesSidesOptionalAlternativesAndAlerts) {
  std::string error;
  auto s = harness::parse_flow_step("  S: CertificateRequest? ", error);
  ASSERT_TRUE(s) << error;
  EXPECT_TRUE(s->optional);
  ASSERT_EQ(s->alternatives.size(), 1u);
  EXPECT_EQ(s->alternatives[0].from, Direction::server_to_client);
  EXPECT_EQ(s->alternatives[0].name, "CertificateRequest");

  s = harness::parse_flow_step("C: alert(close_notify) | C: close", error);
  ASSERT_TRUE(s) << error;
  ASSERT_EQ(s->alternatives.size(), 2u);
  EXPECT_EQ(s->alternatives[0].kind, harness::FlowAtom::Kind::alert);
  EXPECT_EQ(s->alternatives[0].alerts, std::vector<std::string>{"close_notify"});
  EXPECT_EQ(s->alternatives[1].kind, harness::FlowAtom::Kind::close);

  s = harness::parse_flow_step("S: alert(unknown_ca, bad_certificate)", error);
  ASSERT_TRUE(s) << error;
  EXPECT_EQ(s->alternatives[0].alerts.size(), 2u);
  EXPECT_TRUE(harness::parse_flow_step("...", error)->any);
}

TEST(FlowStep, RejectsUnknownNames) {
  std::string error;
  EXPECT_FALSE(harness::parse_flow_step("C: ClientHelo", error));
  EXPECT_NE(error.find("unknown message \"ClientHelo\""), std::string::npos) << error;
  EXPECT_FALSE(harness::parse_flow_step("client: ClientHello", error));
  EXPECT_FALSE(harness::parse_flow_step("C: alert(certificate_expird)", error));
  EXPECT_NE(error.find("unknown alert \"certificate_expird\""), std::string::npos) << error;
  EXPECT_FALSE(harness::parse_flow_step("C: alert certificate_expired", error));
  EXPECT_FALSE(harness::parse_flow_step("| C: close", error));
}

TEST(FlowMatch, TextbookRsaOneWayMatchesExactly) {
  auto t = textbook_rsa();
  t.app('C').app('S').alert('S', 1, 0).fin('S').fin('C');
  EXPECT_EQ(t.check(rsa_one_way).result, FlowResult::matched) << t.check(rsa_one_way).detail;
}

TEST(FlowMatch, AMissingMessageNamesTheStepAndWhatTheTraceHad) {
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerKeyExchange").msg('S', "ServerHelloDone");
  const auto r = t.check(rsa_one_way);
  ASSERT_EQ(r.result, FlowResult::mismatch);
  EXPECT_EQ(r.step, 3u);
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.found->trace_index, 3u);
  EXPECT_EQ(r.detail, "flow step 4 expected \"S: ServerHelloDone\", the trace had "
                      "\"S: ServerKeyExchange\" (trace[3])");
}

TEST(FlowMatch, ATraceThatStopsEarlySaysItEnded) {
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello");
  const auto r = t.check(rsa_one_way);
  ASSERT_EQ(r.result, FlowResult::mismatch);
  EXPECT_EQ(r.step, 2u);
  EXPECT_FALSE(r.found);
  EXPECT_NE(r.detail.find("the trace ended"), std::string::npos);
}

TEST(FlowMatch, ExtraMessagesAfterTheLastStepAreAMismatch) {
  auto t = textbook_rsa();
  t.msg('S', "HelloRequest");
  const auto r = t.check(rsa_one_way);
  ASSERT_EQ(r.result, FlowResult::mismatch);
  EXPECT_EQ(r.step, rsa_one_way.steps.size());
  EXPECT_NE(r.detail.find("flow ended after step 9"), std::string::npos) << r.detail;
}

TEST(FlowMatch, NewSessionTicketsAndApplicationDataAreIgnored) {
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerHelloDone").msg('C', "ClientKeyExchange").ccs('C').msg('C', "Finished");
  t.msg('S', "NewSessionTicket").ccs('S').msg('S', "Finished").app('C').enc('S', "ApplicationData");
  EXPECT_EQ(t.check(rsa_one_way).result, FlowResult::matched);
}

TEST(FlowMatch, ChangeCipherSpecIsIgnoredOnlyInTls13) {
  const Flow f = flow_of({"C: ClientHello", "S: ServerHello", "S: EncryptedExtensions",
                          "S: Certificate", "S: CertificateVerify", "S: Finished", "C: Finished"});
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").ccs('S').msg('S', "EncryptedExtensions");
  t.msg('S', "Certificate").msg('S', "CertificateVerify").msg('S', "Finished").ccs('C');
  t.msg('C', "Finished").msg('S', "NewSessionTicket").msg('S', "NewSessionTicket");
  EXPECT_EQ(t.check(f, true).result, FlowResult::matched);
  EXPECT_EQ(t.check(f, false).result, FlowResult::mismatch);
}

TEST(FlowMatch, OptionalStepsAndAlternatives) {
  const Flow f = flow_of({"C: ClientHello", "S: ServerHello", "S: CertificateRequest?",
                          "S: ServerHelloDone", "C: alert(close_notify) | C: close"});
  TraceBuilder with;
  with.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "CertificateRequest");
  with.msg('S', "ServerHelloDone").alert('C', 1, 0);
  EXPECT_EQ(with.check(f).result, FlowResult::matched);
  TraceBuilder without;
  without.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "ServerHelloDone").fin('C');
  EXPECT_EQ(without.check(f).result, FlowResult::matched);
  TraceBuilder neither;
  neither.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "ServerHelloDone").fin('S');
  const auto r = neither.check(f);
  ASSERT_EQ(r.result, FlowResult::mismatch);
  EXPECT_EQ(r.step, 4u);
}

TEST(FlowMatch, EndsWithAFatalAlertFromOneSide) {
  const Flow f = flow_of({"C: ClientHello", "S: ServerHello", "S: Certificate",
                          "S: ServerHelloDone", "C: alert(unknown_ca, bad_certificate)"});
  TraceBuilder ok;
  ok.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  ok.msg('S', "ServerHelloDone").alert('C', 2, 48).fin('C').fin('S');
  EXPECT_EQ(ok.check(f).result, FlowResult::matched);

  TraceBuilder wrong_alert;
  wrong_alert.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  wrong_alert.msg('S', "ServerHelloDone").alert('C', 2, 45);
  auto r = wrong_alert.check(f);
  ASSERT_EQ(r.result, FlowResult::mismatch);
  EXPECT_NE(r.detail.find("\"C: alert(fatal certificate_expired)\""), std::string::npos)
      << r.detail;

  TraceBuilder wrong_side;
  wrong_side.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  wrong_side.msg('S', "ServerHelloDone").alert('S', 2, 48);
  EXPECT_EQ(wrong_side.check(f).result, FlowResult::mismatch);

  TraceBuilder more_after;
  more_after.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  more_after.msg('S', "ServerHelloDone").alert('C', 2, 48).alert('S', 2, 40);
  EXPECT_EQ(more_after.check(f).result, FlowResult::mismatch);
}

TEST(FlowMatch, EllipsisSkipsAnything) {
  const Flow f = flow_of({"C: ClientHello", "...", "S: alert(certificate_required)"});
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Finished").msg('C', "Finished");
  t.alert('S', 2, 116);
  EXPECT_EQ(t.check(f, true).result, FlowResult::matched);
}

TEST(FlowMatch, Tls12FinishedWithoutKeysIsTheMessageAfterChangeCipherSpec) {
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerHelloDone").msg('C', "ClientKeyExchange").ccs('C');
  t.enc('C', "EncryptedHandshakeMessage").ccs('S').enc('S', "EncryptedHandshakeMessage");
  EXPECT_EQ(t.check(rsa_one_way).result, FlowResult::matched);
  // Without the ChangeCipherSpec before it, an unreadable record stays unreadable.
  TraceBuilder u;
  u.msg('C', "ClientHello").enc('S', "EncryptedHandshakeMessage");
  const auto tokens = harness::flow_tokens(u.events, {}, false);
  EXPECT_EQ(tokens[1].kind, harness::FlowAtom::Kind::encrypted);
  EXPECT_FALSE(tokens[1].ignorable);
}

TEST(FlowMatch, TcpEventsAreOrderedByTime) {
  TraceBuilder t;
  t.msg('C', "ClientHello").fin('S').msg('S', "ServerHello");
  const auto tokens = harness::flow_tokens(t.events, t.tcp, false);
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(harness::to_string(tokens[1]), "S: close");
  EXPECT_FALSE(tokens[1].trace_index);
}

// --- grading --------------------------------------------------------------------------------

harness::Scenario scenario_with(const Flow& f) {
  harness::Scenario s;
  s.id = "x";
  s.tls = {harness::TlsVersion::tls12};
  s.expect.result = harness::ExpectedResult::accepted;
  s.expect.flows.emplace_back(harness::TlsVersion::tls12, f);
  return s;
}

harness::Verdict passed() {
  harness::Verdict v;
  v.grade = harness::Grade::pass;
  v.detail = "accepted: both sides completed";
  return v;
}

TEST(FlowGrade, AMismatchFailsAPassWithTheStepInTheDetail) {
  const auto s = scenario_with(rsa_one_way);
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerKeyExchange").msg('S', "ServerHelloDone");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::fail);
  EXPECT_TRUE(v.detail.starts_with("flow step 4 expected \"S: ServerHelloDone\"")) << v.detail;
  EXPECT_TRUE(v.flow.starts_with("mismatch: ")) << v.flow;

  auto ok = passed();
  const auto good = textbook_rsa();
  harness::grade_flow(s, harness::TlsVersion::tls12, &good.events, good.tcp, true, "", ok);
  EXPECT_EQ(ok.grade, harness::Grade::pass);
  EXPECT_EQ(ok.flow, "matched");
}

TEST(FlowGrade, NoTraceIsNotCheckedNeverAFailOrAPass) {
  const auto s = scenario_with(rsa_one_way);
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, nullptr, {}, false, "relay: refused", v);
  EXPECT_EQ(v.grade, harness::Grade::pass);
  EXPECT_EQ(v.flow, "not checked: no trace (relay: refused)");
  EXPECT_NE(v.detail.find("flow not checked"), std::string::npos);
}

TEST(FlowGrade, UndecryptableRecordsMakeAMismatchNotChecked) {
  const Flow f = flow_of({"C: ClientHello", "S: ServerHello", "S: EncryptedExtensions"});
  auto s = scenario_with(f);
  s.expect.flows[0].first = harness::TlsVersion::tls13;
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").enc('S', "EncryptedRecord");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls13, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::pass);
  EXPECT_TRUE(v.flow.starts_with("not checked: 1 record(s) could not be decrypted")) << v.flow;
}

TEST(FlowGrade, ACutShortRecordingIsNotChecked) {
  const auto s = scenario_with(rsa_one_way);
  TraceBuilder t;
  t.msg('C', "ClientHello");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, false, "relay: deadline", v);
  EXPECT_EQ(v.grade, harness::Grade::pass);
  EXPECT_TRUE(v.flow.starts_with("not checked: the recording was cut short")) << v.flow;
}

TEST(FlowGrade, OtherVersionsAndUngradedCasesAreLeftAlone) {
  const auto s = scenario_with(rsa_one_way);
  const TraceBuilder empty;
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls13, &empty.events, empty.tcp, true, "", v);
  EXPECT_EQ(v.flow, "");
  harness::Verdict timeout;
  timeout.grade = harness::Grade::timeout;
  harness::grade_flow(s, harness::TlsVersion::tls12, &empty.events, empty.tcp, true, "", timeout);
  EXPECT_EQ(timeout.grade, harness::Grade::timeout);
  EXPECT_EQ(timeout.flow, "not checked: the case is timeout");
}

} // namespace

namespace {

const Flow refused_after_certificate =
    flow_of({"C: ClientHello", "S: ServerHello", "S: Certificate", "S: ServerKeyExchange",
             "S: ServerHelloDone", "C: alert(unknown_ca, bad_certificate)"});

TEST(FlowGrade, AnAlertOvertakingTheRestOfTheOtherSidesFlightStillMatches) {
  // A JSSE server writes ServerKeyExchange and ServerHelloDone as records of their own; our client
  // refuses the Certificate before they arrive, so on the wire its alert comes first.
  const auto s = scenario_with(refused_after_certificate);
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.alert('C', 2, 48).msg('S', "ServerKeyExchange").msg('S', "ServerHelloDone");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::pass) << v.detail;
  EXPECT_TRUE(v.flow.starts_with("matched")) << v.flow;

  // Within one direction the order still counts.
  TraceBuilder swapped;
  swapped.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "ServerKeyExchange");
  swapped.msg('S', "Certificate").msg('S', "ServerHelloDone").alert('C', 2, 48);
  auto w = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &swapped.events, swapped.tcp, true, "", w);
  EXPECT_EQ(w.grade, harness::Grade::fail);
  EXPECT_TRUE(w.flow.starts_with("mismatch: flow step 3")) << w.flow;
}

TEST(FlowMatch, AFatalAlertMayCutTheRestOfTheOtherSidesFlightShort) {
  // JSSE writes each message as a record of its own: the client refused the Certificate, and the
  // server, reading the alert, never sent ServerKeyExchange and ServerHelloDone.
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate").alert('C', 2, 48);
  EXPECT_EQ(t.check(refused_after_certificate).result, FlowResult::matched)
      << t.check(refused_after_certificate).detail;

  // Not before the Certificate: an alert after ServerHello refused something else.
  TraceBuilder early;
  early.msg('C', "ClientHello").msg('S', "ServerHello").alert('C', 2, 48);
  const auto c = early.check(refused_after_certificate);
  EXPECT_EQ(c.result, FlowResult::mismatch);
  EXPECT_NE(c.detail.find("flow step 3 expected \"S: Certificate\""), std::string::npos)
      << c.detail;

  // Part of the flight may still arrive after the alert (written before the alert was read).
  TraceBuilder partly;
  partly.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  partly.alert('C', 2, 48).msg('S', "ServerKeyExchange");
  EXPECT_EQ(partly.check(refused_after_certificate).result, FlowResult::matched)
      << partly.check(refused_after_certificate).detail;

  // Nor for the alert's own sender, nor for an alert that is not fatal.
  TraceBuilder warning;
  warning.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  warning.alert('C', 1, 48);
  EXPECT_NE(warning.check(refused_after_certificate).result, FlowResult::matched);

  // The server's side, TLS 1.2 mutual: its alert right after the client's Certificate.
  const Flow server_refuses = flow_of(
      {"C: ClientHello", "S: ServerHello", "S: Certificate", "S: CertificateRequest",
       "S: ServerHelloDone", "C: Certificate", "C: ClientKeyExchange", "C: CertificateVerify",
       "C: ChangeCipherSpec", "C: Finished", "S: alert(bad_certificate)"});
  TraceBuilder m;
  m.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  m.msg('S', "CertificateRequest").msg('S', "ServerHelloDone").msg('C', "Certificate");
  m.alert('S', 2, 42);
  EXPECT_EQ(m.check(server_refuses).result, FlowResult::matched) << m.check(server_refuses).detail;
}

TEST(FlowGrade, AMismatchBeforeTheUndecryptableRecordsIsCertain) {
  // botan tls_client against a server without key logs: it refuses the certificate in its output
  // only and goes on with ClientKeyExchange; its closing alert is encrypted.
  // Nothing in the encrypted records can undo a plaintext ClientKeyExchange where the flow has
  // the client's alert.
  const auto s = scenario_with(refused_after_certificate);
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerKeyExchange").msg('S', "ServerHelloDone").msg('C', "ClientKeyExchange");
  t.ccs('C').enc('C', "EncryptedHandshakeMessage").ccs('S').enc('S', "EncryptedHandshakeMessage");
  t.enc('C', "EncryptedAlert");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::fail) << v.detail;
  EXPECT_TRUE(v.flow.starts_with("mismatch: flow step 6")) << v.flow;
  EXPECT_NE(v.flow.find("ClientKeyExchange"), std::string::npos) << v.flow;

  // The same prefix up to the server's flight, then records nobody could read: the flow may still
  // hold in them, so it is not checked.
  TraceBuilder open;
  open.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  open.msg('S', "ServerKeyExchange").msg('S', "ServerHelloDone").enc('C', "EncryptedAlert");
  auto w = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &open.events, open.tcp, true, "", w);
  EXPECT_EQ(w.grade, harness::Grade::pass) << w.detail;
  EXPECT_TRUE(w.flow.starts_with("not checked: 1 record(s) could not be decrypted")) << w.flow;
}

TEST(FlowGrade, APrefixThatOnlyInterleavesDifferentlyIsNotACertainMismatch) {
  // In wire order the client's ClientKeyExchange overtook the server's ServerHelloDone, but each
  // side's own order holds: with the rest unreadable the flow is not checked, not failed.
  const auto s = scenario_with(rsa_one_way);
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('C', "ClientKeyExchange").msg('S', "ServerHelloDone").enc('S', "EncryptedHandshakeMessage");
  auto v = passed();
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::pass) << v.detail;
  EXPECT_TRUE(v.flow.starts_with("not checked: 1 record(s) could not be decrypted")) << v.flow;
}

TEST(FlowGrade, OnlyTheAlertsNameDifferingIsAWrongReasonNotAFail) {
  auto s = scenario_with(refused_after_certificate);
  TraceBuilder t;
  t.msg('C', "ClientHello").msg('S', "ServerHello").msg('S', "Certificate");
  t.msg('S', "ServerKeyExchange")
      .msg('S', "ServerHelloDone")
      .alert('C', 2, 46); // certificate_unknown
  auto v = passed();
  v.alert = "certificate_unknown";
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", v);
  EXPECT_EQ(v.grade, harness::Grade::wrong_reason) << v.detail;
  EXPECT_TRUE(v.flow.starts_with("alert differs: flow step 6")) << v.flow;
  EXPECT_EQ(v.outcome_grade, harness::Grade::pass);

  // expect.alerts accepting the alert already judged it: the case stays a pass.
  s.expect.alerts = {"unknown_ca", "certificate_unknown"};
  auto w = passed();
  w.alert = "certificate_unknown";
  harness::grade_flow(s, harness::TlsVersion::tls12, &t.events, t.tcp, true, "", w);
  EXPECT_EQ(w.grade, harness::Grade::pass) << w.detail;
}

} // namespace
