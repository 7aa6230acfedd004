// Pools on the shared database: membership by lease, rooms fenced by epoch. Runs on SQLite and
// on the PostgreSQL test cluster, like the rest of the storage suite.
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "pool/membership.hpp"
#include "store_fixture.hpp"

using namespace perch::store;

namespace {

PoolMember member(std::string name, int64_t incarnation) {
    return {0, name, name + ":8011", name + ":5222", incarnation, "https://" + name};
}

std::vector<std::string> names(const std::vector<PoolMember>& members) {
    std::vector<std::string> out;
    for (const auto& m : members) out.push_back(m.name);
    return out;
}

}  // namespace

TEST_F(StoreTest, PoolMembersKeepTheirNumberAndLapseWithoutRenewal) {
    auto s = open();
    uint32_t one = s->join_pool(member("one", 1), 60000);
    uint32_t two = s->join_pool(member("two", 2), 200);
    EXPECT_NE(one, two);
    EXPECT_EQ(names(s->renew_lease(member("one", 1), 60000)),
              (std::vector<std::string>{"one", "two"}));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    auto live = s->renew_lease(member("one", 1), 60000);
    ASSERT_EQ(names(live), std::vector<std::string>{"one"});
    EXPECT_EQ(live[0].number, one);
    EXPECT_EQ(live[0].peer_address, "one:8011");
    EXPECT_EQ(live[0].client_address, "one:5222");
    EXPECT_EQ(live[0].web_url, "https://one");
    // "two" restarts (a new incarnation): its lease had lapsed, so it gets its name and number
    // back.
    EXPECT_EQ(s->join_pool(member("two", 3), 60000), two);
    // Its old incarnation can no longer renew.
    EXPECT_THROW(s->renew_lease(member("two", 2), 60000), Conflict);
}

TEST_F(StoreTest, ANameHeldByARunningServerIsRefused) {
    auto s = open();
    s->join_pool(member("one", 1), 60000);
    EXPECT_THROW(s->join_pool(member("one", 2), 60000), Conflict);
    s->leave_pool(member("one", 1));
    EXPECT_NO_THROW(s->join_pool(member("one", 2), 60000));
}

TEST_F(StoreTest, ARoomIsClaimedByOneLiveServerAtATime) {
    auto s = open();
    int64_t room = make_room(*s, "lobby");
    s->join_pool(member("one", 1), 60000);
    s->join_pool(member("two", 2), 60000);
    auto first = s->claim_room(room, "one");
    ASSERT_TRUE(first);
    EXPECT_FALSE(s->claim_room(room, "two"));  // "one" is alive and holds it
    auto again = s->claim_room(room, "one");   // a restart of "one" claims anew
    ASSERT_TRUE(again);
    EXPECT_GT(*again, *first);
    s->release_room(room, "one", *first);  // a stale release changes nothing
    EXPECT_FALSE(s->claim_room(room, "two"));
    s->release_room(room, "one", *again);
    auto taken = s->claim_room(room, "two");
    ASSERT_TRUE(taken);
    EXPECT_GT(*taken, *again);
}

// A server killed and started again under its name: what its former incarnation claimed is
// let go, or a room that hashes to another server now (this one a standby, say) could never
// be claimed there while this one lives; a late commit of the former one is refused.
TEST_F(StoreTest, AServerStartedAgainLetsGoOfWhatItsFormerSelfClaimed) {
    auto s = open();
    int64_t room = make_room(*s, "lobby");
    s->join_pool(member("one", 1), 200);
    s->join_pool(member("two", 2), 60000);
    auto before = s->claim_room(room, "one");
    ASSERT_TRUE(before);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // "one" was killed
    s->join_pool(member("one", 3), 60000);                        // and starts again
    auto taken = s->claim_room(room, "two");
    ASSERT_TRUE(taken) << "the former incarnation's claim still holds the room";
    EXPECT_GT(*taken, *before + 1);  // fenced at the restart, then claimed
}

