// The routing of room commands in a pool against a manual loop, a temporary SQLite store and
// links that only record what is sent: a command for a room served elsewhere goes there, and
// a join refused for its lateness but done there after all is undone.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "manual_runtime.hpp"
#include "pool/pool_rooms.hpp"
#include "recording_handle.hpp"
#include "recording_links.hpp"
#include "util/ids.hpp"

using namespace perch;

namespace {

struct NullSink final : chat::RoomEventSink {
    void room_event(const chat::RoomEvent&) override {}
    void invitation(const chat::Invitation&) override {}
};

class PoolRoomsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-poolrooms-" + util::random_id());
        std::filesystem::create_directories(dir_);
        config_.path = (dir_ / "content.db").string();
        config_.synchronous_full = false;
        store_ = store::open_store(config_);
        manual_ = std::make_unique<manual::Store>(loop_, *store_);
        // Another live server, so that some rooms are served there.
        there_ = store_->join_pool({0, "there", "t:1", "t:2", 1, ""}, 60000);
        pool::PoolConfig pc{"here", "h:1", "h:2", "", "secret-secret-secret"};
        pc.command_timeout_ms = 0;  // every forwarded command is late at once
        pc.renew_ms = 100;          // the live servers are read ten times a second
        membership_ = std::make_unique<pool::Membership>(pc);
        membership_->start(store::open_store(config_));
        service_ = std::make_unique<chat::RoomService>(chat::RoomServiceConfig{}, directory_,
                                                       shards_, *manual_, *manual_, sink_);
        fanout_ =
            std::make_unique<pool::Fanout>(sink_, directory_, shards_, *membership_, *manual_);
        rooms_ = std::make_unique<pool::PoolRooms>(*service_, *fanout_, *membership_, shards_);
        rooms_->set_links(&links_);
        for (int i = 1; node_.empty(); ++i)
            if (membership_->owner_of("room" + std::to_string(i)) == there_)
                node_ = "room" + std::to_string(i);
    }
    void TearDown() override {
        rooms_.reset();
        fanout_.reset();
        service_.reset();
        membership_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    // Joins node_ as `nick`; returns the join's id on the link and where its answer goes.
    uint64_t join(const std::string& nick, std::optional<chat::Result<chat::JoinResult>>& got) {
        chat::JoinCommand c;
        c.room = node_;
        c.actor.full_jid = nick + "@example.org/phone";
        c.nick = nick;
        rooms_->join(std::move(c), [&got](chat::Result<chat::JoinResult> r) { got = r; });
        auto joins = links_.commands("join");
        EXPECT_FALSE(joins.empty());
        EXPECT_EQ(links_.sent.back().first, there_);
        return joins.back().at("id").get<uint64_t>();
    }
    // `made` rooms served here that exist, then `missing` served here that do not.
    std::vector<std::string> rooms_here(size_t made, size_t missing) {
        store::Category cat;
        cat.name = "Projects";
        int64_t category = store_->add_category(cat);
        std::vector<std::string> here;
        for (int i = 1; here.size() < made + missing; ++i) {
            std::string node = "local" + std::to_string(i);
            if (!membership_->serves(node)) continue;
            if (here.size() < made) {
                store::Room r;
                r.node = r.name = node;
                r.category_id = category;
                store_->add_room(r);
            }
            here.push_back(node);
        }
        directory_.load(*store_);
        return here;
    }
    static chat::Occupant someone(const std::string& nick) {
        chat::Occupant o;
        o.nick = nick;
        o.full_jid = nick + "@example.org/phone";
        o.server = 1;
        return o;
    }

    // Ann posts "hello" to node_; the answer is not looked at.
    void post_as_ann() {
        chat::PostCommand post;
        post.room = node_;
        post.full_jid = "ann@example.org/phone";
        post.body = "hello";
        rooms_->post(std::move(post), [](chat::Result<chat::Posted>) {});
    }

    // Joins node_ while no frame can reach its server.
    void join_unsent(std::optional<chat::Result<chat::JoinResult>>& got) {
        chat::JoinCommand c;
        c.room = node_;
        c.actor.full_jid = "ann@example.org/phone";
        c.nick = "ann";
        rooms_->join(std::move(c), [&got](chat::Result<chat::JoinResult> r) { got = r; });
        loop_.drain();
        EXPECT_FALSE(got);
        EXPECT_TRUE(links_.sent.empty());
    }
    void late_answer(uint64_t id, bool joined) {
        rooms_->frame(there_, pool::Json{{"t", "re"}, {"id", id}, {"value", {{"joined", joined}}}});
        loop_.drain();
    }
    void expire() {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        rooms_->expire();
        loop_.drain();
    }

    std::filesystem::path dir_;
    store::StoreConfig config_;
    std::unique_ptr<store::Store> store_;
    manual::Loop loop_;
    util::Shards shards_ = manual::shards(loop_, 2);
    std::unique_ptr<manual::Store> manual_;
    chat::Directory directory_;
    NullSink sink_;
    RecordingLinks links_;
    uint32_t there_ = 0;
    std::unique_ptr<pool::Membership> membership_;
    std::unique_ptr<chat::RoomService> service_;
    std::unique_ptr<pool::Fanout> fanout_;
    std::unique_ptr<pool::PoolRooms> rooms_;
    std::string node_;
};

}  // namespace

