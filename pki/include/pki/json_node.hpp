// Strict reading of versioned JSON input files: every value carries its JSON pointer, so every
// error names the file and the place ("/server/client_auth: expected one of none, request, …").
#pragma once

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pki/error.hpp"

namespace pki {

[[nodiscard]] inline std::string escape_json_pointer(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

[[nodiscard]] inline std::string json_type_name(const nlohmann::json& j) {
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

// Parses JSON text; a syntax error becomes Error(invalid_input) naming `origin` and the position.
[[nodiscard]] inline nlohmann::json parse_json_document(std::string_view text, std::string_view origin) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                           std::string(origin) + ": not valid JSON: " + e.what());
  }
}

class JsonNode {
public:
  JsonNode(const nlohmann::json& value, std::string pointer, std::string_view origin)
      : value_(&value), pointer_(std::move(pointer)), origin_(origin) {}

  [[noreturn]] void fail(const std::string& message) const {
    throw tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                           std::string(origin_) + ": " + (pointer_.empty() ? "/" : pointer_) + ": " + message);
  }
  [[nodiscard]] const nlohmann::json& value() const { return *value_; }
  [[nodiscard]] const std::string& pointer() const { return pointer_; }
  [[nodiscard]] std::string_view origin() const { return origin_; }
  [[nodiscard]] bool has(std::string_view key) const {
    return value_->is_object() && value_->contains(std::string(key));
  }
  [[nodiscard]] JsonNode child(std::string_view key) const {
    return JsonNode(value_->at(std::string(key)), pointer_ + "/" + escape_json_pointer(key), origin_);
  }
  [[nodiscard]] std::optional<JsonNode> optional_child(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return child(key);
  }
  [[nodiscard]] JsonNode required(std::string_view key) const {
    if (!has(key)) fail("missing \"" + std::string(key) + "\"");
    return child(key);
  }
  [[nodiscard]] JsonNode element(std::size_t i) const {
    return JsonNode(value_->at(i), pointer_ + "/" + std::to_string(i), origin_);
  }

  const nlohmann::json& expect_object() const {
    if (!value_->is_object()) fail("expected an object, got " + json_type_name(*value_));
    return *value_;
  }
  void only_keys(std::initializer_list<std::string_view> allowed) const {
    only_keys(std::vector<std::string_view>(allowed));
  }
  void only_keys(const std::vector<std::string_view>& allowed) const {
    expect_object();
    for (const auto& [key, _] : value_->items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      child(key).fail("unknown key (expected one of " + list + ")");
    }
  }
  [[nodiscard]] std::string string() const {
    if (!value_->is_string()) fail("expected a string, got " + json_type_name(*value_));
    return value_->get<std::string>();
  }
  [[nodiscard]] bool boolean() const {
    if (!value_->is_boolean()) fail("expected true or false, got " + json_type_name(*value_));
    return value_->get<bool>();
  }
  [[nodiscard]] long long integer(long long min, long long max) const {
    if (!value_->is_number_integer()) fail("expected an integer, got " + json_type_name(*value_));
    const auto v = value_->get<long long>();
    if (v < min || v > max)
      fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
           ", got " + std::to_string(v));
    return v;
  }
  [[nodiscard]] std::vector<std::string> strings() const {
    if (!value_->is_array()) fail("expected an array of strings, got " + json_type_name(*value_));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < value_->size(); ++i) out.push_back(element(i).string());
    return out;
  }
  // A string that `parse` maps to a value; otherwise an error listing `names`.
  template <class F> auto one_of(const std::string& names, F parse) const {
    const auto text = string();
    auto parsed = parse(text);
    if (!parsed) fail("expected one of " + names + ", got \"" + text + "\"");
    return *parsed;
  }

private:
  const nlohmann::json* value_;
  std::string pointer_;
  std::string_view origin_;
};

} // namespace pki