// A server whose process died: the database session it renewed its lease on ended, and the
// lease is ended at once (PostgreSQL, a pool's database); one whose session lives, or that
// never renewed on a session of its own, keeps its lease. On SQLite the lease is the only rule.
TEST_F(StoreTest, ALeaseEndsAtOnceWhenTheServersDatabaseSessionHasEnded) {
    auto s = open();
    auto one = member("one", 1);
    one.number = s->join_pool(one, 60000);
    s->renew_lease(one, 60000);
    auto other = open();  // "two" on a session of its own
    auto two = member("two", 2);
    two.number = other->join_pool(two, 60000);
    other->renew_lease(two, 60000);
    auto three = member("three", 3);
    three.number = s->join_pool(three, 60000);  // registered, never renewed
    EXPECT_FALSE(s->end_lease_if_gone(two.number)) << "two's session lives";
    EXPECT_FALSE(s->end_lease_if_gone(one.number)) << "one's session lives";
    // Another pool's server, on another database of the same cluster, numbered as "two" is:
    // its lock is not "two"'s.
    PGconn* elsewhere = nullptr;
    if (on_postgres()) {
        elsewhere = PQconnectdb((databases_.server() + " dbname=postgres").c_str());
        ASSERT_EQ(PQstatus(elsewhere), CONNECTION_OK) << PQerrorMessage(elsewhere);
        std::string lock = "SELECT pg_advisory_lock(8011, " + std::to_string(two.number) + ")";
        PQclear(PQexec(elsewhere, lock.c_str()));
    }
    other.reset();  // "two" dies: its connection closes
    // The database lets go of a session's locks as its backend ends: a moment later.
    bool ended = s->end_lease_if_gone(two.number);
    for (int i = 0; i < 40 && !ended && on_postgres(); ++i) {
        ended = s->end_lease_if_gone(two.number);
        if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(ended, on_postgres());
    if (elsewhere) PQfinish(elsewhere);
    EXPECT_FALSE(s->end_lease_if_gone(three.number));
    std::vector<std::string> live{"one", "two", "three"};
    if (on_postgres()) live.erase(live.begin() + 1);
    EXPECT_EQ(names(s->renew_lease(one, 60000)), live);
}

// A server killed and started again at once: until its first renewal (which takes its lock on
// its new session) what its former run recorded does not count against it.
TEST_F(StoreTest, AServerStartedAgainIsNotTakenForItsFormerSelfWhoseSessionEnded) {
    auto s = open();
    auto former = open();
    auto two = member("two", 1);
    two.number = former->join_pool(two, 200);
    former->renew_lease(two, 200);
    former.reset();  // killed
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    auto again = open();
    auto restarted = member("two", 2);
    restarted.number = again->join_pool(restarted, 60000);
    ASSERT_EQ(restarted.number, two.number);
    EXPECT_FALSE(s->end_lease_if_gone(two.number));
    again->renew_lease(restarted, 60000);
    EXPECT_FALSE(s->end_lease_if_gone(two.number)) << "its new session holds the lock";
    EXPECT_EQ(names(again->renew_lease(restarted, 60000)), std::vector<std::string>{"two"});
}

// A server whose lease lapsed while it ran (paused, cut off from the database and the others)
// renews as before when nobody acted on the lapse (the database was out of reach for all of
// them); once the others took it for gone (its occupants left, its rooms moved) it cannot renew
// as if nothing happened, its state no longer the pool's: it starts again, as a new incarnation.
TEST_F(StoreTest, AServerTheOthersTookForGoneCannotRenewItsLease) {
    auto s = open();
    auto one = member("one", 1);
    one.number = s->join_pool(one, 60000);
    auto two = member("two", 2);
    two.number = s->join_pool(two, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // "two" lapsed
    EXPECT_EQ(names(s->renew_lease(two, 200)), (std::vector<std::string>{"one", "two"}));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));  // and again
    ASSERT_EQ(names(s->renew_lease(one, 60000)), std::vector<std::string>{"one"});
    s->mark_gone(two);  // "one" let its occupants leave and took its rooms
    try {
        s->renew_lease(two, 60000);
        ADD_FAILURE() << "renewed after it was taken for gone";
    } catch (const Conflict& e) {
        EXPECT_NE(std::string(e.what()).find("took two for gone while its lease had lapsed"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_EQ(names(s->renew_lease(one, 60000)), std::vector<std::string>{"one"});
    // Started again it is a member as before, under its number; the mark was its former self's.
    auto again = member("two", 3);
    EXPECT_EQ(s->join_pool(again, 60000), two.number);
    EXPECT_EQ(names(s->renew_lease(again, 60000)), (std::vector<std::string>{"one", "two"}));
    s->mark_gone(two);  // a late mark of the former incarnation
    EXPECT_NO_THROW(s->renew_lease(again, 60000));
}

// The same through Membership: a server sees another go, and marks it gone; a server marked
// gone learns it at its next renewal, says so once (on_lost), and renews no more.
TEST_F(StoreTest, AMemberSeenGoneIsMarkedSoAndOneMarkedGoneStops) {
    perch::pool::PoolConfig pc{"a", "h:1", "h:2", "", "secret-secret-secret"};
    pc.lease_ms = 60000;
    pc.renew_ms = 50;
    perch::pool::Membership a(pc);
    std::mutex m;
    std::condition_variable cv;
    std::vector<std::string> lost;
    a.on_lost([&](const std::string& why) {
        std::lock_guard lock(m);
        lost.push_back(why);
        cv.notify_all();
    });
    auto s = open();
    auto b = member("b", 2);
    b.number = s->join_pool(b, 300);
    a.start(open());
    ASSERT_EQ(a.live().size(), 2u);
    // b stops renewing (paused): a sees its lease lapse, and marks it.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (a.live().size() != 1 && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(a.live().size(), 1u);
    EXPECT_THROW(s->renew_lease(b, 300), Conflict) << "b renewed after a took it for gone";
    // Now a is taken for gone (by b, started again, say): it stops at its next renewal.
    s->mark_gone(a.self());
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return !lost.empty(); }));
    EXPECT_NE(lost[0].find("took a for gone"), std::string::npos) << lost[0];
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    lock.lock();
    EXPECT_EQ(lost.size(), 1u);
    lock.unlock();
    a.stop();  // ends at once: its renewal thread has ended
}

