#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace perch::util {

// Microseconds since the Unix epoch, UTC: the one time unit stored and passed around.
int64_t now_us();
// Microseconds on the steady clock (for durations and rates; never goes back).
int64_t steady_us();
// XEP-0082 date-time, e.g. 2026-11-25T18:59:11.123Z (milliseconds kept).
std::string format_timestamp(int64_t us);
std::optional<int64_t> parse_timestamp(std::string_view text);

}  // namespace perch::util