TEST_F(PoolRoomsTest, AJoinAnsweredTooLateIsUndoneWhereItWasDone) {
    std::optional<chat::Result<chat::JoinResult>> got;
    uint64_t id = join("amy", got);
    expire();
    ASSERT_TRUE(got);
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->error().fault, chat::Fault::busy);
    // The room's server joined her after all: she leaves there, as her client was told.
    late_answer(id, true);
    auto leaves = links_.commands("leave");
    ASSERT_EQ(leaves.size(), 1u);
    EXPECT_EQ(leaves[0].at("body").at("room"), node_);
    EXPECT_EQ(leaves[0].at("body").at("full_jid"), "amy@example.org/phone");
    // Once only.
    late_answer(id, true);
    EXPECT_EQ(links_.commands("leave").size(), 1u);
}

TEST_F(PoolRoomsTest, ALateAnswerThatJoinedNobodyLeavesNothingToUndo) {
    std::optional<chat::Result<chat::JoinResult>> got;
    uint64_t id = join("ben", got);
    expire();
    late_answer(id, false);        // a nickname change, say: nobody new in the room
    late_answer(id + 1000, true);  // an answer to nothing this server asked
    EXPECT_TRUE(links_.commands("leave").empty());
}

TEST_F(PoolRoomsTest, ALostLinkForgetsWhatItsLateAnswersWouldUndo) {
    std::optional<chat::Result<chat::JoinResult>> got;
    uint64_t id = join("cat", got);
    expire();
    rooms_->link_lost(there_);
    late_answer(id, true);
    EXPECT_TRUE(links_.commands("leave").empty());
}

TEST_F(PoolRoomsTest, AJoinLostWithItsLinkIsSentAgainNotRefused) {
    // The link to the room's server is lost after the join went out and before its answer:
    // the server died (the room moves) or the link is being made again. The join waits like a
    // new one and goes again; lost a second time, it is refused.
    std::optional<chat::Result<chat::JoinResult>> got;
    join("dan", got);
    links_.up = false;
    rooms_->link_lost(there_);
    loop_.drain();
    EXPECT_FALSE(got);
    EXPECT_EQ(links_.commands("join").size(), 1u);
    links_.up = true;
    rooms_->release_parked();
    loop_.drain();
    auto joins = links_.commands("join");
    ASSERT_EQ(joins.size(), 2u);
    EXPECT_EQ(links_.sent.back().first, there_);
    EXPECT_EQ(joins[1].at("body"), joins[0].at("body"));
    EXPECT_FALSE(got);
    rooms_->link_lost(there_);
    loop_.drain();
    ASSERT_TRUE(got);
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->error().fault, chat::Fault::busy);
    EXPECT_EQ(links_.commands("join").size(), 2u);
}

