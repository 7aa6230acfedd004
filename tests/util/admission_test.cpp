// Room joins under way at most up to a limit, the others waiting in order, and the door of the
// client listeners shut meanwhile.
#include "util/admission.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using perch::util::Admission;

TEST(Admission, ClosesAtItsLimitAndOpensWhenWorkFinishes) {
    Admission a(2);
    a.started();
    EXPECT_TRUE(a.open());
    a.started();
    EXPECT_FALSE(a.open());
    a.finished();
    EXPECT_TRUE(a.open());
    EXPECT_TRUE(Admission(0).open());  // no limit
}

// A ticket finishes its work once, whether its reply was called, dropped without a call, or
// both: a join whose answer never comes does not hold the door shut for good.
TEST(Admission, ATicketFinishesOnceWhenCalledOrDropped) {
    auto a = std::make_shared<Admission>(1);
    {
        auto ticket = std::make_shared<Admission::Ticket>(a);
        EXPECT_EQ(a->pending(), 1);
        ticket->finish();
        EXPECT_EQ(a->pending(), 0);
        ticket->finish();
    }
    EXPECT_EQ(a->pending(), 0);
    std::function<void()> reply;
    {
        auto ticket = std::make_shared<Admission::Ticket>(a);
        reply = [ticket] { ticket->finish(); };
    }
    EXPECT_FALSE(a->open());
    reply = nullptr;  // dropped without being called
    EXPECT_EQ(a->pending(), 0);
    EXPECT_TRUE(a->open());
}

namespace {

// Work let in later is posted here, and run when the test says.
struct Posted {
    std::deque<std::function<void()>> queue;
    Admission::Post post() {
        return [this](std::function<void()> f) { queue.push_back(std::move(f)); };
    }
    void run() {
        while (!queue.empty()) {
            auto f = std::move(queue.front());
            queue.pop_front();
            f();
        }
    }
};

}  // namespace

namespace {

// A session's joins: what ran, in order, each keeping its ticket until the test answers it.
struct Joins {
    std::vector<std::string> ran;
    std::vector<Admission::TicketPtr> tickets;
    std::function<void(Admission::TicketPtr)> join(const std::string& what) {
        return [this, what](Admission::TicketPtr t) {
            ran.push_back(what);
            tickets.push_back(std::move(t));
        };
    }
    std::function<void()> other(const std::string& what) {
        return [this, what] { ran.push_back(what); };
    }
};

}  // namespace

TEST(Admission, JoinsBeyondTheLimitWaitInOrderAndRunAsEarlierOnesFinish) {
    Posted posted;
    auto a = std::make_shared<Admission>(2, posted.post());
    Joins j;
    int alice = 0, bob = 0, carol = 0, dave = 0;
    a->enter(&alice, j.join("alice"));
    a->enter(&bob, j.join("bob"));
    EXPECT_EQ(j.ran.size(), 2u);  // under the limit: at once, on the caller's thread
    EXPECT_FALSE(a->open());
    a->enter(&carol, j.join("carol"));
    a->enter(&dave, j.join("dave"));
    EXPECT_EQ(j.ran.size(), 2u);
    EXPECT_EQ(a->running(), 2);
    EXPECT_EQ(a->waiting(), 2);
    EXPECT_EQ(a->pending(), 4);
    EXPECT_TRUE(a->waiting_for(&carol));
    EXPECT_FALSE(a->waiting_for(&alice));

    j.tickets[0]->finish();  // alice's join answered: carol's is let in, through the post
    EXPECT_EQ(j.ran.size(), 2u);
    posted.run();
    ASSERT_EQ(j.ran.size(), 3u);
    EXPECT_EQ(j.ran[2], "carol");
    EXPECT_FALSE(a->waiting_for(&carol));
    EXPECT_FALSE(a->open());  // two under way, one waiting
    j.tickets[1].reset();     // bob's reply dropped without being called: finished too
    posted.run();
    ASSERT_EQ(j.ran.size(), 4u);
    EXPECT_EQ(j.ran[3], "dave");
    EXPECT_EQ(a->waiting(), 0);
    EXPECT_EQ(a->running(), 2);
    j.tickets.clear();
    posted.run();
    EXPECT_EQ(a->pending(), 0);
    EXPECT_TRUE(a->open());
}

// While a pool's rooms move (held), joins wait whatever the limit, the door is shut, and the
// waiting joins go in order once released; a session's other stanzas wait behind its join.
TEST(Admission, WhileHeldJoinsWaitAndTheDoorIsShut) {
    for (int64_t limit : {0, 3}) {
        Posted posted;
        auto a = std::make_shared<Admission>(limit, posted.post());
        Joins j;
        int alice = 0, bob = 0;
        a->hold();
        EXPECT_FALSE(a->open());
        a->enter(&alice, j.join("alice joins r1"));
        a->follow(&alice, j.other("alice posts to r1"));
        a->follow(&bob, j.other("bob posts to r2"));  // nothing of his waits: at once
        a->enter(&bob, j.join("bob joins r3"));
        EXPECT_EQ(j.ran, std::vector<std::string>{"bob posts to r2"});
        EXPECT_EQ(a->waiting(), 2);
        posted.run();
        EXPECT_EQ(j.ran.size(), 1u) << "ran while held";
        a->release();
        posted.run();
        EXPECT_EQ(j.ran, (std::vector<std::string>{"bob posts to r2", "alice joins r1",
                                                   "alice posts to r1", "bob joins r3"}));
        EXPECT_TRUE(a->open() || limit > 0);
        j.tickets.clear();
        posted.run();
        EXPECT_TRUE(a->open());
        EXPECT_EQ(a->pending(), 0);
    }
}

