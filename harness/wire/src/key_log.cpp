// NSS key log parsing: whitespace-separated fields, hex that must parse, everything else counted.
#include "harness/wire/key_log.hpp"

#include <algorithm>
#include <cctype>

namespace harness::wire {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::optional<Bytes> parse_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0)
    return std::nullopt;
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0)
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0)
    s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated field.
std::string_view next_field(std::string_view& s) {
  s = trim(s);
  const std::size_t end = std::min(s.find_first_of(" \t"), s.size());
  const std::string_view field = s.substr(0, end);
  s.remove_prefix(end);
  return field;
}

} // namespace

const Bytes* KeyLog::find(std::string_view label, ByteView client_random) const {
  const Bytes* found = nullptr;
  for (const auto& e : entries)
    if (e.label == label && std::ranges::equal(e.client_random, client_random))
      found = &e.secret;
  return found;
}

KeyLog parse_key_log(std::string_view text) {
  KeyLog log;
  while (!text.empty()) {
    const std::size_t eol = std::min(text.find('\n'), text.size());
    std::string_view line = trim(text.substr(0, eol));
    text.remove_prefix(std::min(eol + 1, text.size()));
    if (line.empty() || line.front() == '#')
      continue;
    const std::string_view label = next_field(line);
    auto random = parse_hex(next_field(line));
    auto secret = parse_hex(next_field(line));
    // The client random is 32 bytes (RFC 8446 §4.1.2); secrets are 32 to 48 bytes in practice.
    if (!random || random->size() != 32 || !secret || !trim(line).empty()) {
      ++log.ignored_lines;
      continue;
    }
    log.entries.push_back({std::string(label), std::move(*random), std::move(*secret)});
  }
  return log;
}

} // namespace harness::wire
