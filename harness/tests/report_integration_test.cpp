// Reports of a real run: `tlsmatrix run` on a small matrix (with failures and not-applicable pairs
// on purpose), then `tlsmatrix report`; JUnit checked by xmllint against the XSD, the HTML opened
// in headless Chromium (its self-check, cells, a case's details, a screenshot).
#include <gtest/gtest.h>

#include <iostream>
#include <regex>

#include <nlohmann/json.hpp>

#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing_support::ScratchDir;

// Scenarios of the run: one accepted, one rejected, and the rejected one twice more with a wrong
// expectation (a wrong reason; acceptance), so that every report shows failures too.
void write_scenarios(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path suite = testing_support::source_dir() / "scenarios";
  fs::copy_file(suite / "01-one-way.json", dir / "01-one-way.json");
  fs::copy_file(suite / "05-server-expired.json", dir / "05-server-expired.json");
  json expired = json::parse(testing_support::read_text(suite / "05-server-expired.json"));
  json wrong = expired;
  wrong["id"] = "server-expired-as-unknown-ca";
  wrong["title"] = "Expired server certificate, expected <on purpose> as \"unknown_ca\" & so "
                   "graded wrong_reason";
  wrong["expect"]["reasons"] = {"unknown_ca"};
  testing_support::write_text(dir / "06-wrong.json", wrong.dump(2));
  json accepted = expired;
  accepted["id"] = "server-expired-as-accepted";
  accepted["title"] = "Expired server certificate, wrongly expected to be accepted";
  accepted["expect"] = {{"result", "accepted"}};
  testing_support::write_text(dir / "07-accepted.json", accepted.dump(2));
}

// Screenshots and rendered reports are kept for people to look at: next to the test binary's
// working directory (ctest runs it in the build tree), or under $TLSMATRIX_TEST_ARTIFACTS.
fs::path artifacts_dir() {
  const char* env = std::getenv("TLSMATRIX_TEST_ARTIFACTS");
  fs::path dir = env && *env ? fs::path(env) : fs::current_path() / "report-artifacts";
  fs::create_directories(dir);
  return fs::absolute(dir);
}

class ReportEndToEnd : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir();
    write_scenarios(*dir_ / "scenarios");
    run_ = new testing_support::CommandResult(testing_support::run(
        {testing_support::tlsmatrix_binary(), "run", "--scenarios", (*dir_ / "scenarios").string(),
         "--peers", "local,openssl,ghost", "--peer-defs",
         (testing_support::source_dir() / "harness" / "tests" / "data" / "fault-peers").string(),
         "--jobs", "2", "--out", (*dir_ / "results").string(), "--quiet"},
        "", std::chrono::seconds(240)));
    const fs::path latest = *dir_ / "results" / "latest" / "results.json";
    if (!fs::exists(latest))
      return;
    results_ = new json(json::parse(testing_support::read_text(latest)));
    out_ = new fs::path(*dir_ / "reports");
    fs::create_directories(*out_);
    report_ = new testing_support::CommandResult(testing_support::run(
        {testing_support::tlsmatrix_binary(), "report", (*dir_ / "results" / "latest").string(),
         "--html", (*out_ / "report.html").string(), "--junit", (*out_ / "junit.xml").string(),
         "--markdown", (*out_ / "summary.md").string()},
        "", std::chrono::seconds(60)));
  }
  static void TearDownTestSuite() {
    delete report_;
    delete out_;
    delete results_;
    delete run_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_NE(results_, nullptr) << "tlsmatrix run wrote no results: " << run_->out << run_->err;
    ASSERT_EQ(report_->exit_code, 0) << report_->err;
  }

  static std::size_t cases_graded(const std::set<std::string>& grades) {
    std::size_t n = 0;
    for (const auto& c : results_->at("cases"))
      n += grades.contains(c.at("verdict").at("grade").get<std::string>());
    return n;
  }

  static ScratchDir* dir_;
  static testing_support::CommandResult* run_;
  static testing_support::CommandResult* report_;
  static json* results_;
  static fs::path* out_;
};
ScratchDir* ReportEndToEnd::dir_ = nullptr;
testing_support::CommandResult* ReportEndToEnd::run_ = nullptr;
testing_support::CommandResult* ReportEndToEnd::report_ = nullptr;
json* ReportEndToEnd::results_ = nullptr;
fs::path* ReportEndToEnd::out_ = nullptr;

