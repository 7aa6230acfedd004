// What crosses a pool's peer links: every command, result and event survives the trip, and
// server numbers mean "this server" on each side.
#include <gtest/gtest.h>

#include "pool/codec.hpp"
#include "pool/membership.hpp"

using namespace perch;
using pool::Json;

namespace {

// Encodes on server `from`, decodes on server `to`, as a link does.
template <class T>
T across(const T& value, uint32_t from, uint32_t to) {
    Json j;
    {
        pool::WireScope scope(from);
        j = value;
    }
    std::string text = j.dump();
    pool::WireScope scope(to);
    return Json::parse(text).get<T>();
}

chat::Occupant occupant(uint32_t server) {
    chat::Occupant o;
    o.nick = "Ann";
    o.full_jid = "ann@example.org/phone";
    o.occupant_id = "oid";
    o.role = chat::Role::moderator;
    o.affiliation = chat::Affiliation::owner;
    o.presence = "<show>away</show>";
    o.subject =
        std::make_shared<chat::Subject>(chat::Subject{"ann", {"staff", "ops"}, false, true});
    o.server = server;
    return o;
}

}  // namespace

TEST(PoolCodec, ServerNumbersAreTranslatedAtEachEnd) {
    // Server 2's own client, sent to server 3: there it belongs to server 2.
    auto there = across(occupant(0), 2, 3);
    EXPECT_EQ(there.server, 2u);
    // Server 3's client, in an event from server 2, is server 3's own again (0) at home.
    auto home = across(occupant(3), 2, 3);
    EXPECT_EQ(home.server, 0u);
    EXPECT_EQ(home.nick, "Ann");
    EXPECT_EQ(home.full_jid, "ann@example.org/phone");
    EXPECT_EQ(home.role, chat::Role::moderator);
    EXPECT_EQ(home.affiliation, chat::Affiliation::owner);
    EXPECT_EQ(home.presence, "<show>away</show>");
    ASSERT_TRUE(home.subject);
    EXPECT_EQ(home.subject->groups, (std::set<std::string>{"ops", "staff"}));
}

TEST(PoolCodec, CommandsKeepEveryField) {
    chat::JoinCommand join;
    join.room = "lobby";
    join.actor.who = std::make_shared<chat::Subject>(chat::Subject{"ann", {}, true, true});
    join.actor.full_jid = "ann@example.org/phone";
    join.nick = "Ann";
    join.presence = "<status>hi</status>";
    join.join_element = false;
    join.history.max_stanzas = 7;
    join.history.since_us = 123;
    auto j = across(join, 1, 2);
    EXPECT_EQ(j.room, "lobby");
    EXPECT_EQ(j.actor.full_jid, join.actor.full_jid);
    EXPECT_EQ(j.actor.server, 1u);
    ASSERT_TRUE(j.actor.who);
    EXPECT_TRUE(j.actor.who->administrator);
    EXPECT_EQ(j.nick, "Ann");
    EXPECT_FALSE(j.join_element);
    EXPECT_EQ(j.history.max_stanzas, 7);
    EXPECT_FALSE(j.history.max_chars);
    EXPECT_EQ(j.history.since_us, 123);

    chat::ConfigureCommand configure;
    configure.room = "lobby";
    configure.change.name = "The lobby";
    configure.change.privacy = store::Privacy::secret;
    configure.change.drop_outsiders = true;
    auto c = across(configure, 1, 2);
    EXPECT_EQ(c.change.name, "The lobby");
    EXPECT_FALSE(c.change.description);
    EXPECT_EQ(c.change.privacy, store::Privacy::secret);
    EXPECT_TRUE(c.change.drop_outsiders);
    EXPECT_FALSE(c.actor.who);  // the server itself

    chat::ListsCommand lists;
    lists.room = "lobby";
    lists.changes.push_back(
        {store::RoomList::presenter, store::Principal::group("staff"), false, ""});
    auto l = across(lists, 1, 2);
    ASSERT_EQ(l.changes.size(), 1u);
    EXPECT_EQ(l.changes[0].list, store::RoomList::presenter);
    EXPECT_EQ(l.changes[0].principal, store::Principal::group("staff"));
    EXPECT_FALSE(l.changes[0].present);

    chat::ArchiveCommand archive;
    archive.room = "lobby";
    archive.query.text = "hello";
    archive.query.before_id = "abc";
    archive.query.max = 20;
    auto a = across(archive, 1, 2);
    EXPECT_EQ(a.query.text, "hello");
    EXPECT_EQ(a.query.before_id, "abc");
    EXPECT_FALSE(a.query.after_id);
    EXPECT_EQ(a.query.max, 20);
}