// One-to-one messages between servers: an offer goes to every other server; its answer says
// whether it was delivered there; a lost link or no answer in time counts as not delivered
// (the sender's server then keeps the message). An offer that arrives is delivered to this
// server's sessions of the user and answered.
TEST_F(PoolRoomsTest, UserMessagesAreOfferedToTheOtherServersAndAnswered) {
    xmpp::Router router;
    pool::PoolUsers users(router, *membership_, std::chrono::milliseconds(0));
    users.set_links(&links_);
    rooms_->set_users(&users);
    std::vector<bool> outcomes;
    auto offer = [&] {
        links_.sent.clear();
        users.offer({"bob@example.org", "alice@example.org/pc", "<message/>", false, true},
                    [&](bool delivered) { outcomes.push_back(delivered); });
        EXPECT_EQ(links_.sent.size(), 1u);
        EXPECT_EQ(links_.sent.at(0).first, there_);
        EXPECT_EQ(links_.sent.at(0).second.at("t"), "um");
        return links_.sent.at(0).second.at("id").get<uint64_t>();
    };
    rooms_->frame(there_, pool::Json{{"t", "ua"}, {"id", offer()}, {"d", true}});
    offer();
    rooms_->link_lost(there_);
    offer();
    users.expire();
    EXPECT_EQ(outcomes, (std::vector<bool>{true, false, false}));

    auto bob = std::make_shared<Recorder>(xmpp::Jid::make("bob", "example.org", "phone"));
    router.bind(bob);
    links_.sent.clear();
    rooms_->frame(there_, pool::Json{{"t", "um"},
                                     {"id", 7},
                                     {"to", "bob@example.org"},
                                     {"from", "alice@example.org/pc"},
                                     {"s",
                                      "<message xmlns='jabber:client' to='bob@example.org' "
                                      "type='chat'><body>hi</body></message>"},
                                     {"found", false},
                                     {"copies", true}});
    ASSERT_EQ(bob->got.size(), 1u);
    EXPECT_NE(bob->got[0].find("<body>hi</body>"), std::string::npos);
    ASSERT_EQ(links_.sent.size(), 1u);
    EXPECT_EQ(links_.sent[0].second, (pool::Json{{"t", "ua"}, {"id", 7}, {"d", true}}));
    rooms_->set_users(nullptr);
}

// The admin API's session listing: this server's sessions and, from each other server, its
// answer ("sa"); a server that does not answer in time is named as such. A listing asked of
// this server is answered with its own sessions, at most the limit.
TEST_F(PoolRoomsTest, SessionsAreListedFromEveryServer) {
    xmpp::Router router;
    pool::PoolUsers users(router, *membership_, std::chrono::milliseconds(0));
    users.set_links(&links_);
    rooms_->set_users(&users);
    for (const char* who : {"amy", "ben"})
        router.bind(std::make_shared<Recorder>(xmpp::Jid::make(who, "example.org", "pc")));
    std::vector<pool::Json> listings;
    auto list = [&] {
        links_.sent.clear();
        users.list_sessions(10, [&](pool::Json servers) { listings.push_back(servers); });
        EXPECT_EQ(links_.sent.size(), 1u);
        EXPECT_EQ(links_.sent.at(0).second.at("t"), "sl");
        return links_.sent.at(0).second.at("id").get<uint64_t>();
    };
    pool::Json theirs{
        {"sessions", pool::Json::array({{{"jid", "cy@example.org/x"}, {"connected", true}}})},
        {"more", false}};
    rooms_->frame(there_, pool::Json{{"t", "sa"}, {"id", list()}, {"l", theirs}});
    list();
    users.expire();
    ASSERT_EQ(listings.size(), 2u);
    ASSERT_EQ(listings[0].size(), 2u);
    EXPECT_EQ(listings[0][0].at("server"), "here");
    EXPECT_EQ(listings[0][0].at("sessions").size(), 2u);
    EXPECT_EQ(listings[0][1].at("server"), "there");
    EXPECT_EQ(listings[0][1].at("sessions")[0].at("jid"), "cy@example.org/x");
    EXPECT_EQ(listings[1][1].at("server"), "there");
    EXPECT_TRUE(listings[1][1].contains("error"));

    links_.sent.clear();
    rooms_->frame(there_, pool::Json{{"t", "sl"}, {"id", 9}, {"limit", 1}});
    ASSERT_EQ(links_.sent.size(), 1u);
    const auto& answer = links_.sent[0].second;
    EXPECT_EQ(answer.at("t"), "sa");
    EXPECT_EQ(answer.at("id"), 9);
    EXPECT_EQ(answer.at("l").at("sessions").size(), 1u);
    EXPECT_EQ(answer.at("l").at("more"), true);
    rooms_->set_users(nullptr);
}

