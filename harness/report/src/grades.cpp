// The grade table (grades.hpp).
#include "harness/report/grades.hpp"

#include <algorithm>
#include <array>

namespace harness::report {
namespace {

// refused: a side refused its own certificate, key or options at setup, so the other side was
// never tested; like not_applicable it says something about the stack, not a failure.
constexpr std::array<GradeStyle, 11> table = {{
    {"pass", "pass", "ok", "✅", false, false},
    {"wrong_reason", "wrong reason", "WR", "🟡", false, true},
    {"fail", "fail", "XX", "❌", false, true},
    {"timeout", "timeout", "TO", "⏱️", false, true},
    {"harness_error", "harness error", "!!", "💥", false, true},
    {"not_applicable", "not applicable", "--", "➖", true, false},
    {"refused", "refused to present", "RF", "🚫", true, false},
    {"expected_failure", "expected failure", "xf", "☑️", true, false},
    {"unexpected_pass", "unexpected pass", "UP", "🎉", false, false},
    {"flaky", "flaky", "FL", "🎲", false, true},
    {"adapter_broken", "adapter broken", "AB", "🔧", false, true},
}};

constexpr GradeStyle unknown = {"", "unknown", "??", "❓", false, true};

} // namespace

std::span<const GradeStyle> grades() {
  return table;
}

const GradeStyle& style(std::string_view grade) {
  const auto it = std::find_if(table.begin(), table.end(),
                               [&](const GradeStyle& g) { return g.name == grade; });
  return it == table.end() ? unknown : *it;
}

} // namespace harness::report
