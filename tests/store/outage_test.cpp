// Riding out a database that cannot be reached: what the driver reports, and how the message
// writer makes sure that an interrupted group commit is stored once (commit_through_outage).
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "pool/membership.hpp"
#include "store/postgres/db.hpp"
#include "store/workers.hpp"
#include "store_fixture.hpp"

using namespace perch::store;

namespace {

// A real store whose appends fail as a lost connection does: `lost_before` times before
// anything is sent, then `lost_after` times after the commit went through (the answer lost).
struct FlakyStore {
    Store& store;
    int lost_before = 0, lost_after = 0;
    int appends = 0, lookups = 0;

    std::vector<Message> append_messages(std::vector<NewMessage>&& batch) {
        ++appends;
        if (lost_before > 0) {
            --lost_before;
            throw Unreachable("connection refused");
        }
        auto out = store.append_messages(std::move(batch));
        if (lost_after > 0) {
            --lost_after;
            throw Unreachable("server closed the connection unexpectedly");
        }
        return out;
    }
    std::vector<int64_t> stored_seqs(const std::vector<NewMessage>& batch) {
        ++lookups;
        return store.stored_seqs(batch);
    }
};

auto soon(int ms) {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

TEST_F(StoreTest, StoredSeqsFindsMessagesByTheirStanzaId) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    std::vector<NewMessage> batch{message(room, "a", 1), message(room, "b", 2)};
    s->append_messages(std::vector<NewMessage>(batch));
    batch.insert(batch.begin() + 1, message(room, "never sent", 3));
    EXPECT_EQ(s->stored_seqs(batch), (std::vector<int64_t>{1, 0, 2}));
}

TEST_F(StoreTest, ACommitWhoseAnswerWasLostIsAnsweredFromTheDatabaseNotStoredAgain) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    FlakyStore flaky{*s};
    flaky.lost_after = 1;
    std::vector<NewMessage> batch{message(room, "a", 1), message(room, "b", 2)};
    int told = 0;
    auto stored =
        commit_through_outage(flaky, batch, soon(5000), [&](const std::exception&) { ++told; });
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].seq, 1);
    EXPECT_EQ(stored[1].seq, 2);
    EXPECT_EQ(stored[1].body, "b");
    EXPECT_EQ(told, 1);
    EXPECT_EQ(flaky.appends, 1);  // not sent again
    EXPECT_EQ(s->count_messages(room), 2);
}

TEST_F(StoreTest, ACommitThatNeverReachedTheDatabaseIsSentAgainWhenItAnswers) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    FlakyStore flaky{*s};
    flaky.lost_before = 3;
    std::vector<NewMessage> batch{message(room, "a", 1)};
    auto stored = commit_through_outage(flaky, batch, soon(5000));
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].seq, 1);
    EXPECT_EQ(flaky.appends, 4);
    EXPECT_EQ(flaky.lookups, 3);  // before each new attempt
    EXPECT_EQ(s->count_messages(room), 1);
}

TEST_F(StoreTest, AnOutageLongerThanTheWaitIsReported) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    FlakyStore flaky{*s};
    flaky.lost_before = 1000;
    std::vector<NewMessage> batch{message(room, "a", 1)};
    auto started = std::chrono::steady_clock::now();
    EXPECT_THROW(commit_through_outage(flaky, batch, soon(300)), Unreachable);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_GT(flaky.appends, 1);
    EXPECT_EQ(s->count_messages(room), 0);
    // With no time left, one attempt only.
    flaky.appends = 0;
    EXPECT_THROW(commit_through_outage(flaky, batch, soon(0)), Unreachable);
    EXPECT_EQ(flaky.appends, 1);
}

// Other errors (a refused statement) are not waited out.
TEST_F(StoreTest, CommitThroughOutageLetsOtherErrorsThrough) {
    auto s = open();
    struct Broken {
        int appends = 0;
        std::vector<Message> append_messages(std::vector<NewMessage>&&) {
            ++appends;
            throw std::runtime_error("disk full");
        }
        std::vector<int64_t> stored_seqs(const std::vector<NewMessage>&) { return {}; }
    } broken;
    EXPECT_THROW(commit_through_outage(broken, {message(1, "a", 1)}, soon(5000)),
                 std::runtime_error);
    EXPECT_EQ(broken.appends, 1);
}

// PostgreSQL: a connection dropped inside a transaction is reported as Unreachable (the
// transaction is gone); the next call has a connection again.
TEST_F(StoreTest, AConnectionLostInsideATransactionIsReportedAsUnreachable) {
    if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    { open(); }  // the schema
    postgres::Connection c(config().url);
    c.begin();
    c.exec("SELECT 1");
    postgres("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                 database_ + "' AND pid <> pg_backend_pid()",
             "postgres");
    EXPECT_THROW(c.exec("SELECT 2"), Unreachable);
    EXPECT_FALSE(c.in_transaction());
    c.exec("SELECT 3");
}