TEST_F(ReportEndToEnd, TheRunHasEveryKindOfCell) {
  EXPECT_EQ(run_->exit_code, 1) << "the run has failures on purpose";
  // 4 scenarios × 2 versions × 8 pairs (4 among local and openssl, 4 with the missing ghost peer).
  EXPECT_EQ(results_->at("cases").size(), 64u);
  EXPECT_EQ(cases_graded({"pass"}), 16u);
  EXPECT_EQ(cases_graded({"wrong_reason"}), 8u);
  EXPECT_EQ(cases_graded({"fail"}), 8u);
  EXPECT_EQ(cases_graded({"not_applicable"}), 32u);
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size()))
    ++n;
  return n;
}

TEST_F(ReportEndToEnd, JunitIsValidAndHasOneTestcasePerCase) {
  if (!testing_support::have_program("xmllint"))
    GTEST_SKIP() << "xmllint not installed (Debian libxml2-utils)";
  const fs::path xsd =
      testing_support::source_dir() / "harness" / "tests" / "data" / "junit" / "junit.xsd";
  const auto lint = testing_support::run(
      {"xmllint", "--noout", "--schema", xsd.string(), (*out_ / "junit.xml").string()});
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;

  const std::string xml = testing_support::read_text(*out_ / "junit.xml");
  EXPECT_EQ(count(xml, "<testcase "), results_->at("cases").size());
  EXPECT_EQ(count(xml, "<failure "), cases_graded({"fail", "wrong_reason", "timeout"}));
  EXPECT_EQ(count(xml, "<skipped "), cases_graded({"not_applicable"}));
  // xmllint reads back the evidence of a failing case as it was recorded.
  const auto query =
      testing_support::run({"xmllint", "--xpath",
                            "string(//testcase[@classname='server-expired-as-accepted' and "
                            "@name='openssl->local TLS 1.3']/failure)",
                            (*out_ / "junit.xml").string()});
  ASSERT_EQ(query.exit_code, 0) << query.err;
  for (const auto& c : results_->at("cases")) {
    if (c.at("id") != "server-expired-as-accepted/1.3/openssl->local")
      continue;
    EXPECT_NE(query.out.find(c.at("verdict").at("detail").get<std::string>()), std::string::npos)
        << query.out;
    EXPECT_NE(query.out.find(c.at("reproduce").at("client").get<std::string>()), std::string::npos)
        << query.out;
    EXPECT_NE(query.out.find("certificate has expired"), std::string::npos)
        << "openssl's raw error text\n"
        << query.out;
  }
}

TEST_F(ReportEndToEnd, MarkdownSummarisesTheRun) {
  const std::string md = testing_support::read_text(*out_ / "summary.md");
  EXPECT_NE(md.find("❌ 16 of 64 cases failed"), std::string::npos) << md;
  EXPECT_NE(md.find("| 16 | 8 | 8 | 0 | 0 | 32 | 64 |"), std::string::npos) << md;
  EXPECT_NE(md.find("**server-expired-as-accepted** — fail in 8 cells"), std::string::npos) << md;
  EXPECT_NE(md.find("](report.html)"), std::string::npos) << md;
  EXPECT_LT(md.size(), 65535u);
}

TEST_F(ReportEndToEnd, ReportWithoutOptionsWritesIntoTheRunFolder) {
  const auto r = testing_support::run({testing_support::tlsmatrix_binary(), "report",
                                       (*dir_ / "results" / "latest" / "results.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f : {"report.html", "junit.xml", "summary.md"})
    EXPECT_TRUE(fs::exists(*dir_ / "results" / "latest" / f)) << f;
}

// ---- the browser ----

struct Browser {
  testing_support::CommandResult result;
  std::string dom() const { return result.out; }
};

std::vector<std::string> chromium_argv(const fs::path& profile) {
  return {"chromium",
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          "--user-data-dir=" + profile.string(),
          "--enable-logging=stderr",
          "--v=0"};
}

testing_support::CommandResult chromium(std::vector<std::string> extra, const std::string& url) {
  ScratchDir profile;
  auto argv = chromium_argv(profile.path());
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  return testing_support::run(argv, "", std::chrono::seconds(120));
}

std::string url_of(const fs::path& file, const std::string& fragment = "") {
  return "file://" + fs::absolute(file).string() + fragment;
}

// The messages the page wrote to the console (Chromium logs them as ":CONSOLE" lines).
std::string console_lines(const std::string& err) {
  std::string out;
  std::size_t start = 0;
  while (start < err.size()) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos)
      end = err.size();
    const std::string line = err.substr(start, end - start);
    if (line.find(":CONSOLE") != std::string::npos)
      out += line + "\n";
    start = end + 1;
  }
  return out;
}

std::string unescape(std::string s) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}}) {
    for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  }
  return s;
}

