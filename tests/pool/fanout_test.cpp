// The fan-out of a pool member against a manual loop and a temporary SQLite store: events of
// a room served elsewhere shown in sequence order (duplicates dropped, gaps read from the
// database first), and what a server does when the room's server goes.
#include <gtest/gtest.h>

#include <filesystem>

#include "manual_runtime.hpp"
#include "pool/fanout.hpp"
#include "recording_links.hpp"
#include "util/ids.hpp"

using namespace perch;

namespace {

struct RecordingSink final : chat::RoomEventSink {
    std::vector<chat::RoomEvent> events;
    void room_event(const chat::RoomEvent& e) override { events.push_back(e); }
    void invitation(const chat::Invitation&) override {}
    std::vector<int64_t> seqs() const {
        std::vector<int64_t> out;
        for (const auto& e : events)
            if (auto* p = std::get_if<chat::MessagePosted>(&e.what)) out.push_back(p->message.seq);
        return out;
    }
};

class FanoutTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-fanout-" + util::random_id());
        std::filesystem::create_directories(dir_);
        store::StoreConfig sc;
        sc.path = (dir_ / "content.db").string();
        sc.synchronous_full = false;
        store_ = store::open_store(sc);
        manual_ = std::make_unique<manual::Store>(loop_, *store_);
        store::Category c;
        c.name = "General";
        store::Room r;
        r.node = "lobby";
        r.category_id = store_->add_category(c);
        room_id_ = store_->add_room(r);
        for (int i = 1; i <= 6; ++i) {
            store::NewMessage m;
            m.room_id = room_id_;
            m.stanza_id = "s" + std::to_string(i);
            m.body = "message " + std::to_string(i);
            m.ts_us = i;
            std::vector<store::NewMessage> one{m};
            store_->append_messages(std::move(one));
        }
        directory_.load(*store_);
        fanout_ = std::make_unique<pool::Fanout>(sink_, directory_, shards_, membership_, *manual_);
    }
    void TearDown() override {
        fanout_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    chat::RoomEvent posted(int64_t seq) {
        store::Message m;
        m.room_id = room_id_;
        m.seq = seq;
        m.stanza_id = "s" + std::to_string(seq);
        m.body = "message " + std::to_string(seq);
        return {"lobby", chat::MessagePosted{m}};
    }
    static chat::Occupant occupant(std::string nick, uint32_t server) {
        chat::Occupant o;
        o.nick = nick;
        o.full_jid = nick + "@example.org/x";
        o.server = server;
        return o;
    }

    // Two servers; "lobby" hashes to one of them (serving()), and that one goes.
    store::PoolMember a_{1, "a", "a:1", "a:2", 10, ""}, b_{2, "b", "b:1", "b:2", 20, ""};
    uint32_t serving() const { return pool::Membership::owner_among({a_, b_}, "lobby"); }
    const store::PoolMember& stays() const { return serving() == 1 ? b_ : a_; }
    // The room's server goes (its adoption is not looked at); what follows is shown.
    void lose_the_rooms_server() {
        sink_.events.clear();
        fanout_->servers_changed({a_, b_}, {stays()},
                                 [](const std::string&, std::vector<chat::Occupant>, uint32_t) {});
        loop_.drain();
    }

    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    manual::Loop loop_;
    util::Shards shards_ = manual::shards(loop_, 2);
    std::unique_ptr<manual::Store> manual_;
    chat::Directory directory_;
    RecordingSink sink_;
    pool::Membership membership_{
        pool::PoolConfig{"here", "h:1", "h:2", "http://h", "secret-secret-secret"}};
    std::unique_ptr<pool::Fanout> fanout_;
    int64_t room_id_ = 0;
};

}  // namespace