// Rooms hash over the active servers only; with none active (no slots kept yet, or all
// standby), over every live one.
TEST_F(PoolRoomsTest, ACommandForAServerWithoutALinkWaitsForTheLink) {
    // Its link is being made again (or its lease is about to lapse): the join waits, and goes
    // when the link is back, ahead of a later post to the same room.
    links_.up = false;
    std::optional<chat::Result<chat::JoinResult>> joined;
    chat::JoinCommand c;
    c.room = node_;
    c.actor.full_jid = "ann@example.org/phone";
    c.nick = "ann";
    rooms_->join(std::move(c), [&](chat::Result<chat::JoinResult> r) { joined = r; });
    links_.up = true;  // the post finds the link, and still waits behind the join
    post_as_ann();
    loop_.drain();
    EXPECT_TRUE(links_.sent.empty());
    EXPECT_FALSE(joined);
    rooms_->release_parked();
    ASSERT_EQ(links_.sent.size(), 2u);
    EXPECT_EQ(links_.sent[0].second.at("op"), "join");
    EXPECT_EQ(links_.sent[1].second.at("op"), "post");
    EXPECT_EQ(links_.sent[0].first, there_);
}

TEST_F(PoolRoomsTest, AnAdoptionWaitsForTheLinkAndTheRoomsCommandsWaitBehindIt) {
    // The room's new server has just joined and the link to it is being made: the adoption of
    // this server's occupants waits for the link, and a post of theirs goes after it (sent
    // first, it would find its sender not in the room).
    links_.up = false;
    links_.refuse = true;
    chat::Occupant ann = someone("ann");
    ann.server = 0;
    shards_.of(node_).post([&] { rooms_->adopt(node_, {ann}, there_); });
    loop_.drain();  // (during a change, the gate holds the room's commands until this ran)
    post_as_ann();
    loop_.drain();
    EXPECT_TRUE(links_.sent.empty());
    links_.up = true;
    links_.refuse = false;
    rooms_->release_parked();
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 2u);
    EXPECT_EQ(links_.sent[0].second.at("op"), "adopt");
    EXPECT_EQ(links_.sent[1].second.at("op"), "post");
}

TEST_F(PoolRoomsTest, ACommandThatWaitedTooLongIsRefusedBusy) {
    // command_timeout_ms is 0 here: it may wait no longer than its answer would have.
    links_.up = false;
    std::optional<chat::Result<chat::JoinResult>> got;
    join_unsent(got);
    expire();
    ASSERT_TRUE(got);
    ASSERT_FALSE(got->ok());
    EXPECT_EQ(got->error().fault, chat::Fault::busy);
    EXPECT_TRUE(links_.sent.empty());
}

