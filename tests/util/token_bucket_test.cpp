#include "util/token_bucket.hpp"

#include <gtest/gtest.h>

using perch::util::Rate;
using perch::util::TokenBucket;

TEST(TokenBucket, ABurstThenTheRate) {
    Rate rate{2, 3};  // two a second, three at once
    TokenBucket b;
    int64_t t = 1'000'000;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(rate, t)) << i;
    EXPECT_FALSE(b.take(rate, t));
    EXPECT_FALSE(b.take(rate, t + 499'000));
    EXPECT_TRUE(b.take(rate, t + 500'000));  // half a second: one more
    EXPECT_FALSE(b.take(rate, t + 500'000));
    // A long pause refills to the burst, never beyond.
    t += 60'000'000;
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(rate, t)) << i;
    EXPECT_FALSE(b.take(rate, t));
    // A clock read out of order gives nothing back.
    EXPECT_FALSE(b.take(rate, t - 10'000'000));
}

TEST(TokenBucket, NoRateNoLimit) {
    TokenBucket b;
    for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(b.take(Rate{}, 1));
}
