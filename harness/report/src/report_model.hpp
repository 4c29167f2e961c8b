// What the report writers share: a flat view of results.json (cases, rows, columns, behaviours).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "harness/report/grades.hpp"

namespace harness::report {

using json = nlohmann::ordered_json;

// One case as the reports see it; every field is present (empty when results.json lacks it).
struct CaseView {
  const json* raw = nullptr;
  std::size_t index = 0; // position in results["cases"]
  std::string id, scenario, title, tls, client, server;
  std::string grade, reason, detail, alert, alert_from, rejected_by;
  double elapsed_ms = 0;
  [[nodiscard]] std::string pair() const { return client + "->" + server; }
  [[nodiscard]] std::string label() const { return pair() + " TLS " + tls; } // JUnit name
};

// A matrix column: one (TLS version, client, server), grouped under the stack it exercises.
struct Column {
  std::string tls, client, server;
  std::string stack; // the stack the pair exercises: see stack_of
  [[nodiscard]] std::string pair() const { return client + "->" + server; }
  [[nodiscard]] std::string label() const { return pair() + " " + tls; }
};

struct RunView {
  std::vector<CaseView> cases;
  std::vector<std::string> scenarios; // rows, in the order of first appearance
  std::vector<Column> columns;        // by TLS version, stack, client, server
  std::map<std::pair<std::string, std::string>, std::size_t>
      cell;                                  // (scenario, column label) -> case
  std::map<std::string, std::string> titles; // scenario -> title
};

[[nodiscard]] RunView view(const json& results);

// The stack a pair exercises, for grouping columns: the peer that is not one of the references
// (local, openssl), the client's if neither is; openssl when paired with local; local for
// local->local.
[[nodiscard]] std::string stack_of(const std::string& client, const std::string& server);

// Object field, or an empty object (absent and non-object values alike). Never copies.
[[nodiscard]] const json& child(const json& j, std::string_view key);

// String field or "" (null, absent and non-string values alike).
[[nodiscard]] std::string str(const json& j, std::string_view key);

// The known grades in display order (then any other grade the results carry).
[[nodiscard]] std::vector<std::string> grade_order(const json& results);

// Totals by grade, counted from the cases (results["totals"] may lag behind an edited file).
[[nodiscard]] std::map<std::string, int> count_grades(const RunView& v);

// "expected rejected by client (expired; alert certificate_expired|bad_certificate)".
[[nodiscard]] std::string expectation_text(const json& c);

// One side in one line: "openssl: rejected in handshake, exit 1, verify error 10, reason expired".
[[nodiscard]] std::string side_text(const json& side);

// What a case did, independent of the stack's wording: both sides' outcome and phase, the alert
// and its sender, the reason. Cases with equal behaviour "agree".
[[nodiscard]] std::string behaviour(const CaseView& c);

// Per (scenario, TLS version): behaviour -> the cases showing it, in column order.
struct Divergence {
  std::string scenario, tls;
  std::vector<std::pair<std::string, std::vector<const CaseView*>>> groups;
};
[[nodiscard]] std::vector<Divergence> divergences(const RunView& v);

} // namespace harness::report