TEST_F(PoolRoomsTest, ACommandThatWaitedGoesToTheRoomsNewServer) {
    // The server it waited for is gone: the room is served here now, and the join runs here.
    links_.up = false;
    std::optional<chat::Result<chat::JoinResult>> got;
    join_unsent(got);
    store_->leave_pool({there_, "there", "t:1", "t:2", 1, ""});
    for (int i = 0; i < 100 && membership_->owner_of(node_) == there_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_NE(membership_->owner_of(node_), there_);
    rooms_->release_parked();
    loop_.drain();
    ASSERT_TRUE(got);  // answered here (the room does not exist), not refused busy
    EXPECT_TRUE(got->ok() || got->error().fault != chat::Fault::busy);
    EXPECT_TRUE(links_.sent.empty());
}

TEST_F(PoolRoomsTest, WhileTheLiveServersChangeARoomsCommandsFollowItsAdoption) {
    // The change sends this server's occupants' adoptions from each room's shard, when the
    // shard gets to it; a post sent meanwhile would reach the room's new server before them,
    // and be refused there: not an occupant.
    size_t shard = shards_.index_of(node_);
    rooms_->changing();
    shards_.at(shard).post([&] {  // the change's work on the room's shard
        chat::Occupant ann;
        ann.nick = "ann";
        ann.full_jid = "ann@example.org/phone";
        rooms_->adopt(node_, {ann}, there_);
        for (size_t i = 0; i < shards_.size(); ++i) rooms_->changed_on(i);
    });
    post_as_ann();
    EXPECT_TRUE(links_.sent.empty());
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 2u);
    EXPECT_EQ(links_.sent[0].second.at("op"), "adopt");
    EXPECT_EQ(links_.sent[1].second.at("op"), "post");
    // A change of two parts (rooms served elsewhere, rooms let go): a post waits until both
    // are through on its room's shard.
    rooms_->changing();
    rooms_->changing();
    rooms_->changed_everywhere();
    loop_.drain();
    chat::PostCommand held;
    held.room = node_;
    held.full_jid = "ann@example.org/phone";
    held.body = "held";
    rooms_->post(std::move(held), [](chat::Result<chat::Posted>) {});
    loop_.drain();                      // held, not going round the shard meanwhile
    EXPECT_EQ(links_.sent.size(), 2u);  // one part still to go through
    rooms_->changed_everywhere();
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 3u);
    // Through: the next goes at once.
    chat::PostCommand next;
    next.room = node_;
    next.full_jid = "ann@example.org/phone";
    next.body = "again";
    rooms_->post(std::move(next), [](chat::Result<chat::Posted>) {});
    EXPECT_EQ(links_.sent.size(), 4u);
}

TEST_F(PoolRoomsTest, WhileTheLiveServersChangeAPostToARoomServedHereFollowsItsAdoption) {
    // The room moved here: this server's own occupants are adopted from the room's shard as
    // well, and a post of theirs must not be taken first.
    std::string room = rooms_here(1, 0)[0];
    size_t shard = shards_.index_of(room);
    rooms_->changing();
    shards_.at(shard).post([&] {
        chat::Occupant ann = someone("ann");
        ann.server = 0;  // this server's
        rooms_->adopt(room, {ann}, membership_->self().number);
        for (size_t i = 0; i < shards_.size(); ++i) rooms_->changed_on(i);
    });
    chat::PostCommand post;
    post.room = room;
    post.full_jid = "ann@example.org/phone";
    post.body = "hello";
    std::optional<chat::Result<chat::Posted>> posted;
    rooms_->post(std::move(post), [&](chat::Result<chat::Posted> r) { posted = r; });
    loop_.drain();
    ASSERT_TRUE(posted);
    EXPECT_TRUE(posted->ok()) << posted->error().text;
}

