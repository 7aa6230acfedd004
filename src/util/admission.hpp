#pragma once
#include <atomic>
#include <cstdint>
#include <memory>

namespace perch::util {

// Work that new clients have started and that has not finished yet (room joins waiting for
// their answer). While it is at its limit the client listeners accept no new connection: a
// reconnection storm (a server of the pool lost, its users all coming back at once) then
// waits in the kernel's backlog, at the door, instead of in the rooms' queues, where it would
// hold up everybody's posts. Counted from any thread.
class Admission {
  public:
    explicit Admission(int64_t limit) : limit_(limit) {}  // 0: no limit

    void started() { pending_.fetch_add(1, std::memory_order_relaxed); }
    void finished() { pending_.fetch_sub(1, std::memory_order_relaxed); }
    int64_t pending() const { return pending_.load(std::memory_order_relaxed); }
    int64_t limit() const { return limit_; }
    bool open() const { return limit_ <= 0 || pending() < limit_; }

    // One piece of pending work: started when made, finished once — when finish() is called
    // or, at the latest, when the ticket is destroyed (a reply dropped without being called
    // must not hold the door shut for good).
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
    std::atomic<int64_t> pending_{0};
    int64_t limit_;
};

}  // namespace perch::util
