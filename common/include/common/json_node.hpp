// Strict reading of versioned JSON input files (PKI specs, scenarios, peer definitions): every
// value carries its JSON pointer, so every error names the file and the place, says what was
// expected and, for a likely typo, what was meant:
//   spec.json: /entities/server/isuer: unknown key (did you mean "issuer"?); expected one of …
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace common {

[[nodiscard]] std::string escape_json_pointer(std::string_view token);
[[nodiscard]] std::string json_type_name(const nlohmann::json& j);
// Levenshtein distance, for "did you mean" hints.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);
// " (did you mean \"issuer\"?)" when one candidate is a plausible typo of `got`, else "".
[[nodiscard]] std::string did_you_mean(std::string_view got,
                                       const std::vector<std::string>& candidates);
[[nodiscard]] std::string did_you_mean(std::string_view got,
                                       const std::vector<std::string_view>& candidates);
// "a, b, c" -> {"a", "b", "c"}
[[nodiscard]] std::vector<std::string> split_names(std::string_view list);

// Parses JSON text. A syntax error or a key repeated in one object (nlohmann keeps the last one
// silently; in an input file it is always a mistake) becomes Error(invalid_input) naming
// `origin` and the line, column and byte, or the pointer of the repeated key.
[[nodiscard]] nlohmann::json parse_json_document(std::string_view text, std::string_view origin);

class JsonNode {
public:
  JsonNode(const nlohmann::json& value, std::string pointer, std::string_view origin)
      : value_(&value), pointer_(std::move(pointer)), origin_(origin) {}

  [[noreturn]] void fail(const std::string& message) const;
  // A required member is absent: the message names the pointer it should have been at.
  [[noreturn]] void missing(std::string_view key, const std::string& expected) const;

  [[nodiscard]] const nlohmann::json& value() const { return *value_; }
  [[nodiscard]] const std::string& pointer() const { return pointer_; }
  [[nodiscard]] std::string_view origin() const { return origin_; }
  [[nodiscard]] bool has(std::string_view key) const {
    return value_->is_object() && value_->contains(std::string(key));
  }
  [[nodiscard]] JsonNode child(std::string_view key) const {
    return JsonNode(value_->at(std::string(key)), pointer_ + "/" + escape_json_pointer(key),
                    origin_);
  }
  [[nodiscard]] JsonNode element(std::size_t i) const {
    return JsonNode(value_->at(i), pointer_ + "/" + std::to_string(i), origin_);
  }
  [[nodiscard]] std::optional<JsonNode> optional_child(std::string_view key) const {
    if (!has(key))
      return std::nullopt;
    return child(key);
  }
  // The member, or an error at its pointer: "missing; expected <expected>".
  [[nodiscard]] JsonNode required(std::string_view key,
                                  const std::string& expected = "a value") const {
    expect_object();
    if (!has(key))
      missing(key, expected);
    return child(key);
  }

  const nlohmann::json& expect_object() const;
  void only_keys(std::initializer_list<std::string_view> allowed) const {
    only_keys(std::vector<std::string_view>(allowed));
  }
  void only_keys(const std::vector<std::string_view>& allowed) const;
  [[nodiscard]] std::string string() const;
  [[nodiscard]] bool boolean() const;
  [[nodiscard]] long long integer(long long min, long long max) const;
  [[nodiscard]] std::vector<std::string> strings() const;
  // A string that `parse` maps to a value; otherwise an error listing `names` ("a, b, c").
  template <class F> auto one_of(const std::string& names, F parse) const {
    const auto text = string();
    auto parsed = parse(text);
    if (!parsed)
      fail("expected one of " + names + ", got \"" + text + "\"" +
           did_you_mean(text, split_names(names)));
    return *parsed;
  }

private:
  const nlohmann::json* value_;
  std::string pointer_;
  std::string_view origin_;
};

} // namespace common