TEST_F(PoolRoomsTest, AServerListedTheOccupantsByAJoinHereIsToldOfThoseAdoptedAfter) {
    // A room moved here; another server's user joins it before the adoption of a third
    // server's occupants: that server learnt the occupants from the join's answer, so the
    // adopted one is sent to it (a server that followed the room before the move is not:
    // FanoutTest.AnAdoptedOccupantIsSentOnlyWhereTheOccupantsWereListedSinceTheMove).
    std::string room = rooms_here(1, 0)[0];
    fanout_->set_links(&links_);
    chat::JoinCommand c;
    c.room = room;
    c.actor.full_jid = "eve@example.org/pc";
    c.nick = "eve";  // a user of there_'s: written as there_ writes it
    {
        pool::WireScope scope(there_);
        rooms_->frame(there_, pool::Json{{"t", "cmd"}, {"op", "join"}, {"id", 1}, {"body", c}});
    }
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 1u);  // the answer
    EXPECT_EQ(links_.sent[0].second.value("t", ""), "re");
    EXPECT_TRUE(links_.sent[0].second.contains("value"));
    links_.sent.clear();
    // The room's events as the room service gives them to the fan-out (here its sink is
    // another): her joining, then an occupant of server 7 adopted.
    chat::Occupant eve = someone("eve"), far = someone("far");
    eve.server = there_;
    far.server = 7;
    shards_.of(room).post([&] {
        fanout_->room_event({room, chat::OccupantJoined{eve, true}});
        links_.sent.clear();
        fanout_->room_event({room, chat::OccupantJoined{far, false, true}});
    });
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 1u);
    EXPECT_EQ(links_.sent[0].first, there_);
    EXPECT_EQ(links_.sent[0].second.value("t", ""), "ev");
    fanout_->set_links(nullptr);
}

TEST_F(PoolRoomsTest, ACommandForARoomThisServerServesOnlySoonWaitsForIt) {
    // The other server saw node_ move here first (each reads the live servers on its own
    // beat): its command waits for this server to see it too, then is served here.
    auto info = [&](uint64_t id) {
        rooms_->frame(there_, pool::Json{{"t", "cmd"},
                                         {"op", "info"},
                                         {"id", id},
                                         {"body", {{"room", node_}, {"actor", chat::Actor{}}}}});
    };
    auto answered = [&](uint64_t id) {
        return std::count_if(links_.sent.begin(), links_.sent.end(), [&](const auto& s) {
            return s.second.value("t", "") == "re" && s.second.value("id", uint64_t{0}) == id;
        });
    };
    info(1);
    loop_.drain();
    EXPECT_EQ(answered(1), 0);
    store_->leave_pool({there_, "there", "t:1", "t:2", 1, ""});
    for (int i = 0; i < 100 && !membership_->serves(node_); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(membership_->serves(node_));
    rooms_->release_parked();
    loop_.drain();
    ASSERT_EQ(answered(1), 1);
}

TEST_F(PoolRoomsTest, ACommandForARoomServedElsewhereWaitsAMomentOnly) {
    // In this server's view node_ is served by the other: after 2 * renew_ms + 500 ms the room
    // service answers (busy), as it did at once before.
    rooms_->frame(there_, pool::Json{{"t", "cmd"},
                                     {"op", "info"},
                                     {"id", 7},
                                     {"body", {{"room", node_}, {"actor", chat::Actor{}}}}});
    rooms_->release_parked();
    loop_.drain();
    EXPECT_TRUE(links_.sent.empty());
    std::this_thread::sleep_for(std::chrono::milliseconds(750));
    rooms_->release_parked();
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 1u);
    EXPECT_EQ(links_.sent[0].second.value("t", ""), "re");
    EXPECT_TRUE(links_.sent[0].second.contains("error"));
}

