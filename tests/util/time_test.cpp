#include <gtest/gtest.h>

#include "util/time.hpp"

using namespace perch::util;

TEST(Timestamp, FormatsAndParsesXep0082) {
    int64_t t = 1'764'099'551'123'000;  // 2025-11-25T19:39:11.123Z
    EXPECT_EQ(format_timestamp(t), "2025-11-25T19:39:11.123Z");
    EXPECT_EQ(parse_timestamp("2025-11-25T19:39:11.123Z").value(), t);
    EXPECT_EQ(parse_timestamp("2025-11-25T20:39:11.123+01:00").value(), t);
    EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z").value(), 0);
}

TEST(Timestamp, RejectsGarbage) {
    EXPECT_FALSE(parse_timestamp(""));
    EXPECT_FALSE(parse_timestamp("yesterday"));
    EXPECT_FALSE(parse_timestamp("2025-13-01T00:00:00Z"));
    EXPECT_FALSE(parse_timestamp("2025-11-25T19:39:11"));
    EXPECT_FALSE(parse_timestamp("2025-11-25T19:39:11Zjunk"));
}
