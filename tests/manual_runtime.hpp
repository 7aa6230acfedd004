#pragma once
// The server's executors, store threads and group-commit writer, replaced for tests of the
// middle by one queue that the test drains on its own thread: everything runs in the order it
// was posted, deterministically, with no sockets and no threads.
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "store/store.hpp"
#include "store/workers.hpp"
#include "util/executor.hpp"

namespace perch::manual {

class Loop {
  public:
    void post(std::function<void()> work) { queue_.push_back(std::move(work)); }
    // Runs everything posted, including what that posts, until nothing is left.
    size_t drain() {
        size_t ran = 0;
        while (!queue_.empty()) {
            auto work = std::move(queue_.front());
            queue_.pop_front();
            work();
            ++ran;
        }
        return ran;
    }
    bool idle() const { return queue_.empty(); }

  private:
    std::deque<std::function<void()>> queue_;
};

// A strand of the loop: `running_here()` holds while its own work runs.
class Executor final : public util::Executor {
  public:
    explicit Executor(Loop& loop) : loop_(loop) {}
    void post(std::function<void()> work) override {
        loop_.post([this, work = std::move(work)] {
            bool outer = running_;
            running_ = true;
            work();
            running_ = outer;
        });
    }
    bool running_here() const override { return running_; }

  private:
    Loop& loop_;
    bool running_ = false;
};

// Store work and message commits on the loop, against one store. `refuse` makes submit()
// answer "queue full"; `lose_answers` stores a message and answers its commit with an error
// (the database's answer lost: a connection dropped during the commit).
class Store final : public store::StoreJobs, public store::MessageCommits {
  public:
    Store(Loop& loop, store::Store& store) : loop_(loop), store_(store) {}
    bool refuse = false;
    bool lose_answers = false;

    bool submit(Job job, Lane) override {
        if (refuse) return false;
        loop_.post([this, job = std::move(job)] {
            try {
                job(store_);
            } catch (const std::exception&) {
                // as StoreWorkers does: a job's own failure is its business
            }
        });
        return true;
    }
    bool submit(store::NewMessage message, Done done) override {
        if (refuse) return false;
        loop_.post([this, message = std::move(message), done = std::move(done)]() mutable {
            std::vector<store::NewMessage> batch{std::move(message)};
            try {
                auto stored = store_.append_messages(std::move(batch));
                if (stored.front().seq == 0)  // refused, as store::MessageWriter reports it
                    done(std::nullopt, "the room was deleted or is served elsewhere now");
                else if (lose_answers)
                    done(std::nullopt, "server closed the connection unexpectedly");
                else
                    done(std::move(stored.front()), {});
            } catch (const std::exception& e) {
                done(std::nullopt, e.what());
            }
        });
        return true;
    }

  private:
    Loop& loop_;
    store::Store& store_;
};

inline util::Shards shards(Loop& loop, int n) {
    std::vector<util::ExecutorPtr> executors;
    for (int i = 0; i < n; ++i) executors.push_back(std::make_shared<Executor>(loop));
    return util::Shards(std::move(executors));
}

}  // namespace perch::manual
