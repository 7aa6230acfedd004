#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <future>

#include "store/store.hpp"
#include "store/workers.hpp"
#include "store_fixture.hpp"

using namespace perch::store;

TEST_F(StoreTest, UsersAreUniqueAndUpdatable) {
    auto s = open();
    User u;
    u.username = "alice";
    u.scram_sha1 = "x";
    u.scram_sha256 = "y";
    u.id = s->add_user(u);
    EXPECT_THROW(s->add_user(u), Conflict);
    auto found = s->find_user("alice");
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->disabled);
    found->disabled = true;
    s->update_user(*found);
    EXPECT_TRUE(s->find_user("alice")->disabled);
    EXPECT_FALSE(s->find_user("bob"));
    EXPECT_EQ(s->list_users().size(), 1u);
}

TEST_F(StoreTest, PersonalStorageIsSizedButForWhatAWriteReplaces) {
    auto s = open();
    EXPECT_EQ(s->personal_size("ann", {}), 0);
    s->put_pep_item("ann", "urn:xmpp:avatar:data", "a1", std::string(100, 'x'));
    s->put_pep_item("ann", "urn:xmpp:avatar:data", "a2", std::string(50, 'y'));
    s->put_pep_item("ann", "mood", "a1", "<mood/>");
    s->set_private_xml("ann", "storage:bookmarks storage", std::string(30, 'z'));
    s->put_pep_item("bob", "mood", "m", std::string(1000, 'b'));  // another user's
    EXPECT_EQ(s->personal_size("ann", {}), 100 + 50 + 7 + 30);
    EXPECT_EQ(s->personal_size("ann", {"urn:xmpp:avatar:data", "a1", ""}), 50 + 7 + 30);
    EXPECT_EQ(s->personal_size("ann", {"mood", "a1", ""}), 100 + 50 + 30);
    EXPECT_EQ(s->personal_size("ann", {"", "", "storage:bookmarks storage"}), 100 + 50 + 7);
    EXPECT_EQ(s->personal_size("ann", {"mood", "no such item", "no such key"}), 187);
    s->put_pep_item("ann", "urn:xmpp:avatar:data", "a1", "small");  // replaced
    EXPECT_TRUE(s->remove_pep_item("ann", "urn:xmpp:avatar:data", "a2"));
    EXPECT_EQ(s->personal_size("ann", {}), 5 + 7 + 30);
    EXPECT_EQ(s->personal_size("bob", {}), 1000);
}

TEST_F(StoreTest, BulkAddSkipsExistingUsers) {
    auto s = open();
    User u;
    u.username = "bench1";
    u.scram_sha1 = u.scram_sha256 = "x";
    s->add_user(u);
    std::vector<User> many;
    for (int i = 1; i <= 100; ++i) {
        u.username = "bench" + std::to_string(i);
        many.push_back(u);
    }
    EXPECT_EQ(s->add_users(many), 99u);
    EXPECT_EQ(s->list_users().size(), 100u);
}

TEST_F(StoreTest, RoomsBelongToAnExistingCategory) {
    auto s = open();
    Room r;
    r.node = "lobby";
    r.category_id = 42;
    EXPECT_THROW(s->add_room(r), Conflict);
    Category c;
    c.name = "General";
    r.category_id = s->add_category(c);
    EXPECT_THROW(s->add_category(c), Conflict);
    r.id = s->add_room(r);
    EXPECT_EQ(s->find_room("lobby")->name, "lobby");
    EXPECT_THROW(s->add_room(r), Conflict);
    s->set_room_subject(r.id, "Welcome", "admin");
    EXPECT_EQ(s->find_room("lobby")->subject, "Welcome");
}

TEST_F(StoreTest, MessagesGetPerRoomSequenceNumbers) {
    auto s = open();
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b");
    std::vector<NewMessage> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(message(i % 2 ? a : b, "m" + std::to_string(i), i));
    auto stored = s->append_messages(std::move(batch));
    ASSERT_EQ(stored.size(), 5u);
    EXPECT_EQ(stored[0].room_id, b);
    EXPECT_EQ(stored[0].seq, 1);
    EXPECT_EQ(stored[1].seq, 1);  // first of room a
    EXPECT_EQ(stored[2].seq, 2);
    EXPECT_EQ(stored[4].seq, 3);
    auto more = s->append_messages({message(a, "late", 10)});
    EXPECT_EQ(more[0].seq, 3);
    EXPECT_EQ(s->find_room("a")->last_seq, 3);
}