TEST(PoolCodec, EventsAndResultsKeepEveryField) {
    store::Message m;
    m.room_id = 4;
    m.stanza_id = "s1";
    m.origin_id = "o1";
    m.sender = "ann@example.org";
    m.nick = "Ann";
    m.kind = store::MessageKind::story;
    m.body = "naïve \"quoted\" \n text";
    m.payload = "<x/>";
    m.ts_us = 99;
    m.seq = 12;
    chat::RoomEvent posted{"lobby", chat::MessagePosted{m}};
    pool::Json wire;
    {
        pool::WireScope scope(1);
        wire = pool::encode(posted);
    }
    pool::WireScope scope(2);
    auto back = pool::decode_event(Json::parse(wire.dump()));
    EXPECT_EQ(back.room, "lobby");
    const auto& got = std::get<chat::MessagePosted>(back.what).message;
    EXPECT_EQ(got.body, m.body);
    EXPECT_EQ(got.seq, 12);
    EXPECT_EQ(got.kind, store::MessageKind::story);
    EXPECT_EQ(got.stanza_id, "s1");

    chat::RoomEvent left{"lobby", chat::OccupantLeft{occupant(0), chat::Departure::kicked, "spam",
                                                     "<status>bye</status>", false}};
    auto l = pool::decode_event(pool::encode(left));
    const auto& gone = std::get<chat::OccupantLeft>(l.what);
    EXPECT_EQ(gone.why, chat::Departure::kicked);
    EXPECT_EQ(gone.text, "spam");
    EXPECT_FALSE(gone.announce);

    chat::RoomEvent changed{"lobby", chat::RoomChanged{{}, {}, "General"}};
    std::get<chat::RoomChanged>(changed.what).meta.node = "lobby";
    std::get<chat::RoomChanged>(changed.what).rules.members.push_back(store::Principal::all());
    auto c = std::get<chat::RoomChanged>(pool::decode_event(pool::encode(changed)).what);
    EXPECT_EQ(c.meta.node, "lobby");
    EXPECT_EQ(c.category, "General");
    ASSERT_EQ(c.rules.members.size(), 1u);
    EXPECT_EQ(c.rules.members[0].kind, store::Principal::Kind::everyone);

    EXPECT_THROW(pool::decode_event(Json{{"room", "x"}, {"k", "nonsense"}}), Json::exception);
    EXPECT_THROW(pool::decode_event(Json{{"k", "posted"}}), Json::exception);

    auto e = pool::decode_error(pool::encode(chat::error(chat::Fault::members_only, "members")));
    EXPECT_EQ(e.fault, chat::Fault::members_only);
    EXPECT_EQ(e.text, "members");
}

// Rendezvous hashing: every server agrees on a room's server without talking, and a server
// joining takes only the rooms that now hash to it (about a fair share).
TEST(PoolOwnership, AServerJoiningTakesOnlyItsShare) {
    auto owner = [](const std::vector<std::string>& servers, const std::string& node) {
        std::string best;
        uint64_t best_weight = 0;
        for (const auto& s : servers) {
            uint64_t w = pool::Membership::weight(s, node);
            if (best.empty() || w > best_weight) best = s, best_weight = w;
        }
        return best;
    };
    std::vector<std::string> three{"p1", "p2", "p3"}, four{"p1", "p2", "p3", "p4"};
    int moved = 0, to_new = 0;
    std::map<std::string, int> share;
    constexpr int kRooms = 4000;
    for (int i = 0; i < kRooms; ++i) {
        std::string node = "room" + std::to_string(i);
        auto before = owner(three, node), after = owner(four, node);
        ++share[after];
        if (before != after) {
            ++moved;
            if (after == "p4") ++to_new;
        }
    }
    EXPECT_EQ(moved, to_new);  // nothing moves between the servers that stay
    for (const auto& [server, n] : share) {
        EXPECT_GT(n, kRooms / 4 * 8 / 10) << server;
        EXPECT_LT(n, kRooms / 4 * 12 / 10) << server;
    }
    EXPECT_EQ(pool::Membership::weight("p1", "lobby"), pool::Membership::weight("p1", "lobby"));
}
