#include "util/admission.hpp"

namespace perch::util {

Admission::Admission(int64_t limit, Post post) : limit_(limit), post_(std::move(post)) {}

void Admission::enter(const void* owner, std::function<void(TicketPtr)> work) {
    TicketPtr now;
    {
        std::lock_guard lock(mutex_);
        // In order: behind anything waiting, and behind the owner's own work still being run.
        if (!may_start() || !queue_.empty() || by_owner_.contains(owner)) {
            queue_.push_back({owner, std::move(work), {}});
            waiting_.fetch_add(1, std::memory_order_relaxed);
            if (by_owner_[owner]++ == 0) owners_with_work_.fetch_add(1, std::memory_order_release);
            return;
        }
        now = ticket();
    }
    work(std::move(now));
}

void Admission::follow(const void* owner, std::function<void()> work) {
    if (owners_with_work_.load(std::memory_order_acquire) != 0) {
        std::lock_guard lock(mutex_);
        if (auto it = by_owner_.find(owner); it != by_owner_.end()) {
            queue_.push_back({owner, {}, std::move(work)});
            ++it->second;
            return;
        }
    }
    work();
}

bool Admission::waiting_for(const void* owner) const {
    if (owners_with_work_.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mutex_);
    return by_owner_.contains(owner);
}

bool Admission::front_may_run() const {
    return !queue_.empty() && (!queue_.front().counted || may_start());
}

void Admission::finished() {
    running_.fetch_sub(1, std::memory_order_relaxed);
    drain_if_due();
}

void Admission::release() {
    held_.store(false, std::memory_order_relaxed);
    drain_if_due();
}

void Admission::drain_if_due() {
    {
        std::lock_guard lock(mutex_);
        if (draining_ || !front_may_run()) return;
        draining_ = true;
    }
    if (post_)
        post_([self = shared_from_this()] { self->drain(); });
    else
        drain();
}

void Admission::drain() {
    std::unique_lock lock(mutex_);
    while (front_may_run()) {
        Waiting w = std::move(queue_.front());
        queue_.pop_front();
        TicketPtr t;
        if (w.counted) {
            waiting_.fetch_sub(1, std::memory_order_relaxed);
            t = ticket();
        }
        lock.unlock();
        // The owner's count falls only once its work ran: its next stanza, given meanwhile on
        // its own executor, waits behind this one.
        const void* owner = w.owner;
        if (w.counted)
            w.counted(std::move(t));
        else
            w.plain();
        w = {};  // what the work held goes outside the lock (a ticket in it finishes)
        lock.lock();
        auto it = by_owner_.find(owner);
        if (--it->second == 0) {
            by_owner_.erase(it);
            owners_with_work_.fetch_sub(1, std::memory_order_release);
        }
    }
    draining_ = false;
}

}  // namespace perch::util
