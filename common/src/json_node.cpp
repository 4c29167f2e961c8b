// Strict JSON reading shared by every input format: pointers, typo hints, duplicate keys.
#include "common/json_node.hpp"

#include <algorithm>
#include <climits>
#include <set>

namespace common {
namespace {

using json = nlohmann::json;
using tlsmatrix::Errc;
using tlsmatrix::Error;

template <class Names> std::string best_match(std::string_view got, const Names& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, got.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::string_view name(c);
    const std::size_t d = edit_distance(got, name);
    if (d < best_distance)
      best_distance = d, best = std::string(name);
  }
  return best.empty() ? "" : " (did you mean \"" + best + "\"?)";
}

// Tracks the pointer while nlohmann parses, to reject a key repeated within one object.
class DuplicateKeyCheck {
public:
  explicit DuplicateKeyCheck(std::string_view origin) : origin_(origin) {}

  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start:
      frames_.push_back({false, 0, {}, {}});
      break;
    case json::parse_event_t::array_start:
      frames_.push_back({true, 0, {}, {}});
      break;
    case json::parse_event_t::key: {
      auto& top = frames_.back();
      top.key = parsed.get<std::string>();
      if (!top.keys.insert(top.key).second)
        throw Error(Errc::invalid_input,
                    std::string(origin_) + ": " + pointer() +
                        ": duplicate key (expected each key once in an object)");
      break;
    }
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      frames_.pop_back();
      next_element();
      break;
    case json::parse_event_t::value:
      next_element();
      break;
    }
    return true;
  }

private:
  struct Frame {
    bool array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };
  void next_element() {
    if (!frames_.empty() && frames_.back().array)
      ++frames_.back().index;
  }
  std::string pointer() const {
    std::string out;
    for (const auto& f : frames_)
      out += "/" + (f.array ? std::to_string(f.index) : escape_json_pointer(f.key));
    return out;
  }
  std::string_view origin_;
  std::vector<Frame> frames_;
};

} // namespace

std::string escape_json_pointer(std::string_view token) {
  std::string out;
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string json_type_name(const json& j) {
  if (j.is_string())
    return "a string";
  if (j.is_boolean())
    return "a boolean";
  if (j.is_number_integer() || j.is_number_unsigned())
    return "an integer";
  if (j.is_number())
    return "a number";
  if (j.is_array())
    return "an array";
  if (j.is_object())
    return "an object";
  return "null";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view got, const std::vector<std::string>& candidates) {
  return best_match(got, candidates);
}
std::string did_you_mean(std::string_view got, const std::vector<std::string_view>& candidates) {
  return best_match(got, candidates);
}

std::vector<std::string> split_names(std::string_view list) {
  std::vector<std::string> out;
  while (!list.empty()) {
    const auto comma = list.find(", ");
    out.emplace_back(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 2);
  }
  return out;
}

json parse_json_document(std::string_view text, std::string_view origin) {
  try {
    return json::parse(text, DuplicateKeyCheck(origin));
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 26: …".
    std::string what = e.what();
    if (const auto pos = what.find("parse error"); pos != std::string::npos)
      what = what.substr(pos);
    throw Error(Errc::invalid_input, std::string(origin) + ": not valid JSON: " + what + " (byte " +
                                         std::to_string(e.byte) + ")");
  }
}

void JsonNode::fail(const std::string& message) const {
  throw Error(Errc::invalid_input, std::string(origin_) + ": " +
                                       (pointer_.empty() ? "top level" : pointer_) + ": " +
                                       message);
}

void JsonNode::missing(std::string_view key, const std::string& expected) const {
  JsonNode(*value_, pointer_ + "/" + escape_json_pointer(key), origin_)
      .fail("missing; expected " + expected);
}

const json& JsonNode::expect_object() const {
  if (!value_->is_object())
    fail("expected an object, got " + json_type_name(*value_));
  return *value_;
}

void JsonNode::only_keys(const std::vector<std::string_view>& allowed) const {
  expect_object();
  for (const auto& [key, _] : value_->items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end())
      continue;
    std::string list;
    for (auto a : allowed)
      list += (list.empty() ? "" : ", ") + std::string(a);
    child(key).fail("unknown key" + did_you_mean(key, allowed) + "; expected one of " + list);
  }
}

std::string JsonNode::string() const {
  if (!value_->is_string())
    fail("expected a string, got " + json_type_name(*value_));
  return value_->get<std::string>();
}

bool JsonNode::boolean() const {
  if (!value_->is_boolean())
    fail("expected true or false, got " + json_type_name(*value_));
  return value_->get<bool>();
}

long long JsonNode::integer(long long min, long long max) const {
  if (!value_->is_number_integer())
    fail("expected an integer, got " + json_type_name(*value_));
  if (value_->is_number_unsigned() && value_->get<unsigned long long>() > LLONG_MAX)
    fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
         ", got " + value_->dump());
  const auto v = value_->get<long long>();
  if (v < min || v > max)
    fail("expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
         ", got " + std::to_string(v));
  return v;
}

std::vector<std::string> JsonNode::strings() const {
  if (!value_->is_array())
    fail("expected an array of strings, got " + json_type_name(*value_));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value_->size(); ++i)
    out.push_back(element(i).string());
  return out;
}

} // namespace common
