// Points in time for certificate validity: absolute (RFC 3339) or relative to a pinned "now".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pki {

using TimePoint = std::chrono::sys_seconds;

// Accepts "now", a signed offset from `now` ("-30d", "+1y", "+12h", "-90m", "+45s"; y = 365 days),
// or an absolute UTC time ("2026-01-31T12:00:00Z", "2026-01-31"). Returns nullopt on anything else.
[[nodiscard]] std::optional<TimePoint> parse_time(std::string_view text, TimePoint now);

// "2026-01-31T12:00:00Z"
[[nodiscard]] std::string format_time(TimePoint t);

// The current time truncated to whole seconds.
[[nodiscard]] TimePoint current_time();

} // namespace pki