TEST_F(StoreTest, RoomNamesAreUniqueWhateverTheirCase) {
    auto s = open();
    int64_t a = make_room(*s, "a");
    make_room(*s, "b");
    auto b = *s->find_room("b");
    b.name = "A";  // room "a" is named "a"
    EXPECT_THROW(s->update_room(b), Conflict);
    b.name = "Bee";
    s->update_room(b);
    EXPECT_EQ(s->find_room("b")->name, "Bee");
    Room c;
    c.node = "c";
    c.name = "bee";
    c.category_id = s->find_room("a")->category_id;
    EXPECT_THROW(s->add_room(c), Conflict);
    EXPECT_GT(a, 0);
}

TEST_F(StoreTest, ReadMarksCountUnreadAndOnlyMoveForward) {
    auto s = open();
    int64_t room = make_room(*s, "r"), quiet = make_room(*s, "q");
    std::vector<NewMessage> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(message(room, "m" + std::to_string(i), 100 + i));
    s->append_messages(std::move(batch));
    auto activity = s->room_activity("alice", {room, quiet}, 1000);
    ASSERT_EQ(activity.size(), 2u);
    EXPECT_EQ(activity[0].room_id, room);
    EXPECT_EQ(activity[0].read_seq, 0);
    EXPECT_EQ(activity[0].unread, 10);
    ASSERT_TRUE(activity[0].newest);
    EXPECT_EQ(activity[0].newest->body, "m9");
    EXPECT_EQ(activity[1].unread, 0);
    EXPECT_FALSE(activity[1].newest);
    s->mark_read({{"alice", room, 7}});
    s->mark_read({{"alice", room, 4}, {"bob", quiet, 0}});  // older: ignored
    activity = s->room_activity("alice", {room}, 1000);
    EXPECT_EQ(activity[0].read_seq, 7);
    EXPECT_EQ(activity[0].unread, 3);
    EXPECT_EQ(s->room_activity("bob", {room}, 5)[0].unread, 5);  // capped
}

TEST_F(StoreTest, AReadMarkForADeletedRoomDoesNotLoseTheOthersOfItsBatch) {
    auto s = open();
    int64_t room = make_room(*s, "r"), gone = make_room(*s, "g");
    s->append_messages({message(room, "m1", 100), message(room, "m2", 101)});
    s->delete_room(gone);
    s->mark_read({{"alice", gone, 5}, {"alice", room, 1}, {"bob", room, 2}});
    EXPECT_EQ(s->room_activity("alice", {room}, 100)[0].read_seq, 1);
    EXPECT_EQ(s->room_activity("bob", {room}, 100)[0].read_seq, 2);
}

TEST_F(StoreTest, FilesAndTheRoomsTheyWerePostedInto) {
    auto s = open();
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b");
    FileRecord f;
    f.id = "abc";
    f.sha256 = std::string(64, 'f');
    f.size = 42;
    f.content_type = "image/png";
    f.name = "cat.png";
    f.owner = "alice";
    f.created_us = 7;
    s->add_file(f);
    EXPECT_ANY_THROW(s->add_file(f));
    auto found = s->find_file("abc");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->size, 42u);
    EXPECT_EQ(found->name, "cat.png");
    EXPECT_EQ(found->owner, "alice");
    EXPECT_FALSE(s->find_file("nope"));
    EXPECT_TRUE(s->file_rooms("abc").empty());
    s->attach_file("abc", a);
    s->attach_file("abc", a);  // twice: once
    s->attach_file("abc", b);
    auto rooms = s->file_rooms("abc");
    std::sort(rooms.begin(), rooms.end());
    EXPECT_EQ(rooms, (std::vector<int64_t>{a, b}));
}

