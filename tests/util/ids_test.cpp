#include <gtest/gtest.h>

#include <set>

#include "util/ids.hpp"

using namespace perch::util;

TEST(Ids, OrderedIdsSortInTheOrderTheyWereMade) {
    std::string previous;
    for (int64_t t : {int64_t(1), int64_t(63), int64_t(64), int64_t(1'700'000'000'000'000),
                      int64_t(1'700'000'000'000'001), int64_t(4'000'000'000'000'000)}) {
        std::string id = ordered_id(t);
        EXPECT_EQ(id.size(), 22u);
        EXPECT_LT(previous, id) << t;
        previous = id;
    }
    // From the clock: never out of order across microseconds, and unique within one.
    std::string a = ordered_id(), b = ordered_id();
    EXPECT_LE(a.substr(0, 9), b.substr(0, 9));
    std::set<std::string> same_time;
    for (int i = 0; i < 1000; ++i) same_time.insert(ordered_id(42));
    EXPECT_EQ(same_time.size(), 1000u);
}

TEST(Ids, OrderedIdsAreUrlSafe) {
    for (int i = 0; i < 100; ++i)
        for (char c : ordered_id())
            EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
}