// PostgreSQL: with no server to take the connection, every call reports it (and tries again).
TEST_F(StoreTest, AServerThatIsGoneIsReportedAsUnreachable) {
    if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    { open(); }
    // To the driver a database that refuses connections is a server that is gone.
    postgres::Connection c(config().url);
    postgres("ALTER DATABASE \"" + database_ + "\" WITH ALLOW_CONNECTIONS false", "postgres");
    postgres("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                 database_ + "' AND pid <> pg_backend_pid()",
             "postgres");
    EXPECT_THROW(c.exec("SELECT 1"), Unreachable);
    EXPECT_THROW(c.exec("SELECT 1"), Unreachable);
    postgres("ALTER DATABASE \"" + database_ + "\" WITH ALLOW_CONNECTIONS true", "postgres");
    c.exec("SELECT 1");
}

// PostgreSQL: a database cut off by the network (packets dropped, nothing reset) is noticed
// within seconds, not after the system's TCP timeouts (two hours for a wait on an idle
// connection): connections have a connect timeout, keepalives and a TCP user timeout,
// unless the url says otherwise (key=value or URI).
TEST_F(StoreTest, AConnectionNoticesADeadNetworkInSecondsUnlessTheUrlSaysOtherwise) {
    if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    { open(); }
    postgres::Connection c(config().url);
    EXPECT_EQ(c.option("connect_timeout"), "10");
    EXPECT_EQ(c.option("keepalives"), "1");
    EXPECT_EQ(c.option("keepalives_idle"), "10");
    EXPECT_EQ(c.option("keepalives_interval"), "3");
    EXPECT_EQ(c.option("keepalives_count"), "3");
    EXPECT_EQ(c.option("tcp_user_timeout"), "15000");
    postgres::Connection mine(config().url + " keepalives_idle=30 connect_timeout=4");
    EXPECT_EQ(mine.option("keepalives_idle"), "30");
    EXPECT_EQ(mine.option("connect_timeout"), "4");
    EXPECT_EQ(mine.option("tcp_user_timeout"), "15000");
    std::string uri = "postgresql://" + c.option("user") + "@" + c.option("host") + ":" +
                      c.option("port") + "/" + c.option("dbname") + "?tcp_user_timeout=2500";
    postgres::Connection by_uri(uri);
    EXPECT_EQ(by_uri.option("tcp_user_timeout"), "2500");
    EXPECT_EQ(by_uri.option("keepalives_count"), "3");
    by_uri.exec("SELECT 1");
}

// PostgreSQL: after the database was out of reach longer than a lease, every lease has lapsed;
// the first server to renew must not take the others for down before they had the time to
// renew theirs (their rooms would move and their occupants leave, for nothing).
TEST_F(StoreTest, AfterAnOutageLeasesSettleBeforeAnybodyIsTakenForDown) {
    if (!on_postgres()) GTEST_SKIP() << "PostgreSQL only";
    auto other = open();
    PoolMember b{0, "b", "h:3", "h:4", 7, "", true};
    b.number = other->join_pool(b, 1000);
    auto keep_b_alive = [&](std::chrono::milliseconds how_long) {
        auto until = std::chrono::steady_clock::now() + how_long;
        while (std::chrono::steady_clock::now() < until) {
            other->renew_lease(b, 1000);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    };
    perch::pool::PoolConfig pc{"a", "h:1", "h:2", "", "secret-secret-secret"};
    pc.lease_ms = 1000;
    pc.renew_ms = 100;
    perch::pool::Membership a(pc);
    std::mutex m;
    std::vector<size_t> sizes;  // how many were live at each change a saw
    a.on_change([&](const auto&, const auto& now) {
        std::lock_guard lock(m);
        sizes.push_back(now.size());
    });
    a.start(open());
    keep_b_alive(std::chrono::milliseconds(500));
    ASSERT_EQ(a.live().size(), 2u);
    {
        std::lock_guard lock(m);
        sizes.clear();
    }
    // The database goes away for longer than a lease, then comes back.
    postgres("ALTER DATABASE \"" + database_ + "\" WITH ALLOW_CONNECTIONS false", "postgres");
    postgres("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                 database_ + "' AND pid <> pg_backend_pid()",
             "postgres");
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    postgres("ALTER DATABASE \"" + database_ + "\" WITH ALLOW_CONNECTIONS true", "postgres");
    // a renews first (every 100 ms); b a moment later, as a server with its own timer would.
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    keep_b_alive(std::chrono::milliseconds(1500));
    EXPECT_EQ(a.live().size(), 2u);
    std::lock_guard lock(m);
    for (size_t n : sizes) EXPECT_EQ(n, 2u) << "a took b for down";
}
