// One-to-one messages, blocking lists and vCards in the content database, on SQLite and (with
// PERCH_TEST_PG_FILE) PostgreSQL.
#include "store/store.hpp"
#include "store_fixture.hpp"

using namespace perch;

namespace {

class DirectTest : public StoreTest {
  protected:
    // Alice's copy and Bob's of one message from alice to bob.
    static std::vector<store::DirectMessage> exchange(const std::string& id, int64_t ts,
                                                      const std::string& body,
                                                      bool bob_offline = false) {
        store::DirectMessage sent;
        sent.owner = "alice";
        sent.peer = "bob@example.org";
        sent.outgoing = true;
        sent.stanza_id = id;
        sent.ts_us = ts;
        sent.body = body;
        sent.stanza = "<message xmlns='jabber:client'><body>" + body + "</body></message>";
        auto received = sent;
        received.owner = "bob";
        received.peer = "alice@example.org";
        received.outgoing = false;
        received.pending = bob_offline;
        return {sent, received};
    }
    static std::vector<std::string> ids(const std::vector<store::DirectMessage>& ms) {
        std::vector<std::string> out;
        for (const auto& m : ms) out.push_back(m.stanza_id);
        return out;
    }
};

}  // namespace

TEST_F(DirectTest, PendingMessagesAreTakenOnceInOrderAndStayArchived) {
    auto s = open();
    s->add_direct(exchange("m1", 1000, "one", true), {});
    s->add_direct(exchange("m2", 2000, "two", true), {});
    auto unarchived = exchange("m3", 3000, "three", true);
    unarchived[1].archived = false;  // bob keeps no archive of it (a hint, or his preferences)
    s->add_direct(unarchived, {});
    EXPECT_EQ(s->count_pending("bob"), 3);
    EXPECT_EQ(s->count_pending("alice"), 0);

    auto first = s->take_pending("bob", 2);
    EXPECT_EQ(ids(first), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(first[0].body, "one");
    EXPECT_EQ(first[0].peer, "alice@example.org");
    EXPECT_FALSE(first[0].outgoing);
    auto rest = s->take_pending("bob", 10);
    EXPECT_EQ(ids(rest), std::vector<std::string>{"m3"});
    EXPECT_TRUE(s->take_pending("bob", 10).empty());

    // Delivered, m1 and m2 stay in bob's archive; m3, never archived, is gone.
    store::ArchiveQuery q;
    auto page = s->query_direct("bob", q);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_FALSE(page.messages[0].pending);
    // Alice's own archive has all three, outgoing.
    page = s->query_direct("alice", q);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_TRUE(page.messages[0].outgoing);
    EXPECT_EQ(s->direct_in_order(0, 100).size(), 5u);
}

// XEP-0198: messages delivered to a session that went away without acknowledging them wait
// again: an archived copy becomes pending (once, not twice in the archive), a copy that was
// never archived is stored again as pending; delivered again in their order.
TEST_F(DirectTest, MessagesNeverAcknowledgedWaitAgain) {
    auto s = open();
    s->add_direct(exchange("m1", 1000, "one"), {});
    auto unarchived = exchange("m2", 2000, "two", true);
    unarchived[1].archived = false;
    s->add_direct(unarchived, {});
    auto taken = s->take_pending("bob", 10);  // m2 goes to bob's session, then from the store
    ASSERT_EQ(ids(taken), std::vector<std::string>{"m2"});
    EXPECT_EQ(s->count_pending("bob"), 0);

    auto m1 = exchange("m1", 1000, "one")[1];
    s->keep_undelivered({taken[0], m1});
    EXPECT_EQ(ids(s->take_pending("bob", 10)), (std::vector<std::string>{"m1", "m2"}));
    store::ArchiveQuery q;
    q.max = 10;
    EXPECT_EQ(ids(s->query_direct("bob", q).messages), std::vector<std::string>{"m1"});
    EXPECT_EQ(ids(s->query_direct("alice", q).messages), (std::vector<std::string>{"m1", "m2"}));
}

TEST_F(DirectTest, TheArchivePagesBothWaysAndFiltersByCorrespondentAndTime) {
    auto s = open();
    store::DirectMessage other;
    other.owner = "alice";
    other.peer = "carl@example.org";
    other.stanza_id = "c0";
    other.ts_us = 500;
    other.stanza = "<message/>";
    for (int i = 0; i < 7; ++i) s->add_direct(exchange("a" + std::to_string(i), 1000 * i, "x"), {});
    // Stored last but routed second (its sender's write was slower): pages go by the time
    // messages were routed, so a reply never comes before what it answers.
    s->add_direct({other}, {});

    store::ArchiveQuery q;
    q.max = 3;
    auto page = s->query_direct("alice", q);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"a0", "c0", "a1"}));
    EXPECT_FALSE(page.complete);
    EXPECT_EQ(page.count, 8);
    EXPECT_EQ(page.first_index, 0);
    q.after_id = "a1";
    page = s->query_direct("alice", q);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"a2", "a3", "a4"}));
    EXPECT_EQ(page.first_index, 3);

    store::ArchiveQuery back;
    back.max = 3;
    back.last_page = true;
    page = s->query_direct("alice", back);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"a4", "a5", "a6"}));
    EXPECT_FALSE(page.complete);
    back.last_page = false;
    back.before_id = "a1";
    page = s->query_direct("alice", back);
    EXPECT_EQ(ids(page.messages), (std::vector<std::string>{"a0", "c0"}));
    EXPECT_TRUE(page.complete);

    store::ArchiveQuery with;
    with.with_sender = "carl@example.org";
    EXPECT_EQ(ids(s->query_direct("alice", with).messages), std::vector<std::string>{"c0"});
    store::ArchiveQuery window;
    window.start_us = 2000;
    window.end_us = 3000;
    EXPECT_EQ(ids(s->query_direct("alice", window).messages),
              (std::vector<std::string>{"a2", "a3"}));
    store::ArchiveQuery unknown;
    unknown.after_id = "a1";
    EXPECT_THROW(s->query_direct("carl", unknown), store::UnknownId);  // not carl's message
}