// What the server's log holds while it lives.
class LogLines {
  public:
    LogLines() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
        before_ = spdlog::default_logger();
        auto logger = std::make_shared<spdlog::logger>("test", sink_);
        logger->set_level(spdlog::level::info);
        spdlog::set_default_logger(logger);
    }
    ~LogLines() { spdlog::set_default_logger(before_); }
    LogLines(const LogLines&) = delete;
    LogLines& operator=(const LogLines&) = delete;
    std::vector<std::string> with(const std::string& text) const {
        std::vector<std::string> out;
        for (auto& line : sink_->last_formatted())
            if (line.find(text) != std::string::npos) out.push_back(line);
        return out;
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> before_;
};

TEST_F(PoolRoomsTest, AnswersThatCannotBeSentAreToldAsOneLine) {
    // A link lost under a burst fails thousands of answers: one line a second, not one each.
    LogLines log;
    links_.refuse = true;
    for (uint64_t id = 1; id <= 40; ++id)
        rooms_->frame(there_, pool::Json{{"t", "cmd"}, {"op", "no-such-op"}, {"id", id}});
    loop_.drain();
    EXPECT_TRUE(log.with("could not be sent").empty());
    expire();
    auto lines = log.with("could not be sent");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("40 answers to commands of server " + std::to_string(there_)),
              std::string::npos)
        << lines[0];
    expire();
    EXPECT_EQ(log.with("could not be sent").size(), 1u);  // nothing more to tell
}

// A change settles (the server holds its clients' joins meanwhile) once every shard is through
// with both its parts and the adoptions it sent are answered; told once.
TEST_F(PoolRoomsTest, AChangeSettlesWhenItsShardsAreThroughAndItsAdoptionsAnswered) {
    int settled = 0;
    rooms_->on_settled([&] { ++settled; });
    EXPECT_FALSE(rooms_->settling());
    rooms_->changing();
    rooms_->changing();
    EXPECT_TRUE(rooms_->settling());
    shards_.at(shards_.index_of(node_)).post([&] {
        rooms_->adopt(node_, {someone("ann")}, there_);
    });
    rooms_->changed_everywhere();
    loop_.drain();
    EXPECT_TRUE(rooms_->settling());  // one part still to go through
    rooms_->changed_everywhere();
    loop_.drain();
    EXPECT_TRUE(rooms_->settling()) << "the adoption is not answered yet";
    EXPECT_EQ(settled, 0);
    ASSERT_EQ(links_.sent.size(), 1u);
    EXPECT_EQ(links_.sent[0].second.at("op"), "adopt");
    uint64_t id = links_.sent[0].second.at("id").get<uint64_t>();
    rooms_->frame(there_, pool::Json{{"t", "re"}, {"id", id}, {"value", 7}});
    loop_.drain();
    EXPECT_FALSE(rooms_->settling());
    EXPECT_EQ(settled, 1);
    // An adoption answered busy (the room's former server has not let it go yet) is asked
    // again a second later: the change settles then, and the line tells how many were.
    LogLines log;
    rooms_->adopt(node_, {someone("bo")}, there_);
    loop_.drain();
    ASSERT_EQ(links_.sent.size(), 2u);
    uint64_t busy = links_.sent[1].second.at("id").get<uint64_t>();
    rooms_->frame(
        there_,
        pool::Json{{"t", "re"},
                   {"id", busy},
                   {"error", pool::encode(chat::error(chat::Fault::busy, "not let go yet"))}});
    loop_.drain();
    EXPECT_TRUE(rooms_->settling());
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    expire();
    ASSERT_EQ(links_.sent.size(), 3u);
    uint64_t again = links_.sent[2].second.at("id").get<uint64_t>();
    rooms_->frame(there_, pool::Json{{"t", "re"}, {"id", again}, {"value", 7}});
    loop_.drain();
    EXPECT_EQ(settled, 2);
    auto lines = log.with("adopted by the rooms' servers");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("1 occupants of 1 rooms adopted"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("; 1 answered busy and asked again a second later"), std::string::npos)
        << lines[0];
    // A change with nothing to adopt settles when its shards are through.
    rooms_->changing();
    rooms_->changed_everywhere();
    loop_.drain();
    EXPECT_EQ(settled, 3);
}