TEST_F(FanoutTest, MessagesAreShownOnceInOrderAndAGapIsReadFromTheDatabase) {
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    fanout_->remote_event(posted(1));
    fanout_->remote_event(posted(2));
    fanout_->remote_event(posted(2));  // again (a retry): dropped
    fanout_->remote_event(posted(5));  // 3 and 4 were lost on the way
    fanout_->remote_event(posted(6));  // arrives while the gap is read: waits its turn
    loop_.drain();
    EXPECT_EQ(sink_.seqs(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
    // The ones read from the database are the stored messages themselves.
    auto third = std::get<chat::MessagePosted>(sink_.events[3].what).message;
    EXPECT_EQ(third.body, "message 3");
    EXPECT_EQ(third.stanza_id, "s3");
}

TEST_F(FanoutTest, WhenTheRoomsServerGoesItsOccupantsLeaveAndOursAreAdopted) {
    const store::PoolMember& stays = this->stays();
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("ghost", serving()), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("other", 9), true}});
    fanout_->remote_event(posted(4));
    loop_.drain();
    sink_.events.clear();
    std::vector<std::pair<std::vector<chat::Occupant>, uint32_t>> adopted;
    fanout_->servers_changed(
        {a_, b_}, {stays},
        [&](const std::string& node, std::vector<chat::Occupant> mine, uint32_t server) {
            EXPECT_EQ(node, "lobby");
            adopted.emplace_back(std::move(mine), server);
        });
    loop_.drain();
    // The gone server's occupant leaves for our clients, with the reason; nobody else does.
    ASSERT_EQ(sink_.events.size(), 1u);
    const auto& left = std::get<chat::OccupantLeft>(sink_.events[0].what);
    EXPECT_EQ(left.occupant.nick, "ghost");
    EXPECT_EQ(left.why, chat::Departure::server_lost);
    EXPECT_TRUE(left.announce);
    // Our own occupant is adopted by the room's next server.
    ASSERT_EQ(adopted.size(), 1u);
    ASSERT_EQ(adopted[0].first.size(), 1u);
    EXPECT_EQ(adopted[0].first[0].nick, "me");
    EXPECT_EQ(adopted[0].second, stays.number);
    // The adoption answers the room's newest message: what we missed is read and shown.
    sink_.events.clear();
    shards_.of("lobby").post([&] { fanout_->caught_up("lobby", room_id_, 6); });
    loop_.drain();
    EXPECT_EQ(sink_.seqs(), (std::vector<int64_t>{5, 6}));
}

// A room with no message yet moves away from here; its next server takes posts before this
// server's adoption reaches it (they are not sent here: nobody of ours is known there yet).
// The adoption's answer says where the room is: what came after the move is read and shown.
TEST_F(FanoutTest, AnEmptyRoomMovedAwayShowsThePostsItsNextServerTookBeforeTheAdoption) {
    shards_.of("lobby").post([&] { fanout_->moved_away("lobby", {occupant("me", 0)}, 0); });
    loop_.drain();
    shards_.of("lobby").post([&] { fanout_->caught_up("lobby", room_id_, 6); });
    loop_.drain();
    EXPECT_EQ(sink_.seqs(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
}

// Joined when the room was at message 4, nothing posted since as seen here; its server goes,
// and the next one took 5 and 6 before this server's adoption: they are read and shown.
TEST_F(FanoutTest, AJoinSaysWhereTheRoomWasSoWhatItsNextServerTookFirstIsShown) {
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    loop_.drain();
    chat::JoinResult joined;
    joined.self = occupant("me", 0);
    joined.last_seq = 4;
    shards_.of("lobby").post([&] { fanout_->joined("lobby", joined); });
    lose_the_rooms_server();
    shards_.of("lobby").post([&] { fanout_->caught_up("lobby", room_id_, 6); });
    loop_.drain();
    EXPECT_EQ(sink_.seqs(), (std::vector<int64_t>{5, 6}));
}

// The adoptions go first, and the shard is through (done) before anybody is shown leaving:
// the leaving comes after, behind commands that came in meanwhile. One who joined again
// meanwhile through the gone server's restarted successor (same number, a new join) stays.
TEST_F(FanoutTest, TheAdoptionsGoBeforeTheGoneServersOccupantsAreShownLeaving) {
    const store::PoolMember& stays = this->stays();
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("ghost", serving()), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("back", serving()), true}});
    loop_.drain();
    sink_.events.clear();
    std::vector<std::string> order;
    fanout_->servers_changed(
        {a_, b_}, {stays},
        [&](const std::string&, std::vector<chat::Occupant>, uint32_t) {
            order.push_back("adopt, " + std::to_string(sink_.events.size()) + " shown");
        },
        [&](size_t) {
            order.push_back("done, " + std::to_string(sink_.events.size()) + " shown");
        });
    // "back" joins again while the change's work runs on the shard: its join is newer.
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("back", serving()), true}});
    loop_.drain();
    ASSERT_EQ(order.size(), 3u);  // the adoption, then each shard through
    EXPECT_EQ(order[0], "adopt, 0 shown");
    EXPECT_EQ(order[1], "done, 0 shown");
    EXPECT_EQ(order[2], "done, 0 shown");
    std::vector<std::string> left;
    for (const auto& e : sink_.events)
        if (auto* l = std::get_if<chat::OccupantLeft>(&e.what)) left.push_back(l->occupant.nick);
    EXPECT_EQ(left, std::vector<std::string>{"ghost"});
}

