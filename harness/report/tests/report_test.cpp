// Report writers on synthetic results: JUnit structure and escaping (checked with xmllint against
// the XSD), Markdown size limits, the HTML's embedded data and self-containment, loading errors.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "harness/report/report.hpp"
#include "harness/results/results_file.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;
using testing_support::ScratchDir;

struct CaseSpec {
  std::string scenario, tls, client, server, grade;
  std::string reason = "";
  std::string detail = "";
  std::string title = "";
};

json side(const std::string& peer, const std::string& outcome, const std::string& phase,
          const std::string& reason, const std::string& error_text) {
  return {{"peer", peer},
          {"outcome", outcome},
          {"phase", phase},
          {"exit_code", nullptr},
          {"verify_error", nullptr},
          {"reason", reason},
          {"error_text", error_text},
          {"alerts", json::array()},
          {"elapsed_ms", 12.5}};
}

json make_case(const CaseSpec& s) {
  json c;
  c["id"] = s.scenario + "/" + s.tls + "/" + s.client + "->" + s.server;
  c["scenario"] = s.scenario;
  c["title"] = s.title.empty() ? "Title of " + s.scenario : s.title;
  c["tls"] = s.tls;
  c["client"] = s.client;
  c["server"] = s.server;
  c["expect"] = {{"result", "rejected"},
                 {"by", "client"},
                 {"reasons", {"expired"}},
                 {"alerts", {"certificate_expired"}}};
  const bool accepted = s.grade == "pass" && s.reason.empty();
  json client = side(s.client, accepted ? "completed" : "rejected", accepted ? "done" : "handshake",
                     s.reason, accepted ? "" : "client error text for " + s.scenario);
  json server = side(s.server, accepted ? "completed" : "error", accepted ? "done" : "handshake",
                     s.reason, accepted ? "" : "server error text for " + s.scenario);
  if (!accepted) {
    client["exit_code"] = 1;
    client["verify_error"] = 10;
    client["alerts"].push_back({{"direction", "sent"},
                                {"level", "fatal"},
                                {"description", "certificate_expired"},
                                {"code", 45}});
    server["alerts"].push_back({{"direction", "received"},
                                {"level", "fatal"},
                                {"description", "certificate_expired"},
                                {"code", 45}});
  }
  c["observation"] = {{"client", client}, {"server", server}};
  c["verdict"] = {{"grade", s.grade},
                  {"reason", s.reason},
                  {"rejected_by", accepted ? json(nullptr) : json("client")},
                  {"alert", accepted ? json(nullptr) : json("certificate_expired")},
                  {"alert_from", accepted ? json(nullptr) : json("client")},
                  {"detail", s.detail.empty() ? s.grade + " detail" : s.detail}};
  c["elapsed_ms"] = 180.287;
  c["logs"] = {{"dir", "/nonexistent/cases/" + s.scenario}};
  c["reproduce"] = {{"server", "openssl s_server -accept 127.0.0.1:4433"},
                    {"client", "openssl s_client -connect 127.0.0.1:4433"}};
  return c;
}

json make_results(const std::vector<CaseSpec>& specs, bool interrupted = false) {
  json r;
  r["version"] = 1;
  r["tool"] = "tlsmatrix 0.1.0";
  r["run_id"] = "20260101T000000Z-abcd";
  r["started"] = "2026-01-01T00:00:00Z";
  r["finished"] = "2026-01-01T00:00:09Z";
  r["interrupted"] = interrupted;
  r["pki"] = {{"dir", "/tmp/pki"}, {"manifest", "/tmp/pki/manifest.json"}};
  r["scenarios"] = "/tmp/scenarios";
  r["peers"] = {{"local",
                 {{"description", "ours"},
                  {"version", "OpenSSL 3.0.19"},
                  {"roles", {"client", "server"}},
                  {"capabilities", {"tls1.2", "tls1.3"}},
                  {"available", true}}},
                {"openssl",
                 {{"description", "the CLI"},
                  {"version", "OpenSSL 3.0.19 (Library)"},
                  {"roles", {"client", "server"}},
                  {"capabilities", {"tls1.2", "tls1.3"}},
                  {"available", true}}}};
  r["options"] = {{"jobs", 2}, {"filter", ""}};
  json cases = json::array();
  for (const auto& s : specs)
    cases.push_back(make_case(s));
  r["totals"] = json::object();
  r["cases"] = cases;
  return r;
}

