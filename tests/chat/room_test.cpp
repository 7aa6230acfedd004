#include <gtest/gtest.h>

#include "chat/room.hpp"

using namespace perch;
using chat::HistoryRequest;
using chat::Room;

namespace {
store::Message msg(int64_t seq, int64_t ts, std::string body = "x") {
    store::Message m;
    m.seq = seq;
    m.ts_us = ts;
    m.body = std::move(body);
    m.nick = "n";
    return m;
}

Room room_with(int messages, size_t cache) {
    store::Room meta;
    meta.node = "r";
    Room r(meta, cache);
    for (int i = 1; i <= messages; ++i) r.remember(msg(i, i * 1000));
    return r;
}

std::vector<int64_t> seqs(const std::vector<const store::Message*>& v) {
    std::vector<int64_t> out;
    for (auto* m : v) out.push_back(m->seq);
    return out;
}

std::vector<const store::Message*> cached(const Room& r) {
    std::vector<const store::Message*> out;
    for (const auto& m : r.recent()) out.push_back(&m);
    return out;
}
}  // namespace

TEST(Room, NickConflictOnlyForSomebodyElse) {
    Room r = room_with(0, 10);
    chat::Occupant a;
    a.nick = "alice";
    a.full_jid = "alice@x/1";
    r.add(a);
    EXPECT_EQ(r.check_join("alice", "bob@x/1"), chat::JoinRefusal::nick_conflict);
    EXPECT_EQ(r.check_join("alice", "alice@x/1"), chat::JoinRefusal::none);  // rejoin
    EXPECT_EQ(r.check_join("", "bob@x/1"), chat::JoinRefusal::nick_missing);
    // The same user from another device shares the nickname (multi-session nick).
    EXPECT_EQ(r.check_join("alice", "alice@x/phone"), chat::JoinRefusal::none);
    chat::Occupant phone = a;
    phone.full_jid = "alice@x/phone";
    r.add(phone);
    EXPECT_EQ(r.occupants().count("alice"), 2u);
    EXPECT_EQ(r.by_jid("alice@x/phone")->full_jid, "alice@x/phone");
    EXPECT_EQ(r.by_jid("alice@x/1")->full_jid, "alice@x/1");
    EXPECT_EQ(r.remove("alice@x/1")->full_jid, "alice@x/1");
    ASSERT_TRUE(r.by_nick("alice"));  // still there from the phone
    EXPECT_EQ(r.by_nick("alice")->full_jid, "alice@x/phone");
    EXPECT_EQ(r.check_join("alice", "bob@x/1"), chat::JoinRefusal::nick_conflict);
    r.meta().disabled = true;
    EXPECT_EQ(r.check_join("bob", "bob@x/1"), chat::JoinRefusal::room_disabled);
}

// Nicknames that read alike (case, letters of other scripts drawn the same, invisible
// characters) cannot sit side by side: somebody could pass for another.
TEST(Room, ANicknameThatReadsLikeAnotherIsRefused) {
    Room r = room_with(0, 10);
    chat::Occupant a;
    a.nick = "Alice";
    a.full_jid = "alice@x/1";
    r.add(a);
    for (const char* alike : {"alice", "ALICE", "\xD0\x90lice" /* Cyrillic A */,
                              "A\xE2\x80\x8Blice" /* zero-width space */, "AIice", "A1ice"})
        EXPECT_EQ(r.check_join(alike, "mallory@x/1"), chat::JoinRefusal::nick_look_alike) << alike;
    EXPECT_EQ(r.check_join("Alicia", "mallory@x/1"), chat::JoinRefusal::none);
    // Its holder may change to a form of it (a nickname change), nobody else may.
    EXPECT_EQ(r.check_join("alice", "alice@x/1"), chat::JoinRefusal::none);
    EXPECT_EQ(r.check_join("alice", "alice@x/phone"), chat::JoinRefusal::nick_look_alike);
    // Once it has gone, the look-alike is free.
    r.remove("alice@x/1");
    EXPECT_EQ(r.check_join("alice", "mallory@x/1"), chat::JoinRefusal::none);
}

