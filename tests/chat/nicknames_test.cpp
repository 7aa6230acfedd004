#include "chat/nicknames.hpp"

#include <gtest/gtest.h>

using perch::chat::nick_skeleton;

TEST(Nicknames, LookAlikesShareASkeleton) {
    std::string alice = nick_skeleton("alice");
    for (const char* same :
         {"Alice", "ALICE", "\xEF\xBC\xA1lice" /* fullwidth A */, "\xD0\x90lice" /* Cyrillic A */,
          "\xD0\xB0lice" /* Cyrillic a */, "al\xD1\x96\xD1\x81\xD0\xB5" /* Cyrillic i, c, e */,
          "a1ice", "aIice", "a|ice",
          "A\xC2\xAD"
          "lice" /* soft hyphen */,
          "\xEF\xBB\xBF"
          "alice" /* BOM */})
        EXPECT_EQ(nick_skeleton(same), alice) << same;
    EXPECT_EQ(nick_skeleton("B0B"), nick_skeleton("bob"));
    EXPECT_EQ(nick_skeleton("\xCE\xA1\xCE\x9F"), nick_skeleton("po"));        // Greek capitals
    EXPECT_EQ(nick_skeleton("\xC3\x89lise"), nick_skeleton("\xC3\xA9lise"));  // É, é
}

TEST(Nicknames, DifferentNamesStayDifferent) {
    EXPECT_NE(nick_skeleton("alice"), nick_skeleton("alicia"));
    EXPECT_NE(nick_skeleton("bob"), nick_skeleton("rob"));
    EXPECT_NE(nick_skeleton("\xC3\xA9lise"), nick_skeleton("elise"));  // an accent is a letter
    EXPECT_NE(nick_skeleton("\xE6\x9D\x8E"), nick_skeleton("\xE7\x8E\x8B"));  // 李, 王
    EXPECT_EQ(nick_skeleton("\xE6\x9D\x8E"), "\xE6\x9D\x8E");
}
