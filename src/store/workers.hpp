#pragma once
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.hpp"
#include "util/histogram.hpp"

namespace perch::store {

// Where store work goes: run later on a thread that holds a connection. StoreWorkers is the
// server's; tests use one that runs the jobs when they say so.
class StoreJobs {
  public:
    using Job = std::function<void(Store&)>;
    enum class Lane { quick, slow };
    virtual ~StoreJobs() = default;
    // False when the queue is full (or stopping): the caller refuses with "busy".
    virtual bool submit(Job job, Lane lane = Lane::quick) = 0;
};

// Where room messages go to be committed; `done` gets each one with its sequence number, or
// the error, in the order submitted.
class MessageCommits {
  public:
    using Done = std::function<void(std::optional<Message> stored, std::string error)>;
    virtual ~MessageCommits() = default;
    virtual bool submit(NewMessage message, Done done) = 0;
};

// A few threads, each with its own connection, that run store work handed to them by network
// and room code. Results go back by whatever the job does at its end (usually a post to the
// caller's executor). The queue is bounded: submit() refuses when it is full.
//
// Jobs come in two lanes. Quick ones (a join's history, a MAM page, a room change) go first;
// slow ones (word searches, purges) run on all threads but one, so with two threads or more a
// burst of searches never makes a join wait behind it.
class StoreWorkers final : public StoreJobs {
  public:
    StoreWorkers(const StoreConfig& config, int threads, size_t max_queue = 100000);
    ~StoreWorkers() override;

    bool submit(Job job, Lane lane = Lane::quick) override;
    void stop();

    // For the metrics: jobs run, and the seconds they waited in the queue and ran, in all.
    struct Stats {
        uint64_t jobs = 0;
        double wait_seconds = 0;
        double run_seconds = 0;
        size_t queued = 0;
    };
    Stats stats();
    // How long each job waited for a thread.
    const util::Histogram& wait_histogram() const { return wait_histogram_; }

  private:
    void run(std::unique_ptr<Store> store);
    struct Queued {
        Job job;
        std::chrono::steady_clock::time_point since;
    };

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Queued> jobs_, slow_jobs_;
    int slow_running_ = 0, slow_limit_ = 1;  // slow jobs run on at most threads - 1 threads
    size_t max_queue_;
    Stats stats_;
    util::Histogram wait_histogram_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Group commit for room messages: posts are queued from any thread, and one thread commits
// whatever has gathered in a single transaction, then runs each post's completion with the
// stored message (its sequence number assigned) or an error. Order of completions follows
// order of submission.
class MessageWriter final : public MessageCommits {
  public:
    MessageWriter(const StoreConfig& config, size_t max_batch = 2048, size_t max_queue = 200000);
    ~MessageWriter() override;

    bool submit(NewMessage message, Done done) override;
    void stop();  // commits what is queued, then returns

    struct Stats {
        uint64_t commits = 0;
        uint64_t messages = 0;
        double commit_seconds = 0;  // spent in commits, in all
    };
    Stats stats();
    // Each post from its submission to its commit (queue and transaction).
    const util::Histogram& latency() const { return latency_; }

  private:
    void run(std::unique_ptr<Store> store);

    struct Pending {
        NewMessage message;
        Done done;
        std::chrono::steady_clock::time_point since;
    };
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Pending> queue_;
    size_t max_batch_, max_queue_;
    bool stopping_ = false;
    Stats stats_;
    util::Histogram latency_;
    std::thread thread_;
};

}  // namespace perch::store