TEST_F(DirectTest, RetentionKeepsWhatStillWaitsForItsOwner) {
    auto s = open();
    s->add_direct(exchange("old", 1000, "old", true), {});
    s->add_direct(exchange("new", 9000, "new"), {});
    s->purge_before(5000);
    store::ArchiveQuery q;
    EXPECT_EQ(ids(s->query_direct("alice", q).messages), std::vector<std::string>{"new"});
    EXPECT_EQ(ids(s->take_pending("bob", 10)), std::vector<std::string>{"old"});
}

TEST_F(DirectTest, CopiesCarryTheirComplianceEventsWhenCaptureIsOn) {
    auto c = config();
    c.compliance = true;
    auto s = store::open_store(c);
    s->add_direct(exchange("m1", 1000, "hello"),
                  {store::make_event("CHAT", "alice", {}, {}, {{"to", "bob@example.org"}})});
    auto events = s->outbox(10);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].type, "CHAT");
    EXPECT_EQ(events[0].actor, "alice");
}

TEST_F(DirectTest, BlockingListsAndVcards) {
    auto s = open();
    s->set_blocked("alice", {"bob@example.org", "spam.example"}, true);
    s->set_blocked("alice", {"bob@example.org"}, true);  // twice is once
    EXPECT_EQ(s->blocked("alice"), (std::vector<std::string>{"bob@example.org", "spam.example"}));
    EXPECT_TRUE(s->blocked("bob").empty());
    s->set_blocked("carl", {"alice@example.org"}, true);
    EXPECT_EQ(s->all_blocked(),
              (std::vector<std::pair<std::string, std::string>>{{"alice", "bob@example.org"},
                                                                {"alice", "spam.example"},
                                                                {"carl", "alice@example.org"}}));
    s->set_blocked("alice", {"bob@example.org"}, false);
    EXPECT_EQ(s->blocked("alice"), std::vector<std::string>{"spam.example"});
    s->unblock_all("alice");
    EXPECT_TRUE(s->blocked("alice").empty());

    EXPECT_FALSE(s->vcard("alice"));
    s->set_vcard("alice", "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
    s->set_vcard("alice", "<vCard xmlns='vcard-temp'><FN>Alice A.</FN></vCard>");
    EXPECT_EQ(s->vcard("alice"), "<vCard xmlns='vcard-temp'><FN>Alice A.</FN></vCard>");
}
