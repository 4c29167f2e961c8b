// Parsing and formatting of validity times; relative offsets keep generated PKIs fresh.
#include "pki/time.hpp"

#include <charconv>
#include <cstdio>

namespace pki {
namespace {

std::optional<long long> parse_number(std::string_view s) {
  long long value = 0;
  const auto* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, value);
  if (ec != std::errc() || ptr != end || s.empty())
    return std::nullopt;
  return value;
}

std::optional<TimePoint> parse_absolute(std::string_view s) {
  // YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
  if (s.size() != 10 && s.size() != 20)
    return std::nullopt;
  auto field = [&](std::size_t pos, std::size_t len) { return parse_number(s.substr(pos, len)); };
  if (s[4] != '-' || s[7] != '-')
    return std::nullopt;
  const auto y = field(0, 4), mo = field(5, 2), d = field(8, 2);
  if (!y || !mo || !d)
    return std::nullopt;
  long long hh = 0, mm = 0, ss = 0;
  if (s.size() == 20) {
    if (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
      return std::nullopt;
    const auto h = field(11, 2), mi = field(14, 2), se = field(17, 2);
    if (!h || !mi || !se || *h > 23 || *mi > 59 || *se > 59)
      return std::nullopt;
    hh = *h, mm = *mi, ss = *se;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(static_cast<int>(*y)),
                                        std::chrono::month(static_cast<unsigned>(*mo)),
                                        std::chrono::day(static_cast<unsigned>(*d))};
  if (!ymd.ok())
    return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(hh) + std::chrono::minutes(mm) +
         std::chrono::seconds(ss);
}

} // namespace

std::optional<TimePoint> parse_time(std::string_view text, TimePoint now) {
  if (text == "now")
    return now;
  if (text.size() >= 3 && (text.front() == '+' || text.front() == '-')) {
    const auto amount = parse_number(text.substr(1, text.size() - 2));
    if (!amount || *amount < 0)
      return std::nullopt;
    long long seconds = 0;
    switch (text.back()) {
    case 's':
      seconds = 1;
      break;
    case 'm':
      seconds = 60;
      break;
    case 'h':
      seconds = 3600;
      break;
    case 'd':
      seconds = 86400;
      break;
    case 'y':
      seconds = 365LL * 86400;
      break;
    default:
      return std::nullopt;
    }
    if (*amount > 10000LL * 365 * 86400 / seconds)
      return std::nullopt; // beyond any useful range
    const auto offset = std::chrono::seconds(*amount * seconds);
    return text.front() == '+' ? now + offset : now - offset;
  }
  return parse_absolute(text);
}

std::string format_time(TimePoint t) {
  const auto days = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{t - days};
  char buf[32];
  std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", int(ymd.year()),
      unsigned(ymd.month()), unsigned(ymd.day()), static_cast<long long>(hms.hours().count()),
      static_cast<long long>(hms.minutes().count()), static_cast<long long>(hms.seconds().count()));
  return buf;
}

TimePoint current_time() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

} // namespace pki
