// Changes made outside a running server, read in order (store/change_feed.hpp): each applied
// once; a bad one tried again and then skipped; a database out of reach never skips one.
#include "store/change_feed.hpp"

#include <gtest/gtest.h>

#include "store_fixture.hpp"

using namespace perch::store;

TEST_F(StoreTest, ChangesAreAppliedOnceInOrderFromWhereTheServerBegan) {
    auto s = open();
    s->note_change("room", "before");  // made before this server started: not its business
    std::vector<std::string> applied;
    ChangeFeed feed(s->last_change(), [&](Store&, const ChangeNotice& c) {
        applied.push_back(c.kind + ":" + c.name);
    });
    s->note_change("room", "lobby");
    s->note_change("user", "alice");
    feed.read(*s);
    feed.read(*s);
    s->note_change("category", "Projects");
    feed.read(*s);
    EXPECT_EQ(applied, (std::vector<std::string>{"room:lobby", "user:alice", "category:Projects"}));
    EXPECT_EQ(feed.last(), s->last_change());
}

TEST_F(StoreTest, AChangeThatCannotBeAppliedIsTriedAgainThenSkipped) {
    auto s = open();
    std::vector<std::string> applied;
    int tries = 0;
    ChangeFeed feed(
        s->last_change(),
        [&](Store&, const ChangeNotice& c) {
            if (c.name == "broken") {
                ++tries;
                throw std::runtime_error("no such thing");
            }
            applied.push_back(c.name);
        },
        3);
    s->note_change("room", "broken");
    s->note_change("room", "lobby");
    feed.read(*s);
    feed.read(*s);
    EXPECT_TRUE(applied.empty()) << "a later change overtook one still being tried";
    feed.read(*s);  // the third failure: skipped, and the next one applied
    EXPECT_EQ(tries, 3);
    EXPECT_EQ(applied, (std::vector<std::string>{"lobby"}));
    feed.read(*s);
    EXPECT_EQ(tries, 3);
}

TEST_F(StoreTest, NoChangeIsSkippedWhileTheDatabaseIsOutOfReach) {
    auto s = open();
    std::vector<std::string> applied;
    int outage = 5;  // reads, more than the attempts a bad change gets
    ChangeFeed feed(
        s->last_change(),
        [&](Store&, const ChangeNotice& c) {
            if (outage > 0) {
                --outage;
                throw Unreachable("server closed the connection unexpectedly");
            }
            applied.push_back(c.name);
        },
        2);
    s->note_change("user", "alice");
    for (int i = 0; i < 5; ++i) feed.read(*s);
    EXPECT_TRUE(applied.empty());
    feed.read(*s);
    EXPECT_EQ(applied, (std::vector<std::string>{"alice"}));
}
