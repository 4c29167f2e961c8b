// --shard K/N: parsing and the round-robin split over sorted case ids.
#include "harness/run/shard.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/error.hpp"

namespace harness {

Shard parse_shard(const std::string& text) {
  const auto bad = [&] {
    return tlsmatrix::Error(tlsmatrix::Errc::invalid_input,
                            "--shard: expected K/N with 1 <= K <= N <= 1000, got \"" + text + "\"");
  };
  const auto slash = text.find('/');
  if (slash == std::string::npos)
    throw bad();
  auto number = [&](std::string_view s) {
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size())
      throw bad();
    return v;
  };
  Shard s{number(std::string_view(text).substr(0, slash)),
          number(std::string_view(text).substr(slash + 1))};
  if (s.count < 1 || s.count > 1000 || s.index < 1 || s.index > s.count)
    throw bad();
  return s;
}

std::vector<CaseSpec> select_shard(const std::vector<CaseSpec>& cases, Shard shard) {
  std::vector<std::string> ids;
  ids.reserve(cases.size());
  for (const auto& c : cases)
    ids.push_back(c.id);
  std::sort(ids.begin(), ids.end());
  std::map<std::string, unsigned> owner;
  for (std::size_t i = 0; i < ids.size(); ++i)
    owner[ids[i]] = static_cast<unsigned>(i % shard.count) + 1;
  std::vector<CaseSpec> out;
  for (const auto& c : cases)
    if (owner[c.id] == shard.index)
      out.push_back(c);
  return out;
}

} // namespace harness