// On the room's server: an occupant adopted from the room's former server is known to every
// server that followed the room before it moved, so its joining crosses no link — but to a
// server that learnt the occupants from this one's answer to a join since; the room's events
// still reach the adopted occupant's server after.
TEST_F(FanoutTest, AnAdoptedOccupantIsSentOnlyWhereTheOccupantsWereListedSinceTheMove) {
    RecordingLinks links;
    fanout_->set_links(&links);
    auto on_shard = [&](chat::RoomEvent e) {
        shards_.of("lobby").post([&, e = std::move(e)] { fanout_->room_event(e); });
        loop_.drain();
    };
    on_shard({"lobby", chat::OccupantJoined{occupant("amy", 7), true}});
    ASSERT_EQ(links.sent.size(), 1u);  // a join: to the servers with occupants, hers included
    EXPECT_EQ(links.sent[0].first, 7u);
    links.sent.clear();
    on_shard({"lobby", chat::OccupantJoined{occupant("bob", 9), false, true}});
    EXPECT_TRUE(links.sent.empty());
    // Server 8's first occupant joins through this server: it gets the list of that moment.
    shards_.of("lobby").post([&] { fanout_->listed("lobby", 8); });
    on_shard({"lobby", chat::OccupantJoined{occupant("cy", 8), true}});
    links.sent.clear();
    on_shard({"lobby", chat::OccupantJoined{occupant("dee", 9), false, true}});
    ASSERT_EQ(links.sent.size(), 1u);
    EXPECT_EQ(links.sent[0].first, 8u);
    links.sent.clear();
    on_shard(posted(7));
    std::vector<uint32_t> to;
    for (const auto& [server, frame] : links.sent) to.push_back(server);
    std::sort(to.begin(), to.end());
    EXPECT_EQ(to, (std::vector<uint32_t>{7, 8, 9}));
    fanout_->set_links(nullptr);
}

TEST_F(FanoutTest, OccupantsListedByAJoinAreKnownAndLeaveWithTheirServer) {
    // "early" was in the room, on the room's server, before anybody of ours: known only from
    // the list the join answered with. The room's server goes: early leaves for our clients.
    uint32_t serving = this->serving();
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    loop_.drain();
    chat::JoinResult r;
    r.self = occupant("me", 0);
    r.others = {occupant("early", serving)};
    shards_.of("lobby").post([&] { fanout_->joined("lobby", r); });
    loop_.drain();
    lose_the_rooms_server();
    ASSERT_EQ(sink_.events.size(), 1u);
    EXPECT_EQ(std::get<chat::OccupantLeft>(sink_.events[0].what).occupant.nick, "early");
}

