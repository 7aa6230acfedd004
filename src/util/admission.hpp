#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace perch::util {

// Room joins of this server's clients, at most `limit` under way at once; the others wait
// here, in order of arrival, costing memory only. A reconnection storm (a pool's server lost,
// its users all coming back at once) then joins at the rate the rooms can take, and the posts
// of everybody else never queue behind it in the rooms. While anything waits, or the limit is
// reached, the door is shut too: the client listeners accept no new connection (it waits in
// the kernel's backlog). Used from any thread.
//
// Work belongs to an owner (a session): an owner's work runs in the order it was given. Work
// let in later runs through `post` (on one of the server's executors), one piece after
// another.
class Admission : public std::enable_shared_from_this<Admission> {
  public:
    class Ticket;
    using TicketPtr = std::shared_ptr<Ticket>;
    using Post = std::function<void(std::function<void()>)>;

    // limit 0: no limit (nothing ever waits). No `post`: work let in later runs on the thread
    // that finished the work before it.
    explicit Admission(int64_t limit, Post post = {});

    // Counted work (a join) of `owner`: runs now, on the caller's thread, with its ticket, if
    // fewer than the limit are under way and nothing waits; else waits its turn. The work is
    // under way until its ticket finishes.
    void enter(const void* owner, std::function<void(TicketPtr)> work);
    // Work of `owner` that is not counted (its other stanzas to rooms): runs now, unless work
    // of the same owner waits; then right after that work.
    void follow(const void* owner, std::function<void()> work);
    // Whether work of `owner` waits. Exact when asked from where the owner's work is given
    // (its own executor): false means all of it ran.
    bool waiting_for(const void* owner) const;

    int64_t running() const { return running_.load(std::memory_order_relaxed); }
    int64_t waiting() const { return waiting_.load(std::memory_order_relaxed); }
    int64_t pending() const { return running() + waiting(); }
    int64_t limit() const { return limit_; }
    // The door: open while fewer than the limit are under way or waiting, and not held.
    bool open() const { return !held() && (limit_ <= 0 || pending() < limit_); }

    // A pool's rooms moving between servers go first: while held, no counted work starts (it
    // waits, in order, whatever the limit) and the door is shut; release() lets it in.
    void hold() { held_.store(true, std::memory_order_relaxed); }
    void release();
    bool held() const { return held_.load(std::memory_order_relaxed); }

    // Counted work started and finished outside enter() (a ticket does both).
    void started() { running_.fetch_add(1, std::memory_order_relaxed); }
    void finished();

    // One piece of work under way: finished once — when finish() is called or, at the latest,
    // when the ticket is destroyed (a reply dropped without being called must not keep it
    // under way for good).
    class Ticket {
      public:
        explicit Ticket(std::shared_ptr<Admission> admission) : admission_(std::move(admission)) {
            admission_->started();
        }
        Ticket(const Ticket&) = delete;
        Ticket& operator=(const Ticket&) = delete;
        ~Ticket() { finish(); }
        void finish() {
            if (!done_.exchange(true)) admission_->finished();
        }

      private:
        std::shared_ptr<Admission> admission_;
        std::atomic<bool> done_{false};
    };

  private:
    struct Waiting {
        const void* owner;
        std::function<void(TicketPtr)> counted;  // set for counted work
        std::function<void()> plain;             // else this
    };
    // Runs what may run now, one piece after another; only one thread at a time drains.
    void drain();
    // Starts a drain (through `post`) if the first waiting work may run and none is under way.
    void drain_if_due();
    // Whether counted work may start now, beside the work under way.
    bool may_start() const { return !held() && (limit_ <= 0 || running() < limit_); }
    // Whether the first waiting work may run now; under the lock.
    bool front_may_run() const;
    // A ticket for work let in; under the lock (it counts the work as under way).
    TicketPtr ticket() { return std::make_shared<Ticket>(shared_from_this()); }

    const int64_t limit_;
    Post post_;
    std::atomic<int64_t> running_{0};
    std::atomic<bool> held_{false};
    std::atomic<int64_t> waiting_{0};           // counted work waiting
    std::atomic<int64_t> owners_with_work_{0};  // size of by_owner_, read without the lock
    mutable std::mutex mutex_;
    std::deque<Waiting> queue_;
    // Per owner, its work waiting or being run by the drain.
    std::unordered_map<const void*, int64_t> by_owner_;
    bool draining_ = false;
};

}  // namespace perch::util
