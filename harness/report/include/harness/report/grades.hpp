// Every grade results.json can hold, with its marks and its meaning for CI: the one table the
// terminal, Markdown, JUnit and the run's exit code read.
#pragma once

#include <span>
#include <string_view>

namespace harness::report {

struct GradeStyle {
  std::string_view name;  // as in results.json
  std::string_view label; // for people: "refused to present"
  std::string_view mark;  // two letters, terminal-like
  std::string_view emoji; // Markdown
  bool skip;              // did not run, or ran as a known deviation: a JUnit <skipped>
  bool fails;             // fails the run (unexpected_pass only under --strict: see fails_run)
};

// In display order.
[[nodiscard]] std::span<const GradeStyle> grades();

// The style of a grade; an unknown grade gets "??"/"❓", is not a skip, and fails.
[[nodiscard]] const GradeStyle& style(std::string_view grade);

[[nodiscard]] inline std::string_view mark(std::string_view grade) {
  return style(grade).mark;
}
[[nodiscard]] inline std::string_view emoji(std::string_view grade) {
  return style(grade).emoji;
}
[[nodiscard]] inline bool is_skip(std::string_view grade) {
  return style(grade).skip;
}
// Fails the run when the run is not --strict.
[[nodiscard]] inline bool is_failure(std::string_view grade) {
  return style(grade).fails;
}
// Fails the run: the grades above, plus unexpected_pass under --strict.
[[nodiscard]] inline bool fails_run(std::string_view grade, bool strict) {
  return is_failure(grade) || (strict && grade == "unexpected_pass");
}

} // namespace harness::report