TEST_F(StoreTest, RetentionPurgesOldMessagesEverywhereAndRecordsIt) {
    StoreConfig with_compliance = config();
    with_compliance.compliance = true;
    auto s = open_store(with_compliance);
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b"), c = make_room(*s, "c");
    s->append_messages({message(a, "old a", 100), message(a, "new a", 5000),
                        message(b, "old b", 200), message(c, "new c", 6000)});
    s->outbox_done(1'000'000);  // forget the CHAT events
    EXPECT_EQ(s->purge_before(1000), 2);
    EXPECT_EQ(s->count_messages(a), 1);
    EXPECT_EQ(s->count_messages(b), 0);
    EXPECT_EQ(s->count_messages(c), 1);
    auto events = s->outbox(10);
    ASSERT_EQ(events.size(), 2u);  // one per room that lost messages
    EXPECT_EQ(events[0].type, "CLEARHISTORY");
    EXPECT_EQ(events[0].room, "a");
    EXPECT_EQ(events[1].room, "b");
    EXPECT_EQ(s->purge_before(1000), 0);
}

TEST_F(StoreTest, EveryStoredMessageIsOneChatEventInOrder) {
    StoreConfig with_compliance = config();
    with_compliance.compliance = true;
    auto s = open_store(with_compliance);
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b");
    std::vector<NewMessage> batch;
    for (int i = 0; i < 10; ++i)
        batch.push_back(message(i % 3 ? a : b, "quote \" and \\ {" + std::to_string(i), i));
    auto stored = s->append_messages(std::move(batch));
    auto events = s->outbox(100);
    ASSERT_EQ(events.size(), 10u);
    for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].type, "CHAT");
        EXPECT_EQ(events[i].room, i % 3 ? "a" : "b");
        EXPECT_EQ(events[i].category, i % 3 ? "cat-a" : "cat-b");
        EXPECT_EQ(events[i].actor, "alice");
        EXPECT_NE(events[i].content.find(stored[i].stanza_id), std::string::npos);
        if (i) {
            EXPECT_GT(events[i].id, events[i - 1].id);
        }
    }
    // Bodies with quotes, backslashes and braces come back as written.
    EXPECT_EQ(s->recent_messages(b, 1, 0).at(0).body, "quote \" and \\ {9");
    EXPECT_EQ(stored[9].seq, 4);
}

TEST_F(StoreTest, RecentMessagesAreTheNewestOldestFirst) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    std::vector<NewMessage> batch;
    for (int i = 0; i < 50; ++i) batch.push_back(message(room, "m" + std::to_string(i), 1000 + i));
    s->append_messages(std::move(batch));
    auto last = s->recent_messages(room, 20, 0);
    ASSERT_EQ(last.size(), 20u);
    EXPECT_EQ(last.front().body, "m30");
    EXPECT_EQ(last.back().body, "m49");
    EXPECT_EQ(s->recent_messages(room, 100, 1045).size(), 5u);
    EXPECT_EQ(s->count_messages(room), 50);
}