#define REQUIRE_CHROMIUM()                                                                         \
  if (!testing_support::have_program("chromium"))                                                  \
  GTEST_SKIP() << "chromium not installed (Debian chromium)"

TEST_F(ReportEndToEnd, HtmlRendersInChromiumWithEveryCell) {
  REQUIRE_CHROMIUM();
  const auto r = chromium({"--dump-dom"}, url_of(*out_ / "report.html"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(console_lines(r.err), "") << "the page wrote to the console";

  static const std::regex selfcheck(
      R"re(<div id="selfcheck" data-cells="(\d+)" data-cases="(\d+)" data-errors="(\d+)")re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, selfcheck)) << r.out.substr(0, 2000);
  const auto cases = results_->at("cases").size();
  EXPECT_EQ(std::stoul(m[1]), cases) << "cells drawn";
  EXPECT_EQ(std::stoul(m[2]), cases) << "cases the page read";
  EXPECT_EQ(m[3], "0") << "script errors: "
                       << r.out.substr(static_cast<std::size_t>(m.position(0)), 2000);

  // A few cells, one of each kind, carry the grade and the reason of their case.
  std::set<std::string> kinds;
  int checked = 0;
  for (std::size_t i = 0; i < cases; ++i) {
    const auto& c = results_->at("cases")[i];
    const std::string grade = c.at("verdict").at("grade");
    if (!kinds.insert(grade + c.at("tls").get<std::string>()).second)
      continue;
    const std::string at = "data-idx=\"" + std::to_string(i) + "\" data-grade=\"" + grade + "\"";
    const auto pos = r.out.find(at);
    ASSERT_NE(pos, std::string::npos) << c.at("id") << ": no cell " << at;
    const auto r_open = r.out.find("<span class=\"r\">", pos);
    const auto r_close = r.out.find("</span>", r_open);
    const std::string shown = unescape(r.out.substr(r_open + 16, r_close - r_open - 16));
    std::string want = c.at("verdict").at("reason").get<std::string>();
    if (want.empty())
      want = grade == "not_applicable" ? "n/a" : c.at("expect").at("result").get<std::string>();
    EXPECT_EQ(shown, want) << c.at("id");
    ++checked;
  }
  EXPECT_EQ(checked, 8) << "pass, wrong_reason, fail, not_applicable, each in TLS 1.2 and 1.3";
  // The nasty scenario title is shown as text, not markup.
  EXPECT_NE(unescape(r.out).find("expected <on purpose> as \"unknown_ca\" & so graded"),
            std::string::npos);
  EXPECT_EQ(r.out.find("<on purpose>"), std::string::npos);
}

TEST_F(ReportEndToEnd, EveryFilterAndEveryCellWorkWithoutErrors) {
  REQUIRE_CHROMIUM();
  // #selftest makes the page click every filter, search, and open every cell's details.
  const auto r = chromium({"--dump-dom"}, url_of(*out_ / "report.html", "#selftest"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(console_lines(r.err), "");
  static const std::regex selfcheck(
      R"re(<div id="selfcheck" data-cells="(\d+)" data-cases="(\d+)" data-errors="(\d+)" data-selftest="(\d+)")re");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, selfcheck))
      << r.out.substr(r.out.find("id=\"selfcheck\""), 600);
  EXPECT_EQ(m[3], "0") << r.out.substr(static_cast<std::size_t>(m.position(0)), 2000);
  EXPECT_EQ(std::stoul(m[4]), results_->at("cases").size()) << "cells opened";
}

TEST_F(ReportEndToEnd, ACaseLinkOpensItsDetails) {
  REQUIRE_CHROMIUM();
  std::size_t idx = 0;
  const auto& cases = results_->at("cases");
  while (idx < cases.size() &&
         cases[idx].at("id") != "server-expired-as-accepted/1.3/openssl->local")
    ++idx;
  ASSERT_LT(idx, cases.size());
  const auto r =
      chromium({"--dump-dom"}, url_of(*out_ / "report.html",
                                      "#case=server-expired-as-accepted%2F1.3%2Fopenssl-%3Elocal"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(console_lines(r.err), "");
  const std::string dom = unescape(r.out);
  const auto start = dom.find("<aside id=\"details\"");
  ASSERT_NE(start, std::string::npos);
  const std::string details = dom.substr(start, dom.find("</aside>", start) - start);
  EXPECT_NE(details.find("data-idx=\"" + std::to_string(idx) + "\""), std::string::npos)
      << details.substr(0, 300);
  const auto& c = cases[idx];
  for (const std::string& want :
       {c.at("verdict").at("detail").get<std::string>(),
        c.at("reproduce").at("client").get<std::string>(),
        c.at("observation").at("client").at("error_text").get<std::string>().substr(0, 40),
        std::string("certificate_expired, sent by the client"),
        std::string("<div class=\"ladder\">"), std::string("ClientHello"),
        std::string("Alert: fatal certificate_expired"),
        c.at("logs").at("client.out").get<std::string>()})
    EXPECT_NE(details.find(want), std::string::npos) << want;
  // client.out is small: its text is in the page, under the log's name.
  EXPECT_NE(details.find("CONNECTED("), std::string::npos) << "s_client's output inlined";
}

TEST_F(ReportEndToEnd, ATraceIsDrawnAsALadder) {
  REQUIRE_CHROMIUM();
  // Results of later versions carry a per-case trace; the report draws it when present.
  json with_trace = *results_;
  auto& c = with_trace["cases"][0];
  c["trace"] = json::array({
      {{"direction", "client->server"},
       {"message", "ClientHello"},
       {"size", 512},
       {"time_ms", 0.1}},
      {{"direction", "server->client"},
       {"message", "ServerHello"},
       {"size", 122},
       {"time_ms", 1.2}},
      {{"direction", "server->client"},
       {"message", "Certificate"},
       {"size", 1822},
       {"time_ms", 1.3}},
      {{"direction", "client->server"},
       {"alert", "certificate_expired"},
       {"level", "fatal"},
       {"time_ms", 2.0}},
  });
  ScratchDir dir;
  testing_support::write_text(dir / "results.json", with_trace.dump());
  const auto rendered = testing_support::run({testing_support::tlsmatrix_binary(), "report",
                                              (dir / "results.json").string(), "--html",
                                              (dir / "report.html").string()});
  ASSERT_EQ(rendered.exit_code, 0) << rendered.err;
  std::string id = c.at("id");
  std::string fragment = "#case=";
  for (char ch : id)
    fragment += ch == '/'   ? std::string("%2F")
                : ch == '>' ? std::string("%3E")
                            : std::string(1, ch);
  const auto r = chromium({"--dump-dom"}, url_of(dir / "report.html", fragment));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(console_lines(r.err), "");
  const std::string dom = r.out;
  const auto ladder = dom.find("<div class=\"ladder\">");
  ASSERT_NE(ladder, std::string::npos) << "no ladder drawn";
  const std::string l = dom.substr(ladder, dom.find("<h3>Logs</h3>", ladder) - ladder);
  EXPECT_EQ(count(l, "class=\"step"), 4u);
  EXPECT_EQ(count(l, "class=\"arrow right\""), 2u);
  EXPECT_EQ(count(l, "class=\"arrow left\""), 2u);
  EXPECT_NE(l.find("Alert: certificate_expired"), std::string::npos);
  EXPECT_NE(l.find("1822 B"), std::string::npos);
}

TEST_F(ReportEndToEnd, Screenshots) {
  REQUIRE_CHROMIUM();
  const fs::path keep = artifacts_dir();
  const fs::path overview = keep / "report-overview.png", details = keep / "report-details.png";
  fs::remove(overview);
  fs::remove(details);
  auto shot = [&](const fs::path& png, const std::string& url) {
    const auto r = chromium(
        {"--screenshot=" + png.string(), "--window-size=1400,900", "--hide-scrollbars"}, url);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(console_lines(r.err), "");
    ASSERT_TRUE(fs::exists(png));
    const std::string bytes = testing_support::read_text(png);
    EXPECT_EQ(bytes.substr(0, 8), "\x89PNG\r\n\x1a\n");
    EXPECT_GT(bytes.size(), 20000u) << "a blank page compresses to almost nothing";
  };
  shot(overview, url_of(*out_ / "report.html"));
  shot(details, url_of(*out_ / "report.html",
                       "#case=server-expired-as-unknown-ca%2F1.3%2Fopenssl-%3Elocal"));
  fs::copy_file(*out_ / "report.html", keep / "report.html", fs::copy_options::overwrite_existing);
  fs::copy_file(*out_ / "summary.md", keep / "summary.md", fs::copy_options::overwrite_existing);
  fs::copy_file(*out_ / "junit.xml", keep / "junit.xml", fs::copy_options::overwrite_existing);
  std::cout << "screenshots: " << overview.string() << " " << details.string() << "\n";
  RecordProperty("screenshot", overview.string());
}

} // namespace