// A session whose join waits sends its other room stanzas after it (a post to the room it is
// joining must not overtake the join); anybody else's go at once, ahead of the waiting joins.
TEST(Admission, AnOwnersOtherWorkFollowsItsWaitingJoinAndOthersGoAhead) {
    Posted posted;
    auto a = std::make_shared<Admission>(1, posted.post());
    Joins j;
    int alice = 0, bob = 0;
    a->enter(&alice, j.join("alice joins r1"));
    a->enter(&bob, j.join("bob joins r2"));  // waits
    a->follow(&bob, j.other("bob posts to r2"));
    a->follow(&alice, j.other("alice posts to r1"));  // nothing of hers waits: at once
    a->enter(&bob, j.join("bob joins r3"));
    a->follow(&bob, j.other("bob leaves r3"));
    EXPECT_EQ(j.ran, (std::vector<std::string>{"alice joins r1", "alice posts to r1"}));

    j.tickets[0]->finish();
    posted.run();
    // bob's join is let in; his post follows it at once; his next join waits for the limit.
    EXPECT_EQ(j.ran, (std::vector<std::string>{"alice joins r1", "alice posts to r1",
                                               "bob joins r2", "bob posts to r2"}));
    EXPECT_TRUE(a->waiting_for(&bob));
    j.tickets[1]->finish();
    posted.run();
    EXPECT_EQ(j.ran.back(), "bob leaves r3");
    EXPECT_EQ(j.ran[j.ran.size() - 2], "bob joins r3");
    EXPECT_FALSE(a->waiting_for(&bob));
    a->follow(&bob, j.other("bob posts again"));
    EXPECT_EQ(j.ran.back(), "bob posts again");
}

// Work let in later runs through the post, one piece after another, however many tickets
// finish meanwhile; without a limit nothing ever waits.
TEST(Admission, OneDrainAtATimeAndNoLimitNeverWaits) {
    Posted posted;
    auto a = std::make_shared<Admission>(2, posted.post());
    Joins j;
    int owners[6] = {};
    for (auto& o : owners) a->enter(&o, j.join("join"));
    j.tickets[0]->finish();
    j.tickets[1]->finish();
    EXPECT_EQ(posted.queue.size(), 1u);  // one drain for both
    posted.run();
    EXPECT_EQ(j.ran.size(), 4u);
    EXPECT_EQ(a->running(), 2);

    auto unlimited = std::make_shared<Admission>(0, posted.post());
    Joins u;
    for (auto& o : owners) unlimited->enter(&o, u.join("join"));
    EXPECT_EQ(u.ran.size(), 6u);
    EXPECT_TRUE(unlimited->open());
    EXPECT_TRUE(posted.queue.empty());
}

namespace {

// A queue of work run by its own threads (the I/O threads that run drains, the rooms that
// answer joins).
class Workers {
  public:
    explicit Workers(int n) {
        for (int i = 0; i < n; ++i) threads_.emplace_back([this] { loop(); });
    }
    ~Workers() { stop(); }
    void post(std::function<void()> f) {
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(f));
        }
        cv_.notify_one();
    }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            if (t.joinable()) t.join();
    }

  private:
    void loop() {
        for (;;) {
            std::function<void()> f;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                f = std::move(queue_.front());
                queue_.pop_front();
            }
            f();
        }
    }
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace

// Sessions on four threads give joins and other stanzas at once while the rooms (two threads)
// answer the joins and the drains run on an I/O thread: each session's work runs in the order
// given, never more than the limit under way, and nothing is left over. (Run under
// ThreadSanitizer by the CI's sanitizer runs.)
TEST(Admission, ManyThreadsKeepEachOwnersOrderAndTheLimit) {
    constexpr int kOwners = 4, kEach = 300, kLimit = 3;
    Workers io(1), rooms(2);
    auto a = std::make_shared<Admission>(kLimit, [&](std::function<void()> f) { io.post(f); });
    struct Log {
        std::mutex mutex;
        std::vector<int> ran;
    };
    std::vector<Log> logs(kOwners);
    std::atomic<int64_t> most_running{0}, done{0};
    std::vector<std::thread> sessions;
    for (int o = 0; o < kOwners; ++o)
        sessions.emplace_back([&, o] {
            for (int i = 0; i < kEach; ++i) {
                auto note = [&, o, i] {
                    std::lock_guard lock(logs[size_t(o)].mutex);
                    logs[size_t(o)].ran.push_back(i);
                };
                if (i % 3 == 0) {
                    a->follow(&logs[size_t(o)], [note, &done] {
                        note();
                        ++done;
                    });
                } else {
                    a->enter(&logs[size_t(o)], [&, note](Admission::TicketPtr t) {
                        note();
                        int64_t now = a->running();
                        int64_t seen = most_running.load();
                        while (now > seen && !most_running.compare_exchange_weak(seen, now)) {
                        }
                        rooms.post([t, &done] {
                            t->finish();
                            ++done;
                        });
                    });
                }
            }
        });
    for (auto& t : sessions) t.join();
    for (int spins = 0; done.load() < kOwners * kEach && spins < 2000; ++spins)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    rooms.stop();
    io.stop();
    EXPECT_EQ(done.load(), kOwners * kEach);
    EXPECT_LE(most_running.load(), kLimit);
    EXPECT_EQ(a->running(), 0);
    EXPECT_EQ(a->waiting(), 0);
    for (auto& log : logs) {
        std::lock_guard lock(log.mutex);
        ASSERT_EQ(log.ran.size(), size_t(kEach));
        EXPECT_TRUE(std::is_sorted(log.ran.begin(), log.ran.end()));
    }
}