// Loading many rooms at once (a pool moving rooms): found by name, then each with its lists
// and newest messages, in one statement per kind of row on PostgreSQL.
TEST_F(StoreTest, ManyRoomsAreReadForServingAtOnce) {
    auto s = open();
    int64_t a = make_room(*s, "a"), b = make_room(*s, "b"), c = make_room(*s, "c");
    s->set_room_principal(a, RoomList::manager, Principal::user("alice"), true);
    s->set_room_principal(a, RoomList::member, Principal::group("staff"), true);
    s->set_room_principal(c, RoomList::denied, Principal::user("mallory"), true);
    std::vector<NewMessage> batch;
    for (int i = 0; i < 5; ++i) batch.push_back(message(a, "a" + std::to_string(i), 1000 + i));
    batch.push_back(message(c, "c0", 2000));
    s->append_messages(std::move(batch));

    auto found = s->find_rooms({"c", "nope", "a", "b"});
    std::vector<std::string> nodes;
    for (const auto& r : found) nodes.push_back(r.node);
    std::sort(nodes.begin(), nodes.end());
    EXPECT_EQ(nodes, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(s->find_rooms({}).empty());

    auto served = s->rooms_to_serve({c, a, 999999, b}, 3);
    ASSERT_EQ(served.size(), 3u);
    std::map<std::string, ServedRoom> by_node;
    for (auto& r : served) by_node[r.room.node] = r;
    ASSERT_EQ(by_node.count("a"), 1u);
    EXPECT_EQ(by_node["a"].room.id, a);
    EXPECT_EQ(by_node["a"].room.last_seq, 5);
    ASSERT_EQ(by_node["a"].recent.size(), 3u);  // the newest three, oldest first
    EXPECT_EQ(by_node["a"].recent[0].body, "a2");
    EXPECT_EQ(by_node["a"].recent[2].body, "a4");
    EXPECT_EQ(by_node["a"].principals, s->room_principals(a));
    EXPECT_EQ(by_node["a"].principals.size(), 2u);
    EXPECT_TRUE(by_node["b"].recent.empty());
    EXPECT_TRUE(by_node["b"].principals.empty());
    ASSERT_EQ(by_node["c"].recent.size(), 1u);
    EXPECT_EQ(by_node["c"].recent[0].body, "c0");
    EXPECT_EQ(by_node["c"].principals, s->room_principals(c));
    // No history asked: the records and lists only.
    auto bare = s->rooms_to_serve({a}, 0);
    ASSERT_EQ(bare.size(), 1u);
    EXPECT_TRUE(bare[0].recent.empty());
    EXPECT_EQ(bare[0].principals.size(), 2u);
}

TEST_F(StoreTest, DuplicateStanzaIdRollsBackTheWholeBatch) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    std::vector<NewMessage> batch{message(room, "one", 1), message(room, "two", 2)};
    batch[1].stanza_id = batch[0].stanza_id;
    EXPECT_ANY_THROW(s->append_messages(std::move(batch)));
    EXPECT_EQ(s->count_messages(room), 0);
    EXPECT_EQ(s->find_room("r")->last_seq, 0);
}

TEST_F(StoreTest, RosterItemsArePerUser) {
    auto s = open();
    s->set_roster_item("alice", {"bob@x", "Bob", "none", {"Friends", "Work"}});
    s->set_roster_item("alice", {"bob@x", "Bobby", "none", {"Friends"}});
    auto r = s->roster("alice");
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].name, "Bobby");
    EXPECT_EQ(r[0].groups, std::vector<std::string>{"Friends"});
    EXPECT_TRUE(s->roster("bob").empty());
    s->remove_roster_item("alice", "bob@x");
    EXPECT_TRUE(s->roster("alice").empty());
}

TEST_F(StoreTest, DataSurvivesReopen) {
    int64_t room;
    {
        auto s = open();
        room = make_room(*s, "r");
        s->append_messages({message(room, "kept", 1)});
    }
    auto s = open();
    EXPECT_EQ(s->recent_messages(room, 10, 0).at(0).body, "kept");
}

// With two threads, slow jobs (searches) run one at a time: a quick job (a join's history)
// gets the other thread even while slow ones are running and queued.
TEST_F(StoreTest, QuickJobsDoNotWaitBehindSlowOnes) {
    StoreWorkers workers(config(), 2);
    std::mutex m;
    std::condition_variable cv;
    bool release = false, quick_done = false;
    int slow_started = 0, slow_done = 0;
    auto slow = [&](Store&) {
        std::unique_lock lock(m);
        ++slow_started;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
        ++slow_done;
        cv.notify_all();
    };
    ASSERT_TRUE(workers.submit(slow, StoreWorkers::Lane::slow));
    ASSERT_TRUE(workers.submit(slow, StoreWorkers::Lane::slow));
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return slow_started == 1; }));
    }
    ASSERT_TRUE(workers.submit([&](Store&) {
        std::lock_guard lock(m);
        quick_done = true;
        cv.notify_all();
    }));
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return quick_done; }));
    EXPECT_EQ(slow_started, 1);  // the second search waits for the first
    release = true;
    cv.notify_all();
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return slow_done == 2; }));
}

