// The delivery of room events to this server's sessions, on a manual loop: who gets what,
// rendered once, as local occupants come and go (below and above the size where their
// positions are indexed).
#include <gtest/gtest.h>

#include "manual_runtime.hpp"
#include "recording_handle.hpp"
#include "xmpp/muc_delivery.hpp"

using namespace perch;

namespace {

class DeliveryTest : public ::testing::Test {
  protected:
    manual::Loop loop_;
    util::Shards shards_ = manual::shards(loop_, 2);
    xmpp::Router router_;
    xmpp::MucDelivery delivery_{"chat.example.org", "example.org", shards_, router_};

    std::shared_ptr<Recorder> session(const std::string& user, const std::string& resource) {
        return std::make_shared<Recorder>(xmpp::Jid::make(user, "example.org", resource));
    }
    // Runs `work` on the room's shard, as the room service and the join replies do.
    void on_shard(const std::string& room, std::function<void()> work) {
        shards_.of(room).post(std::move(work));
        loop_.drain();
    }
    void joined(const std::string& room, const std::string& nick,
                const std::shared_ptr<Recorder>& s) {
        on_shard(room, [&] { delivery_.joined(room, nick, s); });
    }
    void event(const std::string& room, chat::RoomEvent::Value what) {
        on_shard(room, [&] { delivery_.room_event({room, what}); });
    }
    static chat::Occupant occupant(const std::string& nick, const std::shared_ptr<Recorder>& s) {
        chat::Occupant o;
        o.nick = nick;
        o.full_jid = s->address();
        o.occupant_id = "id-" + nick;
        return o;
    }
    static store::Message message(const std::string& body, int64_t seq) {
        store::Message m;
        m.body = body;
        m.seq = seq;
        m.nick = "someone";
        m.stanza_id = "s" + std::to_string(seq);
        return m;
    }
};

}  // namespace

TEST_F(DeliveryTest, EveryLocalOccupantGetsTheMessageAddressedToItself) {
    auto a = session("alice", "pc"), b = session("bob", "phone");
    joined("r", "alice", a);
    joined("r", "bob", b);
    event("r", chat::MessagePosted{message("hello", 1)});
    ASSERT_EQ(a->got.size(), 1u);
    ASSERT_EQ(b->got.size(), 1u);
    EXPECT_NE(a->got[0].find("to='alice@example.org/pc'"), std::string::npos) << a->got[0];
    EXPECT_NE(b->got[0].find("to='bob@example.org/phone'"), std::string::npos);
    EXPECT_NE(a->got[0].find("from='r@chat.example.org/someone'"), std::string::npos);
    EXPECT_EQ(delivery_.rooms_of("alice@example.org/pc"), std::vector<std::string>{"r"});
}

TEST_F(DeliveryTest, AJoinIsShownToTheOthersAndALeaveToEverybody) {
    auto a = session("alice", "pc"), b = session("bob", "pc"), a2 = session("alice", "phone");
    joined("r", "alice", a);
    joined("r", "bob", b);
    // A join is shown to the occupants of other nicknames; alice's second device shares hers.
    event("r", chat::OccupantJoined{occupant("carol", session("carol", "x")), true});
    EXPECT_EQ(a->got.size(), 1u);
    EXPECT_EQ(b->got.size(), 1u);
    joined("r", "alice", a2);
    event("r", chat::OccupantJoined{occupant("alice", a2), true});
    EXPECT_EQ(a->got.size(), 1u);  // the same nickname: nothing new for alice's first device
    EXPECT_EQ(b->got.size(), 2u);
    // Kicked: the occupant gets 307 and 110, the others 307.
    event("r", chat::OccupantLeft{occupant("bob", b), chat::Departure::kicked, "spam", {}, true});
    ASSERT_EQ(b->got.size(), 3u);
    EXPECT_NE(b->got[2].find("<status code='307'/><status code='110'/>"), std::string::npos)
        << b->got[2];
    EXPECT_NE(b->got[2].find("<reason>spam</reason>"), std::string::npos);
    ASSERT_EQ(a->got.size(), 2u);
    EXPECT_NE(a->got[1].find("<status code='307'/>"), std::string::npos);
    EXPECT_EQ(a->got[1].find("'110'"), std::string::npos);
    // Gone: bob gets nothing more.
    event("r", chat::MessagePosted{message("after", 2)});
    EXPECT_EQ(b->got.size(), 3u);
    EXPECT_EQ(a->got.size(), 3u);
    EXPECT_TRUE(delivery_.rooms_of("bob@example.org/pc").empty());
}

TEST_F(DeliveryTest, ManyOccupantsComeAndGoAcrossTheIndexSize) {
    std::vector<std::shared_ptr<Recorder>> sessions;
    for (int i = 0; i < 150; ++i) {
        sessions.push_back(session("u" + std::to_string(i), "r"));
        joined("big", "n" + std::to_string(i), sessions.back());
    }
    // Every other one leaves, in an order that moves the last ones around.
    for (int i = 0; i < 150; i += 2)
        event("big", chat::OccupantLeft{occupant("n" + std::to_string(i), sessions[size_t(i)]),
                                        chat::Departure::left,
                                        {},
                                        {},
                                        false});
    event("big", chat::MessagePosted{message("who is left?", 1)});
    for (int i = 0; i < 150; ++i) {
        auto& got = sessions[size_t(i)]->got;
        if (i % 2 == 0) {
            ASSERT_EQ(got.size(), 1u) << i;  // its own leave only
            EXPECT_NE(got[0].find("type='unavailable'"), std::string::npos);
        } else {
            ASSERT_EQ(got.size(), 1u) << i;
            EXPECT_NE(got[0].find("who is left?"), std::string::npos);
        }
    }
    // Private messages reach every resource of one nickname, and nobody else.
    event("big", chat::PrivateMessage{"n1", "id", "n3", "chat", "pm1", "<body>psst</body>", ""});
    EXPECT_EQ(sessions[3]->got.size(), 2u);
    EXPECT_EQ(sessions[5]->got.size(), 1u);
    on_shard("big", [&] {
        EXPECT_EQ(delivery_.nick_of("big", sessions[3]->address()), "n3");
        EXPECT_FALSE(delivery_.nick_of("big", sessions[4]->address()));
    });
}

// XEP-0191: a private message in a room does not reach a user who blocks its sender's real
// address, nor go from a user to someone they block; everyone else gets theirs.
TEST_F(DeliveryTest, PrivateMessagesBetweenABlockerAndTheBlockedAreNotDelivered) {
    xmpp::direct::Blocklists lists;
    delivery_.set_blocklists(&lists);
    auto alice = session("alice", "pc"), bob = session("bob", "pc"), carl = session("carl", "pc");
    joined("r", "alice", alice);
    joined("r", "bob", bob);
    joined("r", "carl", carl);
    lists.add("alice", {"bob@example.org"});
    auto pm = [](const std::string& from_nick, const std::string& to_nick,
                 const std::shared_ptr<Recorder>& from) {
        return chat::PrivateMessage{from_nick, "id-" + from_nick,   to_nick,        "chat",
                                    "pm",      "<body>psst</body>", from->address()};
    };
    event("r", pm("bob", "alice", bob));
    EXPECT_TRUE(alice->got.empty());
    event("r", pm("alice", "bob", alice));
    EXPECT_TRUE(bob->got.empty());
    event("r", pm("carl", "alice", carl));
    EXPECT_EQ(alice->got.size(), 1u);
    event("r", pm("bob", "carl", bob));
    EXPECT_EQ(carl->got.size(), 1u);
}