TEST_F(FanoutTest, AJoinAnsweredWithoutTheListGetsItFromWhatIsKnownHere) {
    auto with_presence = [](chat::Occupant o) {
        o.presence = "<show>away</show>";
        return o;
    };
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("first", 0), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{with_presence(occupant("far", 9)), true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("gone", 9), true}});
    fanout_->remote_event(
        {"lobby", chat::OccupantLeft{occupant("gone", 9), chat::Departure::left, "", "", true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    loop_.drain();
    chat::JoinResult r;
    r.self = occupant("me", 0);
    r.others_omitted = true;
    shards_.of("lobby").post([&] { fanout_->joined("lobby", r); });
    loop_.drain();
    EXPECT_FALSE(r.others_omitted);
    ASSERT_EQ(r.others.size(), 2u);  // by nickname, the joiner and the one who left aside
    EXPECT_EQ(r.others[0].nick, "far");
    EXPECT_EQ(r.others[0].presence, "<show>away</show>");  // shown to the joiner as it is
    EXPECT_EQ(r.others[1].nick, "first");
}

// Above the participant update limit nobody's coming and going is broadcast; the loss of the
// room's server must not broadcast it either (a room of 6,400 losing 1,600 occupants on a
// server with 1,600 others: 2.5 million presences, which cut every client of it off).
std::shared_ptr<chat::LiveSettings> few_updates() {
    chat::Settings s;
    s.participant_update_limit = 3;
    return std::make_shared<chat::LiveSettings>(s);
}

TEST_F(FanoutTest, ALargeRoomsLostOccupantsLeaveWithoutAnnouncement) {
    uint32_t serving = this->serving();
    fanout_ = std::make_unique<pool::Fanout>(sink_, directory_, shards_, membership_, *manual_,
                                             few_updates());
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), false}});
    for (int i = 0; i < 4; ++i)
        fanout_->remote_event(
            {"lobby", chat::OccupantJoined{occupant("far" + std::to_string(i), serving), false}});
    loop_.drain();
    lose_the_rooms_server();
    ASSERT_EQ(sink_.events.size(), 4u);  // each forgotten here, none shown to anybody
    for (const auto& e : sink_.events) EXPECT_FALSE(std::get<chat::OccupantLeft>(e.what).announce);
}

// A nickname whose other resource stays (on a living server) has not left the room.
TEST_F(FanoutTest, ALostResourceOfANicknameThatStaysIsNotAnnounced) {
    uint32_t serving = this->serving();
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    auto phone = occupant("kim", serving);
    auto desk = occupant("kim", 9);
    desk.full_jid = "kim@example.org/desk";
    fanout_->remote_event({"lobby", chat::OccupantJoined{phone, true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{desk, false}});
    loop_.drain();
    lose_the_rooms_server();
    ASSERT_EQ(sink_.events.size(), 1u);
    EXPECT_FALSE(std::get<chat::OccupantLeft>(sink_.events[0].what).announce);
}

// Both resources of a nickname on the lost server: the nickname leaves once, with the last.
TEST_F(FanoutTest, ANicknameWhoseResourcesAllGoIsAnnouncedOnce) {
    uint32_t serving = this->serving();
    fanout_->remote_event({"lobby", chat::OccupantJoined{occupant("me", 0), true}});
    auto phone = occupant("kim", serving);
    auto desk = occupant("kim", serving);
    desk.full_jid = "kim@example.org/desk";
    fanout_->remote_event({"lobby", chat::OccupantJoined{phone, true}});
    fanout_->remote_event({"lobby", chat::OccupantJoined{desk, false}});
    loop_.drain();
    lose_the_rooms_server();
    ASSERT_EQ(sink_.events.size(), 2u);
    int announced = 0;
    for (const auto& e : sink_.events) announced += std::get<chat::OccupantLeft>(e.what).announce;
    EXPECT_EQ(announced, 1);
}

// Room lists show the subject: a server with nobody in the room learns a new one too (before,
// only servers with occupants heard of it, and their directories kept the old one).
TEST_F(FanoutTest, ASubjectChangeReachesTheDirectoryOfAServerWithNobodyInTheRoom) {
    fanout_->remote_event({"lobby", chat::SubjectChanged{"Budget day", "carol"}});
    loop_.drain();
    auto listing = directory_.room("lobby");
    ASSERT_TRUE(listing);
    EXPECT_EQ(listing->meta.subject, "Budget day");
    EXPECT_EQ(listing->meta.subject_nick, "carol");
}