TEST(Room, RemoveByJidFreesTheNick) {
    Room r = room_with(0, 10);
    chat::Occupant a;
    a.nick = "alice";
    a.full_jid = "alice@x/1";
    r.add(a);
    ASSERT_TRUE(r.by_jid("alice@x/1"));
    auto gone = r.remove("alice@x/1");
    ASSERT_TRUE(gone);
    EXPECT_EQ(gone->nick, "alice");
    EXPECT_FALSE(r.by_nick("alice"));
    EXPECT_FALSE(r.remove("alice@x/1"));
}

TEST(Room, CacheKeepsTheNewestAndTracksSequence) {
    Room r = room_with(30, 20);
    EXPECT_EQ(r.recent().size(), 20u);
    EXPECT_EQ(r.recent().front().seq, 11);
    EXPECT_EQ(r.meta().last_seq, 30);
}

TEST(Room, DefaultHistoryIsTheLastN) {
    Room r = room_with(30, 50);
    EXPECT_EQ(seqs(Room::select_history(cached(r), {}, 20)).front(), 11);
    EXPECT_EQ(Room::select_history(cached(r), {}, 20).size(), 20u);
}

// The cache was read again from the store while a commit's answer was on its way (a retry after
// an unknown outcome): the message, already there, is not cached twice; a newer one is.
TEST(Room, AMessageAlreadyCachedIsNotCachedAgain) {
    Room r = room_with(5, 50);
    store::Message again = r.recent().back();
    r.remember(again);
    EXPECT_EQ(seqs(cached(r)), (std::vector<int64_t>{1, 2, 3, 4, 5}));
    store::Message next = again;
    next.seq = 6;
    r.remember(next);
    EXPECT_EQ(seqs(cached(r)).back(), 6);
    EXPECT_EQ(r.recent().size(), 6u);
}

// The newest messages read again from the store: a message committed (and cached) while the
// read was under way stays in the cache.
TEST(Room, ACacheSeededAgainKeepsWhatIsNewerThanTheRead) {
    Room r = room_with(5, 50);
    std::vector<store::Message> read(r.recent().begin(), r.recent().begin() + 3);
    r.doubt_recent();
    r.seed_history(std::move(read));
    EXPECT_EQ(seqs(cached(r)), (std::vector<int64_t>{1, 2, 3, 4, 5}));
    EXPECT_FALSE(r.recent_in_doubt());
}

TEST(Room, MaxStanzasZeroSendsNothing) {
    Room r = room_with(5, 50);
    HistoryRequest req;
    req.max_stanzas = 0;
    EXPECT_TRUE(Room::select_history(cached(r), req, 20).empty());
}

TEST(Room, SinceAndMaxCharsLimit) {
    Room r = room_with(10, 50);
    HistoryRequest since;
    since.since_us = 8000;
    EXPECT_EQ(seqs(Room::select_history(cached(r), since, 20)), (std::vector<int64_t>{8, 9, 10}));
    HistoryRequest chars;
    chars.max_chars = 450;  // each message counts for about 200 characters
    EXPECT_EQ(seqs(Room::select_history(cached(r), chars, 20)), (std::vector<int64_t>{9, 10}));
}

TEST(Room, ModeratedMessagesStayInHistoryWithTheirNotice) {
    Room r = room_with(3, 50);
    store::Message m = r.recent()[1];
    m.removed = true;
    m.body = "removed";
    r.replace_cached(m);
    EXPECT_EQ(seqs(Room::select_history(cached(r), {}, 20)), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(r.recent()[1].body, "removed");
    r.forget_before(3000);
    EXPECT_EQ(seqs(Room::select_history(cached(r), {}, 20)), (std::vector<int64_t>{3}));
}

TEST(Room, CacheCoversOnlyWhatItHolds) {
    Room r = room_with(100, 50);
    HistoryRequest req;
    EXPECT_TRUE(r.cache_covers(req, 20));
    req.max_stanzas = 50;
    EXPECT_TRUE(r.cache_covers(req, 20));
    req.max_stanzas = 51;
    EXPECT_FALSE(r.cache_covers(req, 20));
    Room small = room_with(10, 50);  // the cache holds the whole room
    req.max_stanzas = 500;
    EXPECT_TRUE(small.cache_covers(req, 20));
}
