#include <gtest/gtest.h>

#include "xmpp/jid.hpp"

using perch::xmpp::Jid;

TEST(Jid, ParsesAndNormalises) {
    auto j = Jid::parse("Alice@Example.ORG/Phone");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->local(), "alice");
    EXPECT_EQ(j->domain(), "example.org");
    EXPECT_EQ(j->resource(), "Phone");  // resources keep their case
    EXPECT_EQ(j->str(), "alice@example.org/Phone");
    EXPECT_EQ(j->bare_str(), "alice@example.org");
}

TEST(Jid, ResourceMayContainSlashAndAt) {
    auto j = Jid::parse("room@chat.example.org/nick/with@at");
    ASSERT_TRUE(j);
    EXPECT_EQ(j->resource(), "nick/with@at");
}

TEST(Jid, RejectsInvalid) {
    EXPECT_FALSE(Jid::parse(""));
    EXPECT_FALSE(Jid::parse("@example.org"));
    EXPECT_FALSE(Jid::parse("a@"));
    EXPECT_FALSE(Jid::parse("a@example.org/"));
    EXPECT_FALSE(Jid::parse("a b@example.org"));   // space is prohibited in nodeprep
    EXPECT_FALSE(Jid::parse("a\"b@example.org"));  // so are quotes
    EXPECT_FALSE(Jid::parse(std::string(1100, 'a') + "@example.org"));
}

TEST(Jid, DomainOnly) {
    auto j = Jid::parse("chat.example.org");
    ASSERT_TRUE(j);
    EXPECT_TRUE(j->local().empty());
    EXPECT_TRUE(j->is_bare());
}

// A NUL never ends a name early: "alice\0x" is not alice, it is refused.
TEST(Jid, ANulInsideAPartIsRefusedNotCutOff) {
    using namespace std::string_view_literals;
    EXPECT_FALSE(perch::xmpp::nodeprep("alice\0junk"sv));
    EXPECT_FALSE(perch::xmpp::resourceprep("pc\0junk"sv));
    EXPECT_FALSE(perch::xmpp::nameprep("example.org\0evil"sv));
    EXPECT_FALSE(perch::xmpp::Jid::parse("alice\0junk@example.org"sv));
    EXPECT_TRUE(perch::xmpp::nodeprep("alice"sv));
}

// A domain has no empty label: "example.org." is example.org (the one trailing dot of a fully
// qualified name), but "example.org.." or "a..b" is no domain (found by fuzz_jid: "x.." was
// read as "x.", which read again is "x" — one JID written two ways). A full stop that
// preparation makes of another character (U+FF0E) counts as a dot.
TEST(Jid, ADomainWithAnEmptyLabelIsRefused) {
    EXPECT_EQ(Jid::parse("alice@example.org.")->domain(), "example.org");
    EXPECT_FALSE(Jid::parse("alice@example.org.."));
    EXPECT_FALSE(Jid::parse("alice@example..org"));
    EXPECT_FALSE(Jid::parse("alice@.example.org"));
    EXPECT_FALSE(Jid::parse("."));
    EXPECT_FALSE(Jid::parse("example\xEF\xBC\x8E"));  // "example" and U+FF0E
    for (const char* text : {"alice@example.org/pc", "example.org.", "x.y/z"}) {
        auto once = Jid::parse(text);
        ASSERT_TRUE(once) << text;
        EXPECT_EQ(Jid::parse(once->str()), once) << text;
    }
}
