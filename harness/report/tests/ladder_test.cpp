// The ladder diagram of `tlsmatrix trace`, and how a case is found by id, glob or substring.
#include "harness/report/ladder.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace {

using json = nlohmann::ordered_json;

json sample_case() {
  return json::parse(R"({
    "id": "client-expired/1.2/local->local", "title": "Expired client certificate",
    "client": "local", "server": "local",
    "observation": {
      "client": {"peer": "local", "outcome": "rejected", "phase": "handshake", "reason": "expired", "verify_error": null},
      "server": {"peer": "local", "outcome": "rejected", "phase": "handshake", "reason": "expired", "verify_error": 10}},
    "verdict": {"grade": "pass", "reason": "expired", "detail": "rejected by the server"},
    "trace": [
      {"direction": "client->server", "kind": "handshake", "name": "ClientHello", "time_ms": 0.2},
      {"direction": "server->client", "kind": "handshake", "name": "ServerHello", "time_ms": 1.5},
      {"direction": "client->server", "kind": "handshake", "name": "Certificate", "time_ms": 2.0},
      {"direction": "server->client", "kind": "alert", "name": "fatal certificate_expired", "level": "fatal", "time_ms": 3.25}
    ]})");
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(text.substr(start, nl - start));
  return out;
}

std::size_t line_with(const std::vector<std::string>& ls, const std::string& what) {
  for (std::size_t i = 0; i < ls.size(); ++i)
    if (ls[i].find(what) != std::string::npos)
      return i;
  return ls.size();
}

TEST(Ladder, ArrowsPointFromTheSenderInTraceOrder) {
  const std::string out = harness::render_ladder(sample_case());
  const auto ls = lines(out);
  const auto hello = line_with(ls, "ClientHello"), server_hello = line_with(ls, "ServerHello"),
             cert = line_with(ls, "Certificate"), alert = line_with(ls, "certificate_expired");
  ASSERT_LT(hello, ls.size()) << out;
  ASSERT_LT(alert, ls.size()) << out;
  EXPECT_LT(hello, server_hello);
  EXPECT_LT(server_hello, cert);
  EXPECT_LT(cert, alert);
  // Client to server: the name on the left, the arrowhead on the right; the reverse from the
  // server.
  EXPECT_LT(ls[hello].find("ClientHello"), ls[hello].find("->"));
  EXPECT_NE(ls[hello].find(">|"), std::string::npos) << ls[hello];
  EXPECT_NE(ls[server_hello].find("|<-"), std::string::npos) << ls[server_hello];
  EXPECT_LT(ls[server_hello].find("<-"), ls[server_hello].find("ServerHello"));
  // Both rails line up: the same column on every arrow line.
  EXPECT_EQ(ls[hello].find('|'), ls[server_hello].find('|'));
  EXPECT_EQ(ls[hello].rfind('|'), ls[server_hello].rfind('|'));
  EXPECT_EQ(ls[hello].find('|'), ls[alert].find('|'));
  // The failing step is marked; times are shown.
  EXPECT_NE(ls[alert].find("✗ fatal certificate_expired"), std::string::npos) << ls[alert];
  EXPECT_NE(ls[alert].find("3.2 ms"), std::string::npos) << ls[alert];
  // Header and both sides' verdict lines.
  EXPECT_NE(out.find("client-expired/1.2/local->local"), std::string::npos);
  EXPECT_LT(ls[line_with(ls, "client: local")].find("client: local"),
            ls[line_with(ls, "client: local")].find("server: local"));
  EXPECT_NE(out.find("client (local): rejected in handshake, reason expired"), std::string::npos)
      << out;
  EXPECT_NE(out.find("server (local): rejected in handshake, reason expired, verify error 10"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("verdict: pass (expired)"), std::string::npos) << out;
}

TEST(Ladder, ACaseWithoutATraceSaysWhy) {
  json c = sample_case();
  c.erase("trace");
  c["trace_note"] = "relay: no_client";
  const std::string out = harness::render_ladder(c);
  EXPECT_NE(out.find("(no trace recorded: relay: no_client)"), std::string::npos) << out;
  EXPECT_NE(out.find("verdict: pass"), std::string::npos);
}

TEST(Ladder, FindCaseByIdGlobOrUniqueSubstring) {
  json results = {{"cases", json::array()}};
  for (const char* id :
       {"good/1.2/local->local", "good/1.3/local->local", "good/1.3/openssl->local"})
    results["cases"].push_back({{"id", id}});
  EXPECT_EQ(harness::find_case(results, "good/1.2/local->local")["id"], "good/1.2/local->local");
  EXPECT_EQ(harness::find_case(results, "1.2")["id"], "good/1.2/local->local");
  EXPECT_EQ(harness::find_case(results, "*1.3/openssl*")["id"], "good/1.3/openssl->local");
  EXPECT_THROW((void)harness::find_case(results, "1.3"), tlsmatrix::Error);     // two match
  EXPECT_THROW((void)harness::find_case(results, "nothing"), tlsmatrix::Error); // none
}

} // namespace