// One case of every grade the harness produces.
json every_grade() {
  return make_results({
      {"server-expired", "1.3", "openssl", "local", "pass", "expired"},
      {"server-expired", "1.3", "local", "openssl", "wrong_reason", "unknown_ca",
       "rejected for unknown_ca, expected expired"},
      {"server-expired", "1.2", "openssl", "local", "fail", "expired",
       "expected rejection by the server"},
      {"one-way", "1.2", "local", "local", "pass"},
      {"one-way", "1.2", "openssl", "local", "timeout", "", "no end within 10 s"},
      {"one-way", "1.3", "openssl", "local", "harness_error", "", "cannot start openssl"},
      {"one-way", "1.3", "local", "openssl", "not_applicable", "", "openssl lacks rsa_kx"},
  });
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

fs::path xsd() {
  return testing_support::source_dir() / "harness" / "tests" / "data" / "junit" / "junit.xsd";
}

// xmllint's verdict on `xml` (well-formedness, and validity against the XSD when asked).
testing_support::CommandResult xmllint(const std::string& xml, bool schema) {
  ScratchDir dir;
  testing_support::write_text(dir / "junit.xml", xml);
  std::vector<std::string> argv = {"xmllint", "--noout"};
  if (schema)
    argv.insert(argv.end(), {"--schema", xsd().string()});
  argv.push_back((dir / "junit.xml").string());
  return testing_support::run(argv);
}

#define REQUIRE_XMLLINT()                                                                          \
  if (!testing_support::have_program("xmllint"))                                                   \
  GTEST_SKIP() << "xmllint not installed (Debian libxml2-utils)"

// --- JUnit -------------------------------------------------------------------------------------

TEST(ReportJunit, OneTestcasePerCaseNamedByScenarioPairAndVersion) {
  const std::string xml = harness::render_junit(every_grade());
  EXPECT_EQ(count(xml, "<testcase "), 7u);
  EXPECT_NE(
      xml.find(
          R"(<testcase classname="server-expired" name="openssl-&gt;local TLS 1.3" time="0.180"/>)"),
      std::string::npos)
      << xml;
  // One testsuite per scenario, with its counts; the root carries the totals.
  EXPECT_NE(
      xml.find(R"(<testsuite name="server-expired" tests="3" failures="2" errors="0" skipped="0")"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find(R"(<testsuite name="one-way" tests="4" failures="1" errors="1" skipped="1")"),
            std::string::npos)
      << xml;
  EXPECT_NE(
      xml.find(
          R"(<testsuites name="tlsmatrix 20260101T000000Z-abcd" tests="7" failures="3" errors="1" skipped="1")"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find(R"(timestamp="2026-01-01T00:00:00")"), std::string::npos);
}

TEST(ReportJunit, GradesBecomeFailuresErrorsAndSkips) {
  const std::string xml = harness::render_junit(every_grade());
  EXPECT_EQ(count(xml, "<failure "), 3u); // wrong_reason, fail, timeout
  EXPECT_NE(
      xml.find(
          R"(<failure message="wrong_reason: rejected for unknown_ca, expected expired" type="wrong_reason">)"),
      std::string::npos);
  EXPECT_NE(xml.find(R"(<failure message="timeout: no end within 10 s" type="timeout">)"),
            std::string::npos);
  EXPECT_NE(
      xml.find(R"(<error message="harness_error: cannot start openssl" type="harness_error">)"),
      std::string::npos);
  EXPECT_NE(xml.find(R"(<skipped message="openssl lacks rsa_kx"/>)"), std::string::npos);
  EXPECT_NE(xml.find(R"(name="local-&gt;local TLS 1.2" time="0.180"/>)"), std::string::npos)
      << "a pass is a plain testcase";
}

TEST(ReportJunit, FailureTextCarriesTheEvidence) {
  const std::string xml = harness::render_junit(every_grade());
  const auto start = xml.find("type=\"fail\">");
  ASSERT_NE(start, std::string::npos);
  const std::string body = xml.substr(start, xml.find("</failure>", start) - start);
  for (const char* want :
       {"expected:  rejected by the client (reason expired; alert certificate_expired)",
        "verdict:   expected rejection by the server",
        "alert:     certificate_expired, sent by the client",
        "client:    openssl: rejected in handshake, exit 1, verify error 10, reason expired",
        "server:    local: error in handshake, reason expired",
        "alerts:  sent fatal certificate_expired", "| client error text for server-expired",
        "| server error text for server-expired", "server: openssl s_server -accept 127.0.0.1:4433",
        "client: openssl s_client -connect 127.0.0.1:4433",
        "logs:      /nonexistent/cases/server-expired"})
    EXPECT_NE(body.find(want), std::string::npos) << want << "\n" << body;
}

TEST(ReportJunit, PropertiesNameTheToolAndThePeers) {
  const std::string xml = harness::render_junit(every_grade());
  EXPECT_NE(xml.find(R"(<property name="tool" value="tlsmatrix 0.1.0"/>)"), std::string::npos);
  EXPECT_NE(xml.find(R"(<property name="peer.local" value="OpenSSL 3.0.19"/>)"), std::string::npos);
  EXPECT_NE(xml.find(R"x(<property name="peer.openssl" value="OpenSSL 3.0.19 (Library)"/>)x"),
            std::string::npos);
  EXPECT_NE(xml.find(R"(<property name="run_id" value="20260101T000000Z-abcd"/>)"),
            std::string::npos);
}

// results.json's "unmapped" (adapter defects) is in every report, per stack.
TEST(ReportUnmapped, MarkdownAndJunitCountThemPerStack) {
  json r = every_grade();
  r["unmapped"] = {{"rejecting_sides", 5},
                   {"count", 2},
                   {"by_peer",
                    {{"go", {{"rejecting", 3}, {"unmapped", 2}}},
                     {"openssl", {{"rejecting", 2}, {"unmapped", 0}}}}}};
  const std::string md = harness::render_markdown(r);
  EXPECT_NE(md.find("Unmapped reasons: 2 of 5 rejecting sides (go 2 of 3)"), std::string::npos)
      << md;
  const std::string xml = harness::render_junit(r);
  EXPECT_NE(xml.find(R"(<property name="unmapped" value="2 of 5 rejecting sides"/>)"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find(R"(<property name="unmapped.go" value="2 of 3"/>)"), std::string::npos);
  r["unmapped"]["count"] = 0;
  r["unmapped"]["by_peer"]["go"]["unmapped"] = 0;
  EXPECT_NE(harness::render_markdown(r).find("Unmapped reasons: 0 of 5 rejecting sides."),
            std::string::npos);
}

TEST(ReportJunit, XmlEscapeHandlesMarkupAndCharactersXmlCannotCarry) {
  EXPECT_EQ(harness::xml_escape(R"(a<b&c"d'e>f)"), "a&lt;b&amp;c&quot;d&apos;e&gt;f");
  EXPECT_EQ(harness::xml_escape("]]>"), "]]&gt;");
  EXPECT_EQ(harness::xml_escape(std::string("x\x01\x08\x0b\x0c\x1b\x1fy", 9)), "xy");
  EXPECT_EQ(harness::xml_escape(std::string("\0z", 2)), "z");
  EXPECT_EQ(harness::xml_escape("tab\tline\n"), "tab\tline\n");
  EXPECT_EQ(harness::xml_escape("cr\r"), "cr&#13;");
  EXPECT_EQ(harness::xml_escape("caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x94\x92"),
            "caf\xC3\xA9 \xE2\x86\x92 \xF0\x9F\x94\x92");
  EXPECT_EQ(harness::xml_escape("\xEF\xBF\xBE\xEF\xBF\xBF"), ""); // U+FFFE, U+FFFF
  EXPECT_EQ(harness::xml_escape("a\xFF"
                                "b"),
            "a\xEF\xBF\xBD"
            "b"); // malformed byte -> U+FFFD
  EXPECT_EQ(harness::xml_escape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");         // overlong "/"
  EXPECT_EQ(harness::xml_escape("\xED\xA0\x80").find('\xED'), std::string::npos); // a surrogate
  EXPECT_EQ(harness::xml_escape("\xE2\x86"), "\xEF\xBF\xBD\xEF\xBF\xBD");         // truncated
}

TEST(ReportJunit, NastyStringsStayWellFormedAndValid) {
  REQUIRE_XMLLINT();
  const std::string nasty =
      std::string("<x a=\"1\" b='2'> & &amp; ]]> <![CDATA[ c ]]> \x01\x02\x1b[31m \xFF\xFE ") +
      "\xEF\xBF\xBF </failure></testcase> --> \r\n\ttab";
  json r = every_grade();
  for (auto& c : r["cases"]) {
    c["scenario"] = "scen<ario>&\"" + c["scenario"].get<std::string>();
    c["client"] = "cli'ent\x07";
    c["verdict"]["detail"] = nasty;
    c["observation"]["client"]["error_text"] = nasty;
    c["reproduce"]["client"] = nasty;
  }
  r["peers"]["local"]["version"] = nasty;
  // nlohmann refuses to dump invalid UTF-8, but results come from files too: the writer must cope.
  const std::string xml = harness::render_junit(r);
  for (char c : xml) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 || c == '\n' || c == '\t') << "raw control character " << int(u);
  }
  EXPECT_EQ(xml.find("\xFF"), std::string::npos);
  EXPECT_EQ(xml.find("</failure></testcase> --"), std::string::npos);
  const auto lint = xmllint(xml, true);
  EXPECT_EQ(lint.exit_code, 0) << lint.err;
}

TEST(ReportJunit, ValidAgainstTheXsd) {
  REQUIRE_XMLLINT();
  for (const bool interrupted : {false, true}) {
    json r = every_grade();
    r["interrupted"] = interrupted;
    const auto lint = xmllint(harness::render_junit(r), true);
    EXPECT_EQ(lint.exit_code, 0) << lint.err;
  }
}

TEST(ReportJunit, XsdRejectsWhatConsumersCannotRead) {
  REQUIRE_XMLLINT();
  // The schema is a real check, not a rubber stamp: these break Jenkins/GitLab parsing.
  for (
      const char* bad : {
          R"(<testsuites><testsuite name="s" tests="1"><testcase name="n"/></testsuite></testsuites>)",
          R"(<testsuites><testsuite name="s"><testcase name="n" classname="c"/></testsuite></testsuites>)",
          R"(<testsuites><testsuite name="s" tests="1"><testcase name="n" classname="c" time="1,5"/></testsuite></testsuites>)",
          R"(<testsuites><testsuite name="s" tests="1"><testcase name="n" classname="c"><skipped/><failure/></testcase></testsuite></testsuites>)",
          R"(<testsuites><testsuite name="s" tests="1" timestamp="2026-01-01T00:00:00Z"/></testsuites>)",
      }) {
    const auto lint = xmllint(std::string("<?xml version=\"1.0\"?>\n") + bad, true);
    EXPECT_NE(lint.exit_code, 0) << bad;
  }
}

TEST(ReportJunit, EmptyRunIsOneEmptySuite) {
  const std::string xml = harness::render_junit(make_results({}));
  EXPECT_NE(
      xml.find(
          R"(<testsuites name="tlsmatrix 20260101T000000Z-abcd" tests="0" failures="0" errors="0" skipped="0")"),
      std::string::npos)
      << xml;
  EXPECT_EQ(count(xml, "<testsuite "), 1u);
  EXPECT_EQ(count(xml, "<testcase "), 0u);
  if (testing_support::have_program("xmllint")) {
    EXPECT_EQ(xmllint(xml, true).exit_code, 0);
  }
}

TEST(ReportJunit, InterruptedRunIsNeverGreen) {
  const std::string xml = harness::render_junit(
      make_results({{"one-way", "1.2", "local", "local", "pass"}}, /*interrupted=*/true));
  EXPECT_NE(xml.find(R"(<testcase classname="tlsmatrix" name="run completed")"), std::string::npos)
      << xml;
  EXPECT_NE(xml.find(R"(type="interrupted")"), std::string::npos);
  EXPECT_NE(xml.find(R"(tests="2" failures="0" errors="1")"), std::string::npos) << xml;
  EXPECT_NE(xml.find(R"(<property name="interrupted" value="true"/>)"), std::string::npos);
}

// --- Markdown ----------------------------------------------------------------------------------

TEST(ReportMarkdown, TotalsMatrixFailuresAndThePointer) {
  harness::MarkdownOptions options;
  options.html_link = "report.html";
  options.html_text = "results/run/report.html";
  const std::string md = harness::render_markdown(every_grade(), options);
  EXPECT_NE(md.find("❌ 4 of 7 cases failed"), std::string::npos) << md;
  EXPECT_NE(md.find("| 2 | 1 | 1 | 1 | 1 | 1 | 7 |"), std::string::npos) << md;
  EXPECT_NE(md.find("### Matrix"), std::string::npos);
  EXPECT_NE(md.find("| server-expired |"), std::string::npos) << md;
  EXPECT_NE(md.find("### Failing cells (4)"), std::string::npos);
  EXPECT_NE(md.find("fail: openssl → local 1.2"), std::string::npos) << md;
  EXPECT_NE(md.find("expected rejection by the server"), std::string::npos);
  EXPECT_EQ(md.find("openssl lacks rsa\\_kx"), std::string::npos)
      << "not applicable is not a failure";
  EXPECT_NE(md.find("[results/run/report.html](report.html)"), std::string::npos) << md;
}

TEST(ReportMarkdown, MarkupInDataCannotBreakTheTable) {
  json r = make_results(
      {{"a|b", "1.2", "local", "local", "fail", "", "x | y <script>alert(1)</script> *z*\nnext"}});
  const std::string md = harness::render_markdown(r);
  EXPECT_NE(md.find("| a\\|b |"), std::string::npos) << md;
  EXPECT_NE(md.find("x \\| y &lt;script&gt;alert(1)&lt;/script&gt; \\*z\\* next"),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("<script>"), std::string::npos);
}

TEST(ReportMarkdown, ShowsWhichPairsDiverge) {
  json r =
      make_results({{"server-expired", "1.3", "local", "local", "pass", "expired"},
                    {"server-expired", "1.3", "openssl", "local", "pass", "expired"},
                    {"server-expired", "1.3", "local", "openssl", "wrong_reason", "unknown_ca"}});
  const std::string md = harness::render_markdown(r);
  EXPECT_NE(md.find("### Divergences (1 of 1"), std::string::npos) << md;
  EXPECT_NE(md.find("**server-expired** TLS 1.3: 2 behaviours"), std::string::npos) << md;
  EXPECT_NE(md.find("  - local → local, openssl → local: client rejected in handshake"),
            std::string::npos)
      << md;
  EXPECT_NE(
      md.find("  - local → openssl: client rejected in handshake, server error in handshake; alert "
              "certificate\\_expired from the client; reason unknown\\_ca"),
      std::string::npos)
      << md;
}

TEST(ReportMarkdown, ASideThatNeverRanSaysSo) {
  json r = make_results(
      {{"one-way", "1.2", "local", "openssl", "harness_error", "", "cannot start openssl"}});
  for (const char* side : {"client", "server"}) { // as the runner records a case it could not start
    r["cases"][0]["observation"][side]["outcome"] = "invalid";
    r["cases"][0]["observation"][side]["phase"] = "invalid";
  }
  const std::string md = harness::render_markdown(r);
  EXPECT_NE(md.find("  - client local: did not run\n  - server openssl: did not run\n"),
            std::string::npos)
      << md;
  EXPECT_NE(harness::render_junit(r).find("client:    local: did not run"), std::string::npos);
}

TEST(ReportMarkdown, BigRunsAreCutToTheLimitWithANote) {
  std::vector<CaseSpec> specs;
  const char* peers[] = {"local", "openssl", "gnutls", "nss", "go", "java", "python", "node"};
  for (int s = 0; s < 120; ++s)
    for (const char* client : peers)
      for (const char* server : {"local", "openssl"})
        for (const char* tls : {"1.2", "1.3"}) {
          const bool bad = (s + std::string(client).size()) % 3 == 0;
          specs.push_back({"scenario-with-a-long-name-" + std::to_string(s), tls, client, server,
                           bad ? "fail" : "pass", "expired",
                           bad ? std::string(300, 'd') + " in " + client + std::to_string(s) : ""});
        }
  const json r = make_results(specs);
  ASSERT_GT(r["cases"].size(), 3000u);
  harness::MarkdownOptions options;
  options.html_link = "report.html";
  const std::string md = harness::render_markdown(r, options);
  EXPECT_LT(md.size(), 65535u);
  EXPECT_GT(md.size(), 40000u) << "the budget should be used, not wasted";
  EXPECT_NE(md.find("cases failed"), std::string::npos);
  EXPECT_NE(md.find("not shown here: see the HTML report"), std::string::npos);
  EXPECT_NE(md.find("Shortened to fit 63 KiB"), std::string::npos) << md.substr(md.size() - 600);
  EXPECT_NE(md.find("(report.html)"), std::string::npos) << "the pointer survives the cut";
  EXPECT_NE(md.find("### Failing cells"), std::string::npos)
      << "the matrix must not eat the whole budget";

  options.limit = 4096;
  const std::string small = harness::render_markdown(r, options);
  EXPECT_LT(small.size(), 4096u);
  EXPECT_NE(small.find("(report.html)"), std::string::npos);
  EXPECT_NE(small.find("left out"), std::string::npos);
}

TEST(ReportMarkdown, EmptyAndInterruptedRuns) {
  const std::string empty = harness::render_markdown(make_results({}));
  EXPECT_NE(empty.find("no cases"), std::string::npos) << empty;
  EXPECT_EQ(empty.find("### Matrix"), std::string::npos);
  const std::string cut =
      harness::render_markdown(make_results({{"one-way", "1.2", "local", "local", "pass"}}, true));
  EXPECT_NE(cut.find("run incomplete"), std::string::npos) << cut;
  EXPECT_NE(cut.find("The run was interrupted"), std::string::npos) << cut;
}

// --- HTML --------------------------------------------------------------------------------------

// The text of <script type="application/json" id="ID">.
std::string embedded(const std::string& html, const std::string& id) {
  const std::string open = "<script type=\"application/json\" id=\"" + id + "\">";
  const auto start = html.find(open);
  if (start == std::string::npos)
    return {};
  const auto end = html.find("</script>", start);
  return html.substr(start + open.size(), end - start - open.size());
}

TEST(ReportHtml, EmbedsTheResultsVerbatim) {
  const json r = every_grade();
  const std::string html = harness::render_html(r);
  const std::string data = embedded(html, "tlsmatrix-results");
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(json::parse(data), r);
  EXPECT_NE(html.find("<title>tlsmatrix · 20260101T000000Z-abcd · 4 of 7 failed</title>"),
            std::string::npos);
  EXPECT_NE(html.find("id=\"selfcheck\""), std::string::npos);
}

TEST(ReportHtml, DataCannotEscapeItsScriptElement) {
  json r = every_grade();
  const std::string evil = "</script><script>alert(1)</script><!-- </SCRIPT > {{TLSMATRIX:EXTRA}}";
  r["cases"][0]["title"] = evil;
  r["cases"][1]["observation"]["client"]["error_text"] = evil;
  r["run_id"] = "<b>run</b>";
  const std::string html = harness::render_html(r);
  const std::string clean = harness::render_html(every_grade());
  EXPECT_EQ(count(html, "</script>"), count(clean, "</script>"));
  EXPECT_EQ(count(html, "<script"), count(clean, "<script"));
  EXPECT_EQ(html.find("<!-- </SCRIPT"), std::string::npos);
  EXPECT_NE(html.find("<title>tlsmatrix · &lt;b&gt;run&lt;/b&gt;"), std::string::npos);
  EXPECT_EQ(json::parse(embedded(html, "tlsmatrix-results")), r);
  EXPECT_TRUE(json::parse(embedded(html, "tlsmatrix-extra")).is_object());
}

TEST(ReportHtml, LoadsNothingFromTheNetwork) {
  const std::string html = harness::render_html(every_grade());
  static const std::regex external(R"((src|href|action|srcset)\s*=\s*["']?\s*(https?:|//))",
                                   std::regex::icase);
  EXPECT_FALSE(std::regex_search(html, external));
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("<link rel=\"stylesheet\""), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  // and says so to the browser, which then refuses any load the page might attempt
  EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none';"),
            std::string::npos);
}

TEST(ReportHtml, EmptyAndInterruptedRunsRender) {
  const json empty = make_results({});
  const std::string html = harness::render_html(empty);
  EXPECT_EQ(json::parse(embedded(html, "tlsmatrix-results")), empty);
  EXPECT_NE(html.find("This run has no cases."), std::string::npos);
  const json cut = make_results({{"one-way", "1.2", "local", "local", "pass"}}, true);
  EXPECT_EQ(json::parse(embedded(harness::render_html(cut), "tlsmatrix-results"))["interrupted"],
            true);
}

TEST(ReportHtml, InlinesSmallLogsAndLinksTheOthers) {
  ScratchDir dir;
  const fs::path run = dir / "results" / "20260101T000000Z-abcd";
  const fs::path cases = run / "cases" / "one-way" / "1.2-local-local";
  fs::create_directories(cases);
  testing_support::write_text(cases / "client.out", "hello <client> & bye\n");
  testing_support::write_text(cases / "server.err", std::string(70 * 1024, 'x'));
  testing_support::write_text(cases / "client.keylog", "CLIENT_RANDOM 00 11\n");
  json r = make_results({{"one-way", "1.2", "local", "local", "pass"}});
  // As `tlsmatrix run --out results` records them: relative to where the run started.
  const std::string rel = "results/20260101T000000Z-abcd/cases/one-way/1.2-local-local/";
  r["cases"][0]["logs"] = {{"dir", rel},
                           {"client.out", rel + "client.out"},
                           {"server.err", rel + "server.err"},
                           {"client.keylog", rel + "client.keylog"},
                           {"server.out", rel + "server.out"}};
  harness::HtmlOptions options;
  options.output = run / "report.html";
  options.results_dir = run; // the run folder may since have moved: found through the run id
  const std::string html = harness::render_html(r, options);
  const json logs = json::parse(embedded(html, "tlsmatrix-extra"))["logs"]["0"];
  ASSERT_EQ(logs.size(), 4u) << logs.dump(2);
  std::map<std::string, json> by_name;
  for (const auto& f : logs)
    by_name[f["name"].get<std::string>()] = f;
  EXPECT_EQ(by_name["client.out"]["text"], "hello <client> & bye\n");
  EXPECT_EQ(by_name["client.out"]["href"], "cases/one-way/1.2-local-local/client.out");
  EXPECT_EQ(by_name["client.out"]["size"], 21);
  EXPECT_FALSE(by_name["server.err"].contains("text"));
  EXPECT_NE(by_name["server.err"]["note"].get<std::string>().find("larger than 64 KiB"),
            std::string::npos);
  EXPECT_FALSE(by_name["client.keylog"].contains("text"));
  EXPECT_EQ(by_name["server.out"]["note"], "not found");
  EXPECT_EQ(html.find("hello <client>"), std::string::npos) << "log text is escaped like all data";

  options.inline_logs = false;
  const json plain =
      json::parse(embedded(harness::render_html(r, options), "tlsmatrix-extra"))["logs"]["0"];
  for (const auto& f : plain)
    EXPECT_FALSE(f.contains("text")) << f.dump();
}

// --- loading and writing -----------------------------------------------------------------------

tlsmatrix::Error load_error(const fs::path& path) {
  try {
    (void)harness::load_results(path);
  } catch (const tlsmatrix::Error& e) {
    return e;
  }
  return tlsmatrix::Error(tlsmatrix::Errc::internal, "no error");
}

TEST(ReportLoad, ErrorsNameTheFileAndThePlace) {
  ScratchDir dir;
  auto missing = load_error(dir / "nope.json");
  EXPECT_EQ(missing.code(), tlsmatrix::Errc::io);
  EXPECT_NE(std::string(missing.what()).find("nope.json"), std::string::npos);

  auto empty_dir = load_error(dir.path());
  EXPECT_EQ(empty_dir.code(), tlsmatrix::Errc::io);
  EXPECT_NE(std::string(empty_dir.what()).find("no results.json"), std::string::npos);

  const struct {
    const char* text;
    const char* message;
  } bad[] = {
      {"{\"version\": 1, \"cases\": [", "not valid JSON"},
      {"[1, 2]", "expected a results object"},
      {"{\"cases\": []}", "/version: missing"},
      {"{\"version\": 2, \"cases\": []}", "/version: unsupported results version 2"},
      {"{\"version\": 1}", "/cases: missing"},
      {"{\"version\": 1, \"cases\": [{\"id\": \"a\", \"scenario\": \"s\", \"tls\": \"1.2\", "
       "\"client\": \"c\", "
       "\"server\": \"s\", \"verdict\": {\"grade\": null}}]}",
       "/cases/0/verdict/grade: expected a string, got null"},
      {"{\"version\": 1, \"cases\": [{\"id\": \"a\"}]}", "/cases/0/scenario: missing"},
  };
  for (const auto& b : bad) {
    testing_support::write_text(dir / "results.json", b.text);
    auto e = load_error(dir / "results.json");
    EXPECT_EQ(e.code(), tlsmatrix::Errc::invalid_input) << b.text;
    EXPECT_NE(std::string(e.what()).find((dir / "results.json").string()), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find(b.message), std::string::npos) << e.what();
  }
}

TEST(ReportLoad, TakesAFileARunFolderOrLatest) {
  ScratchDir dir;
  const json r = every_grade();
  fs::create_directories(dir / "run-1");
  testing_support::write_text(dir / "run-1" / "results.json", r.dump(2));
  fs::create_directory_symlink("run-1", dir / "latest");
  for (const fs::path& p : {dir / "run-1" / "results.json", dir / "run-1", dir / "latest"}) {
    const auto saved = harness::load_results(p);
    EXPECT_EQ(saved.results, r) << p;
    EXPECT_EQ(saved.file.filename(), "results.json");
  }
}

TEST(ReportWrite, WritesAllThreeIntoTheRunFolder) {
  ScratchDir dir;
  harness::write_reports(every_grade(), dir.path());
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path()))
    names.insert(e.path().filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"report.html", "junit.xml", "summary.md"}))
      << "no temporary files left";
  EXPECT_NE(testing_support::read_text(dir / "summary.md").find("](report.html)"),
            std::string::npos);
  EXPECT_NE(testing_support::read_text(dir / "junit.xml").find("<testsuites "), std::string::npos);
}

