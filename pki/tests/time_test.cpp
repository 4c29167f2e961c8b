// Validity times: relative offsets, absolute forms, and rejection of everything else.
#include "pki/time.hpp"

#include <gtest/gtest.h>

namespace {
const pki::TimePoint now = *pki::parse_time("2026-06-15T12:00:00Z", pki::TimePoint{});

TEST(Time, RelativeOffsets) {
  EXPECT_EQ(pki::format_time(*pki::parse_time("-30d", now)), "2026-05-16T12:00:00Z");
  EXPECT_EQ(pki::format_time(*pki::parse_time("+1y", now)), "2027-06-15T12:00:00Z");
  EXPECT_EQ(pki::format_time(*pki::parse_time("+90m", now)), "2026-06-15T13:30:00Z");
  EXPECT_EQ(*pki::parse_time("now", now), now);
}

TEST(Time, AbsoluteForms) {
  EXPECT_EQ(pki::format_time(*pki::parse_time("2030-01-02", now)), "2030-01-02T00:00:00Z");
  EXPECT_EQ(pki::format_time(*pki::parse_time("2049-12-31T23:59:59Z", now)),
            "2049-12-31T23:59:59Z");
}

TEST(Time, RejectsMalformed) {
  for (const char* bad :
       {"", "30d", "-30", "+1w", "2026-13-01", "2026-02-30", "2026-01-01T25:00:00Z",
        "2026-01-01 00:00:00", "-x d", "+-5d", "yesterday"})
    EXPECT_FALSE(pki::parse_time(bad, now).has_value()) << bad;
}
} // namespace
