// --repeat aggregation: runs that agree keep their verdict; runs that disagree make a flaky cell
// whose detail is the distribution, with the evidence of a run that did not pass.
#include <gtest/gtest.h>

#include "harness/run/repeat.hpp"

namespace {

using harness::CaseResult;
using harness::CaseSpec;
using harness::Grade;

CaseResult run_of(const std::string& id, Grade g, const std::string& reason = "",
                  const std::string& alert = "", const std::string& detail = "") {
  CaseResult r;
  r.spec = CaseSpec{id, nullptr, harness::TlsVersion::tls13, nullptr, nullptr};
  r.verdict.grade = g;
  r.verdict.reason = reason;
  r.verdict.alert = alert;
  r.verdict.detail = detail.empty() ? std::string(harness::to_string(g)) : detail;
  r.elapsed = std::chrono::milliseconds(10);
  return r;
}

std::vector<CaseSpec> plan(std::initializer_list<const char*> ids) {
  std::vector<CaseSpec> out;
  for (const char* id : ids)
    out.push_back(CaseSpec{id, nullptr, harness::TlsVersion::tls13, nullptr, nullptr});
  return out;
}

TEST(Repeat, AgreeingRunsKeepTheirVerdict) {
  const auto a =
      harness::aggregate_runs(plan({"x"}), {run_of("x", Grade::pass, "", "", "first"),
                                            run_of("x", Grade::pass), run_of("x", Grade::pass)});
  ASSERT_EQ(a.cases.size(), 1u);
  EXPECT_EQ(a.cases[0].verdict.grade, Grade::pass);
  EXPECT_EQ(a.cases[0].verdict.detail, "first");
  ASSERT_EQ(a.runs.at("x").size(), 3u);
  EXPECT_EQ(harness::distribution(a.runs.at("x")), "pass 3/3");
}

TEST(Repeat, DisagreeingRunsAreFlakyWithTheDistribution) {
  const auto a = harness::aggregate_runs(
      plan({"x"}),
      {run_of("x", Grade::pass), run_of("x", Grade::timeout, "", "", "client timeout at handshake"),
       run_of("x", Grade::pass)});
  ASSERT_EQ(a.cases.size(), 1u);
  EXPECT_EQ(a.cases[0].verdict.grade, Grade::flaky);
  EXPECT_EQ(a.cases[0].verdict.detail,
            "runs disagree: pass 2/3, timeout 1/3; run 2: timeout: client timeout at handshake");
}

TEST(Repeat, MostFrequentOutcomeFirstTiesInOrderOfAppearance) {
  const auto a =
      harness::aggregate_runs(plan({"x"}), {run_of("x", Grade::fail), run_of("x", Grade::pass),
                                            run_of("x", Grade::pass), run_of("x", Grade::timeout)});
  EXPECT_EQ(harness::distribution(a.runs.at("x")), "pass 2/4, fail 1/4, timeout 1/4");
  // The evidence is the first run that did not pass.
  EXPECT_NE(a.cases[0].verdict.detail.find("; run 1: fail"), std::string::npos)
      << a.cases[0].verdict.detail;
}

TEST(Repeat, SameGradeDifferentReasonOrAlertIsFlakyAndNamesThem) {
  const auto a = harness::aggregate_runs(
      plan({"x"}), {run_of("x", Grade::pass, "expired", "certificate_expired"),
                    run_of("x", Grade::pass, "expired"),
                    run_of("x", Grade::pass, "expired", "certificate_expired")});
  EXPECT_EQ(a.cases[0].verdict.grade, Grade::flaky);
  EXPECT_EQ(harness::distribution(a.runs.at("x")),
            "pass expired/alert certificate_expired 2/3, pass expired 1/3");
}

TEST(Repeat, OneRunPerCaseIsNeverFlakyAndRecordsNoRuns) {
  const auto a = harness::aggregate_runs(plan({"x", "y", "z"}),
                                         {run_of("y", Grade::fail), run_of("x", Grade::pass)});
  ASSERT_EQ(a.cases.size(), 2u);      // z never ran (interrupted)
  EXPECT_EQ(a.cases[0].spec.id, "x"); // plan order
  EXPECT_EQ(a.cases[1].verdict.grade, Grade::fail);
  EXPECT_TRUE(a.runs.empty());
}

TEST(Repeat, AnnotateAddsRunsAndDistribution) {
  const auto a = harness::aggregate_runs(
      plan({"x", "y"}), {run_of("x", Grade::pass), run_of("y", Grade::fail),
                         run_of("x", Grade::harness_error), run_of("y", Grade::fail)});
  nlohmann::ordered_json doc = {{"cases", {{{"id", "x"}}, {{"id", "y"}}}}};
  harness::annotate_runs(doc, a);
  EXPECT_EQ(doc["cases"][0]["distribution"], "pass 1/2, harness_error 1/2");
  ASSERT_EQ(doc["cases"][0]["runs"].size(), 2u);
  EXPECT_EQ(doc["cases"][0]["runs"][1]["grade"], "harness_error");
  EXPECT_EQ(doc["cases"][1]["distribution"], "fail 2/2");
  EXPECT_EQ(a.cases[1].verdict.grade, Grade::fail);
}

} // namespace