// Room loads go ahead of the quick jobs queued before them (logins of a reconnection storm).
TEST_F(StoreTest, RoomLoadsGoAheadOfQueuedQuickJobs) {
    StoreWorkers workers(config(), 1);
    std::mutex m;
    std::condition_variable cv;
    bool started = false, release = false;
    std::vector<std::string> order;
    ASSERT_TRUE(workers.submit([&](Store&) {
        std::unique_lock lock(m);
        started = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    }));
    {
        std::unique_lock lock(m);
        ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return started; }));
    }
    auto note = [&](std::string what) {
        return [&, what](Store&) {
            std::lock_guard lock(m);
            order.push_back(what);
            cv.notify_all();
        };
    };
    ASSERT_TRUE(workers.submit(note("login 1")));
    ASSERT_TRUE(workers.submit(note("search"), StoreWorkers::Lane::slow));
    ASSERT_TRUE(workers.submit(note("login 2")));
    ASSERT_TRUE(workers.submit(note("room load"), StoreWorkers::Lane::first));
    std::unique_lock lock(m);
    release = true;
    cv.notify_all();
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return order.size() == 4; }));
    EXPECT_EQ(order, (std::vector<std::string>{"room load", "login 1", "login 2", "search"}));
}

TEST_F(StoreTest, MessageWriterCommitsInOrderAndReportsSequence) {
    int64_t room;
    {
        auto s = open();
        room = make_room(*s, "r");
    }
    MessageWriter writer(config());
    std::vector<std::promise<int64_t>> seqs(200);
    // The first post's completion holds the writer until the other 199 are queued: they then
    // go in one group commit, two commits in all.
    std::promise<void> first_done, release;
    auto released = release.get_future().share();
    ASSERT_TRUE(writer.submit(message(room, "m0", 0), [&](std::optional<Message> m, std::string) {
        seqs[0].set_value(m ? m->seq : -1);
        first_done.set_value();
        released.wait();
    }));
    first_done.get_future().wait();
    for (int i = 1; i < 200; ++i) {
        ASSERT_TRUE(writer.submit(
            message(room, "m" + std::to_string(i), i),
            [&, i](std::optional<Message> m, std::string) { seqs[i].set_value(m ? m->seq : -1); }));
    }
    release.set_value();
    for (int i = 0; i < 200; ++i) EXPECT_EQ(seqs[i].get_future().get(), i + 1);
    writer.stop();
    auto stats = writer.stats();
    EXPECT_EQ(stats.messages, 200u);
    EXPECT_EQ(stats.commits, 2u);
    EXPECT_EQ(open()->count_messages(room), 200);
}

TEST_F(StoreTest, MessageWriterReportsFailureWithoutLosingLaterPosts) {
    int64_t room;
    {
        auto s = open();
        room = make_room(*s, "r");
    }
    MessageWriter writer(config());
    std::promise<std::string> bad;
    writer.submit(message(9999, "to nowhere", 1),
                  [&](std::optional<Message> m, std::string err) { bad.set_value(m ? "" : err); });
    EXPECT_FALSE(bad.get_future().get().empty());
    std::promise<int64_t> good;
    writer.submit(message(room, "fine", 2),
                  [&](std::optional<Message> m, std::string) { good.set_value(m ? m->seq : -1); });
    EXPECT_EQ(good.get_future().get(), 1);
}

TEST_F(StoreTest, RefusesANewerSchema) {
    { open(); }
    {
        auto s = open();
        (void)s;
    }
    bump_schema_version();
    EXPECT_ANY_THROW(open());
}

// PostgreSQL: a connection the server dropped (restart, failover, idle timeout) is reopened on
// the next call when no transaction was open, prepared statements included.
TEST_F(StoreTest, ReconnectsAfterTheServerDroppedTheConnection) {
    if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    auto s = open();
    User u;
    u.username = "alice";
    u.scram_sha1 = u.scram_sha256 = "x";
    s->add_user(u);
    ASSERT_TRUE(s->find_user("alice"));
    postgres("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                 database_ + "' AND pid <> pg_backend_pid()",
             "postgres");
    EXPECT_TRUE(s->find_user("alice"));
    u.username = "bob";
    EXPECT_GT(s->add_user(u), 0);
}
