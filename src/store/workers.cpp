#include "store/workers.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/thread_name.hpp"

namespace perch::store {

StoreWorkers::StoreWorkers(const StoreConfig& config, int threads, size_t max_queue)
    : slow_limit_(std::max(1, threads - 1)), max_queue_(max_queue) {
    for (int i = 0; i < threads; ++i)
        threads_.emplace_back([this, i, s = open_store(config)]() mutable {
            util::name_this_thread("perch-store-" + std::to_string(i));
            run(std::move(s));
        });
}

StoreWorkers::~StoreWorkers() {
    stop();
}

bool StoreWorkers::submit(Job job, Lane lane) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queued() >= max_queue_) return false;
        auto& queue = lane == Lane::slow ? slow_jobs_ : lane == Lane::first ? first_jobs_ : jobs_;
        queue.push_back({std::move(job), std::chrono::steady_clock::now()});
    }
    // Every waiting thread looks: the one woken might not be allowed a slow job.
    cv_.notify_all();
    return true;
}

void StoreWorkers::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

StoreWorkers::Stats StoreWorkers::stats() {
    std::lock_guard lock(mutex_);
    Stats s = stats_;
    s.queued = queued();
    return s;
}

void StoreWorkers::run(std::unique_ptr<Store> store) {
    using Clock = std::chrono::steady_clock;
    for (;;) {
        Queued next;
        bool slow = false;
        {
            std::unique_lock lock(mutex_);
            auto slow_allowed = [&] { return !slow_jobs_.empty() && slow_running_ < slow_limit_; };
            cv_.wait(lock, [&] {
                return stopping_ || !first_jobs_.empty() || !jobs_.empty() || slow_allowed();
            });
            if (!first_jobs_.empty()) {
                next = std::move(first_jobs_.front());
                first_jobs_.pop_front();
            } else if (!jobs_.empty()) {
                next = std::move(jobs_.front());
                jobs_.pop_front();
            } else if (slow_allowed()) {
                next = std::move(slow_jobs_.front());
                slow_jobs_.pop_front();
                slow = true;
                ++slow_running_;
            } else {
                return;  // stopping; slow jobs left are taken by the thread running one
            }
        }
        auto started = Clock::now();
        try {
            next.job(*store);
        } catch (const std::exception& e) {
            spdlog::error("store job failed: {}", e.what());
        }
        auto ended = Clock::now();
        wait_histogram_.observe(std::chrono::duration<double>(started - next.since).count());
        std::lock_guard lock(mutex_);
        if (slow) {
            --slow_running_;
            cv_.notify_all();  // a thread may now take the next slow job
        }
        ++stats_.jobs;
        stats_.wait_seconds += std::chrono::duration<double>(started - next.since).count();
        stats_.run_seconds += std::chrono::duration<double>(ended - started).count();
    }
}

MessageWriter::MessageWriter(const StoreConfig& config, size_t max_batch, size_t max_queue)
    : max_batch_(max_batch), max_queue_(max_queue), outage_wait_(config.outage_wait_s) {
    thread_ = std::thread([this, s = open_store(config)]() mutable {
        util::name_this_thread("perch-commits");
        run(std::move(s));
    });
}

MessageWriter::~MessageWriter() {
    stop();
}

bool MessageWriter::submit(NewMessage message, Done done) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || queue_.size() >= max_queue_) return false;
        queue_.push_back({std::move(message), std::move(done), std::chrono::steady_clock::now()});
    }
    cv_.notify_one();
    return true;
}

void MessageWriter::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::chrono::steady_clock::time_point MessageWriter::give_up() {
    return outage_since_.value_or(std::chrono::steady_clock::now()) + outage_wait_;
}

MessageWriter::Stats MessageWriter::stats() {
    std::lock_guard lock(mutex_);
    return stats_;
}

void MessageWriter::run(std::unique_ptr<Store> store) {
    std::vector<Pending> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;
            if (queue_.size() <= max_batch_) {
                batch.swap(queue_);
            } else {
                batch.assign(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.begin() + long(max_batch_)));
                queue_.erase(queue_.begin(), queue_.begin() + long(max_batch_));
            }
        }
        std::vector<NewMessage> messages;
        messages.reserve(batch.size());
        for (auto& p : batch) messages.push_back(std::move(p.message));
        try {
            auto started = std::chrono::steady_clock::now();
            auto stored =
                commit_through_outage(*store, messages, give_up(), [&](const std::exception& e) {
                    if (outage_since_) return;
                    outage_since_ = started;
                    spdlog::warn("database unreachable ({}); posts wait up to {} s for it",
                                 e.what(), outage_wait_.count());
                });
            if (outage_since_) {
                spdlog::info(
                    "database reachable again after {:.1f} s; posts stored",
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - *outage_since_)
                        .count());
                outage_since_.reset();
            }
            {
                std::lock_guard lock(mutex_);
                ++stats_.commits;
                stats_.messages += stored.size();
                stats_.commit_seconds +=
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
                        .count();
            }
            for (size_t i = 0; i < batch.size(); ++i) {
                latency_.observe_since(batch[i].since);
                if (stored[i].seq == 0)
                    batch[i].done(std::nullopt, "the room was deleted or is served elsewhere now");
                else
                    batch[i].done(std::move(stored[i]), {});
            }
        } catch (const std::exception& e) {
            // Not committed, as far as the database could tell (an outage longer than the wait
            // leaves that open): every post of the batch is answered with the error.
            spdlog::error("message commit failed ({} messages): {}", batch.size(), e.what());
            for (auto& p : batch) p.done(std::nullopt, e.what());
        }
        batch.clear();
    }
}

}  // namespace perch::store