TEST_F(StoreTest, TheRoomOfADeadServerIsClaimedByAnother) {
    auto s = open();
    int64_t room = make_room(*s, "lobby");
    s->join_pool(member("one", 1), 200);
    s->join_pool(member("two", 2), 60000);
    ASSERT_TRUE(s->claim_room(room, "one"));
    EXPECT_FALSE(s->claim_room(room, "two"));
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_TRUE(s->claim_room(room, "two"));
}

// Many rooms claimed in one go: those free, not those another live server holds; a room
// whose row a commit holds is waited for, not skipped.
TEST_F(StoreTest, ManyRoomsAreClaimedAtOnceButNotThoseALiveServerHolds) {
    auto s = open();
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b"), c = make_room(*s, "c");
    s->join_pool(member("one", 1), 60000);
    s->join_pool(member("two", 2), 60000);
    auto held = s->claim_room(b, "two");
    auto before = s->claim_room(a, "one");
    ASSERT_TRUE(held && before);
    auto epochs = s->claim_rooms({a, b, c}, "one");
    ASSERT_EQ(epochs.size(), 2u);
    EXPECT_GT(epochs.at(a), *before);  // claimed again: a newer epoch
    EXPECT_EQ(epochs.count(b), 0u);
    EXPECT_FALSE(s->claim_room(c, "two")) << "c was not claimed by one";
    EXPECT_TRUE(s->claim_rooms({}, "one").empty());
    // "two" lets b go: now one takes it, and a commit under b's old epoch is refused.
    s->release_room(b, "two", *held);
    auto again = s->claim_rooms({b}, "one");
    ASSERT_EQ(again.count(b), 1u);
    auto stale = message(b, "stale", 1);
    stale.epoch = *held;
    EXPECT_EQ(s->append_messages({stale}).at(0).seq, 0);

    if (!on_postgres()) return;
    // A commit in flight on c (another connection's transaction holds its row): the claim
    // waits for it and then takes c too.
    auto other = open();
    std::promise<void> locked, release;
    std::thread committer([&] {
        other->with_events({}, [&] {
            other->set_room_subject(c, "busy", "x");
            locked.set_value();
            release.get_future().wait();
        });
    });
    locked.get_future().wait();
    auto claim = std::async(std::launch::async, [&] { return s->claim_rooms({a, c}, "one"); });
    EXPECT_EQ(claim.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
    release.set_value();
    committer.join();
    auto both = claim.get();
    EXPECT_EQ(both.size(), 2u);
    EXPECT_EQ(both.count(c), 1u);
}

TEST_F(StoreTest, ACommitUnderAStaleEpochIsRefusedAndTheRestOfTheBatchStored) {
    auto s = open();
    int64_t lobby = make_room(*s, "lobby");
    int64_t other = make_room(*s, "other");
    s->join_pool(member("one", 1), 60000);
    auto old_epoch = s->claim_room(lobby, "one");
    auto new_epoch = s->claim_room(lobby, "one");
    ASSERT_TRUE(old_epoch && new_epoch);

    auto stale = message(lobby, "stale", 1);
    stale.epoch = *old_epoch;
    auto fresh = message(lobby, "fresh", 2);
    fresh.epoch = *new_epoch;
    auto unfenced = message(other, "single server", 3);
    std::vector<NewMessage> batch{stale, fresh, unfenced};
    auto out = s->append_messages(std::move(batch));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].seq, 0);  // refused
    EXPECT_EQ(out[1].seq, 1);  // no gap left by the refused one
    EXPECT_EQ(out[2].seq, 1);
    auto stored = s->recent_messages(lobby, 10, 0);
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].body, "fresh");

    // Claimed by another server: the first server's commits are refused from then on.
    s->join_pool(member("two", 2), 60000);
    s->release_room(lobby, "one", *new_epoch);
    ASSERT_TRUE(s->claim_room(lobby, "two"));
    auto late = message(lobby, "late", 4);
    late.epoch = *new_epoch;
    std::vector<NewMessage> again{late};
    EXPECT_EQ(s->append_messages(std::move(again))[0].seq, 0);
    EXPECT_EQ(s->count_messages(lobby), 1);
}