// --- the command -------------------------------------------------------------------------------

TEST(ReportCommand, ExitCodesAndMessagesNameTheFile) {
  ScratchDir dir;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {testing_support::tlsmatrix_binary(), "report"});
    return testing_support::run(args);
  };
  const auto missing = run({(dir / "missing.json").string()});
  EXPECT_EQ(missing.exit_code, 3) << missing.err;
  EXPECT_NE(missing.err.find("missing.json"), std::string::npos) << missing.err;

  testing_support::write_text(dir / "bad.json", "{ not json");
  const auto bad = run({(dir / "bad.json").string()});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("bad.json"), std::string::npos) << bad.err;

  testing_support::write_text(dir / "v9.json", R"({"version": 9, "cases": []})");
  const auto v9 = run({(dir / "v9.json").string()});
  EXPECT_EQ(v9.exit_code, 2) << v9.err;
  EXPECT_NE(v9.err.find("unsupported results version 9"), std::string::npos) << v9.err;

  testing_support::write_text(dir / "ok.json", every_grade().dump());
  const auto out = run({(dir / "ok.json").string(), "--markdown", "-"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("### Failing cells (4)"), std::string::npos) << out.out;
  const auto unwritable =
      run({(dir / "ok.json").string(), "--junit", (dir / "no" / "such" / "junit.xml").string()});
  EXPECT_EQ(unwritable.exit_code, 3) << unwritable.err;
  const auto two_stdouts = run({(dir / "ok.json").string(), "--junit", "-", "--html", "-"});
  EXPECT_EQ(two_stdouts.exit_code, 2) << two_stdouts.err;
}

} // namespace
