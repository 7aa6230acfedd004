#include <gtest/gtest.h>

#include "chat/files.hpp"

using namespace perch::chat;

TEST(Files, NamesLoseTheirPathsAndUnsafeCharacters) {
    EXPECT_EQ(safe_file_name("../../etc/passwd"), "passwd");
    EXPECT_EQ(safe_file_name("C:\\\\Users\\\\x\\\\report.pdf"), "report.pdf");
    EXPECT_EQ(safe_file_name("a\"b'c%d?e#f;g<h>i&j\nk.txt"), "a_b_c_d_e_f_g_h_i_j_k.txt");
    EXPECT_EQ(safe_file_name("..."), "file");
    EXPECT_EQ(safe_file_name(".hidden"), "hidden");
    EXPECT_EQ(safe_file_name(""), "file");
    EXPECT_EQ(safe_file_name("café.png"), "café.png");
    EXPECT_LE(safe_file_name(std::string(300, 'x')).size(), 200u);
}

TEST(Files, ContentTypesAreCheckedOrReplaced) {
    EXPECT_EQ(safe_content_type("image/png"), "image/png");
    EXPECT_EQ(safe_content_type("application/vnd.ms-excel"), "application/vnd.ms-excel");
    EXPECT_EQ(safe_content_type("text/html\r\nX-Evil: 1"), "application/octet-stream");
    EXPECT_EQ(safe_content_type("nonsense"), "application/octet-stream");
    EXPECT_EQ(safe_content_type(""), "application/octet-stream");
}

TEST(Files, SlotsAreLimitedAndUsedOnce) {
    UploadSlots slots(1000, 60'000'000);
    auto refused = slots.issue("alice", "big.bin", 1001, "application/octet-stream", 0);
    ASSERT_TRUE(std::holds_alternative<SlotRefusal>(refused));
    EXPECT_EQ(std::get<SlotRefusal>(refused).why, SlotRefusal::Why::too_large);
    EXPECT_TRUE(std::holds_alternative<SlotRefusal>(slots.issue("alice", "x", 0, "", 0)));
    auto issued = slots.issue("alice", "../cat.png", 1000, "image/png", 0);
    ASSERT_TRUE(std::holds_alternative<UploadSlot>(issued));
    auto slot = std::get<UploadSlot>(issued);
    EXPECT_EQ(slot.name, "cat.png");
    EXPECT_NE(slot.token, slot.file_id);
    EXPECT_GE(slot.token.size(), 22u);
    EXPECT_TRUE(slots.find(slot.token, 1));
    EXPECT_FALSE(slots.find(slot.token, 60'000'001));  // expired
    EXPECT_TRUE(slots.take(slot.token, 2));
    EXPECT_FALSE(slots.take(slot.token, 3));  // used
    EXPECT_FALSE(slots.find("guess", 1));
}

// Slots are memory until used or expired: one user asking again and again is refused once
// they hold the limit, and may ask again when one is used or has expired. Others are not held
// up by it.
TEST(Files, OneUserHoldsAtMostSoManyUnusedSlots) {
    UploadSlots slots(1000, 60'000'000, 3);
    std::vector<UploadSlot> held;
    for (int i = 0; i < 3; ++i) {
        auto issued = slots.issue("mallory", "f", 10, "", i);
        ASSERT_TRUE(std::holds_alternative<UploadSlot>(issued));
        held.push_back(std::get<UploadSlot>(issued));
    }
    auto refused = slots.issue("mallory", "f", 10, "", 3);
    ASSERT_TRUE(std::holds_alternative<SlotRefusal>(refused));
    EXPECT_EQ(std::get<SlotRefusal>(refused).why, SlotRefusal::Why::too_many);
    EXPECT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("alice", "f", 10, "", 3)));
    EXPECT_TRUE(slots.take(held[0].token, 4));  // used: room for one more
    EXPECT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 10, "", 5)));
    EXPECT_TRUE(std::holds_alternative<SlotRefusal>(slots.issue("mallory", "f", 10, "", 6)));
    // All expired: the limit is free again.
    EXPECT_TRUE(
        std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 10, "", 70'000'000)));
}

// What one user may upload in a day (UTC) is bounded: slots past the daily quota are refused
// until the next day; other users are not held up by it; 0 is no quota.
TEST(Files, OneUserUploadsAtMostTheDailyQuota) {
    constexpr int64_t kDay = 86'400'000'000;
    UploadSlots slots(1000, 60'000'000, 100);
    slots.set_daily_quota(2500);
    for (int i = 0; i < 2; ++i)
        ASSERT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 1000, "", i)));
    auto refused = slots.issue("mallory", "f", 1000, "", 3);
    ASSERT_TRUE(std::holds_alternative<SlotRefusal>(refused));
    EXPECT_EQ(std::get<SlotRefusal>(refused).why, SlotRefusal::Why::over_quota);
    EXPECT_NE(std::get<SlotRefusal>(refused).text.find("a day"), std::string::npos);
    EXPECT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 500, "", 4)));
    EXPECT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("alice", "f", 1000, "", 5)));
    EXPECT_TRUE(std::holds_alternative<SlotRefusal>(slots.issue("mallory", "f", 1, "", 6)));
    EXPECT_TRUE(std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 1000, "", kDay)));
    slots.set_daily_quota(0);
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(
            std::holds_alternative<UploadSlot>(slots.issue("mallory", "f", 1000, "", kDay + i)));
}