TEST_F(StoreTest, AMessageToARoomThatIsGoneIsRefusedAlone) {
    auto s = open();
    int64_t lobby = make_room(*s, "lobby");
    std::vector<NewMessage> batch{message(lobby + 1000, "nowhere", 1), message(lobby, "here", 2)};
    auto out = s->append_messages(std::move(batch));
    EXPECT_EQ(out[0].seq, 0);
    EXPECT_EQ(out[1].seq, 1);
}

// One leader per role among all connections: another takes over when the leader's connection
// ends (PostgreSQL); a single process always leads (SQLite).
TEST_F(StoreTest, OneConnectionLeadsARoleUntilItEnds) {
    auto first = open();
    auto second = open();
    EXPECT_TRUE(first->lead("mover"));
    EXPECT_TRUE(first->lead("mover"));  // asked again: still
    if (!on_postgres()) {
        EXPECT_TRUE(second->lead("mover"));
        return;
    }
    EXPECT_FALSE(second->lead("mover"));
    EXPECT_TRUE(second->lead("another role"));
    first.reset();  // its session ends: the lock goes with it once its backend has exited,
                    // which PostgreSQL does a moment after the connection closes
    bool took = false;
    for (int i = 0; i < 100 && !took; ++i) {
        took = second->lead("mover");
        if (!took) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(took);
    auto third = open();
    EXPECT_FALSE(third->lead("mover"));
}

TEST_F(StoreTest, ChangesFromOutsideAreReadInOrderAfterTheLastSeen) {
    auto s = open();
    EXPECT_EQ(s->last_change(), 0);
    s->note_change("room", "lobby");
    s->note_change("category", "General");
    auto all = s->changes_after(0, 10);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].kind, "room");
    EXPECT_EQ(all[0].name, "lobby");
    EXPECT_EQ(all[1].kind, "category");
    EXPECT_EQ(s->last_change(), all[1].id);
    EXPECT_TRUE(s->changes_after(all[1].id, 10).empty());
    EXPECT_EQ(s->changes_after(all[0].id, 10).size(), 1u);
}