TEST_F(PoolRoomsTest, TheAdoptionsAfterAChangeAreToldAsOneLineWhenTheLastEnds) {
    // Rooms served here: two that exist, one that does not.
    std::vector<std::string> here = rooms_here(2, 1);
    LogLines log;
    uint32_t self = membership_->self().number;
    rooms_->adopt(here[0], {someone("ann"), someone("bo")}, self);
    rooms_->adopt(here[1], {someone("cy")}, self);
    rooms_->adopt(here[2], {someone("di")}, self);
    loop_.drain();
    // One line a room is for debugging; a room that could not be adopted is an error.
    EXPECT_TRUE(log.with("occupants of " + here[0]).empty());
    EXPECT_EQ(log.with("occupants of " + here[2] + " not adopted").size(), 1u);
    auto lines = log.with("adopted by the rooms' servers");
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("this server's 3 occupants of 2 rooms adopted"), std::string::npos)
        << lines[0];
    EXPECT_NE(lines[0].find("(1 rooms not"), std::string::npos) << lines[0];
    // The next change's adoptions are counted afresh.
    rooms_->adopt(here[1], {someone("ed")}, self);
    loop_.drain();
    lines = log.with("adopted by the rooms' servers");
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[1].find("this server's 1 occupants of 1 rooms adopted"), std::string::npos)
        << lines[1];
}

TEST(Membership, AStandbyServesNoRoom) {
    std::vector<store::PoolMember> members{{1, "a", "", "", 1, "", true},
                                           {2, "b", "", "", 1, "", true},
                                           {3, "c", "", "", 1, "", false}};
    std::set<uint32_t> owners;
    for (int i = 0; i < 200; ++i)
        owners.insert(pool::Membership::owner_among(members, "room" + std::to_string(i)));
    EXPECT_EQ(owners, (std::set<uint32_t>{1, 2}));
    for (auto& m : members) m.active = false;
    owners.clear();
    for (int i = 0; i < 200; ++i)
        owners.insert(pool::Membership::owner_among(members, "room" + std::to_string(i)));
    EXPECT_EQ(owners, (std::set<uint32_t>{1, 2, 3}));
}

// A link to a live server closed of itself: the leases are read at once and then often, so
// that a dead server's lapse is seen within moments rather than at the next renewal.
TEST(Membership, ALostLinkHasTheLeasesReadSooner) {
    auto dir = std::filesystem::temp_directory_path() / ("perch-lease-" + util::random_id());
    std::filesystem::create_directories(dir);
    store::StoreConfig config;
    config.path = (dir / "content.db").string();
    config.synchronous_full = false;
    auto store = store::open_store(config);
    pool::PoolConfig pc{"here", "h:1", "h:2", "", "secret-secret-secret"};
    pc.lease_ms = 60000;
    pc.renew_ms = 8000;  // without a reason, the leases are read again only in 8 s
    {
        pool::Membership membership(pc);
        std::mutex mutex;
        std::condition_variable cv;
        bool gone = false;
        membership.on_change([&](const auto&, const std::vector<store::PoolMember>& now) {
            std::lock_guard lock(mutex);
            gone = now.size() == 1;
            cv.notify_all();
        });
        uint32_t there =
            store->join_pool({0, "there", "t:1", "t:2", 1, ""}, 1500);  // lapses in 1.5 s
        membership.start(store::open_store(config));
        ASSERT_EQ(membership.live().size(), 2u);
        auto asked = std::chrono::steady_clock::now();
        membership.look_sooner(there);
        std::unique_lock lock(mutex);
        EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(4), [&] { return gone; }));
        EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(4));
    }
    store.reset();
    std::filesystem::remove_all(dir);
}