// Active slots: without any every live server is active; with slots only their holders are. A
// standby takes the slot of a holder down long enough, and of two standbys asking, one gets it.
TEST_F(StoreTest, AStandbyTakesTheSlotOfAServerDownLongEnough) {
    auto s = open();
    // a's lease is short, to lapse within the test; long enough that a busy machine (the
    // suites run two at a time) does not let it lapse before the test wants it to.
    constexpr int kShortLease = 1500;
    auto active = [&](const std::string& who) {
        std::vector<std::string> out;
        for (const auto& m : s->renew_lease(member(who, who == "a"   ? 1
                                                        : who == "b" ? 2
                                                                     : 3),
                                            who == "a" ? kShortLease : 60000))
            if (m.active) out.push_back(m.name);
        return out;
    };
    s->join_pool(member("a", 1), kShortLease);
    s->join_pool(member("b", 2), 60000);
    s->join_pool(member("c", 3), 60000);
    EXPECT_EQ(active("b"), (std::vector<std::string>{"a", "b", "c"}));  // no slots yet
    s->sync_slots("chat", {"a", "b", "never"});
    EXPECT_FALSE(s->take_slot("chat", "c", 300));  // "never" never came, but its slot is new
    s->sync_slots("chat", {"a", "b"});
    EXPECT_EQ(active("b"), (std::vector<std::string>{"a", "b"}));
    EXPECT_FALSE(s->take_slot("chat", "c", 0));  // a and b are up
    EXPECT_FALSE(s->take_slot("chat", "b", 0));  // b holds one already
    std::this_thread::sleep_for(std::chrono::milliseconds(kShortLease + 300));  // a's lapses
    EXPECT_FALSE(s->take_slot("chat", "c", 60000));  // not down long enough
    EXPECT_EQ(s->take_slot("chat", "c", 100), std::optional<std::string>("a"));
    EXPECT_FALSE(s->take_slot("chat", "d", 100));  // taken: no second taker
    EXPECT_EQ(active("b"), (std::vector<std::string>{"b", "c"}));
    // By hand, only from the holder seen; a new topology keeps a failover in force.
    EXPECT_FALSE(s->assign_slot("chat", "a", "a", "a"));
    s->sync_slots("chat", {"a", "b"});
    auto slots = s->pool_slots();
    ASSERT_EQ(slots.size(), 2u);
    EXPECT_EQ(slots[0].holder, "c");
    EXPECT_TRUE(s->assign_slot("chat", "a", "c", "a"));
    s->sync_slots("chat", {"b"});  // a is no longer active in the topology: its slot goes
    ASSERT_EQ(s->pool_slots().size(), 1u);
    EXPECT_EQ(s->pool_slots()[0].slot, "b");
    // The active-server list: a slot holder left out of it serves no more.
    s->sync_slots("chat", {"b", "c"});
    EXPECT_EQ(active("b"), (std::vector<std::string>{"b", "c"}));
    s->set_active_list("chat", {"c"});
    EXPECT_EQ(active("b"), (std::vector<std::string>{"c"}));
    EXPECT_EQ(s->active_list("chat"), std::vector<std::string>{"c"});
    s->set_active_list("chat", {});
    EXPECT_EQ(active("b"), (std::vector<std::string>{"b", "c"}));
}
