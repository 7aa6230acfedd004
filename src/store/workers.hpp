#pragma once
#include <algorithm>
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
    enum class Lane { first, quick, slow };
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
// Jobs come in three lanes. Room loads go first (every command of a room waits for its load,
// and a pool moving rooms loads thousands while their users log in again); then quick ones
// (a join's history, a MAM page, a login); slow ones (word searches, purges) run on all
// threads but one, so with two threads or more a burst of searches never makes a join wait
// behind it.
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
    size_t queued() const { return first_jobs_.size() + jobs_.size() + slow_jobs_.size(); }
    struct Queued {
        Job job;
        std::chrono::steady_clock::time_point since;
    };

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Queued> first_jobs_, jobs_, slow_jobs_;
    int slow_running_ = 0, slow_limit_ = 1;  // slow jobs run on at most threads - 1 threads
    size_t max_queue_;
    Stats stats_;
    util::Histogram wait_histogram_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Commits `batch` through `db` (its append_messages and stored_seqs). While the database
// cannot be reached (a dropped connection, a primary failing over to its replica) tries again
// until `give_up`, pausing a little longer each time (up to a second), and first asks whether
// the interrupted attempt was committed after all: then the messages are answered with what
// the database holds, so that nothing is stored twice. `on_unreachable` hears of the first
// failure. Throws Unreachable at `give_up`, any other error at once.
template <class Db>
std::vector<Message> commit_through_outage(
    Db& db, const std::vector<NewMessage>& batch, std::chrono::steady_clock::time_point give_up,
    const std::function<void(const std::exception&)>& on_unreachable = {}) {
    auto pause = std::chrono::milliseconds(50);
    for (bool interrupted = false;; interrupted = true) {
        try {
            if (interrupted) {
                auto seqs = db.stored_seqs(batch);
                if (std::any_of(seqs.begin(), seqs.end(), [](int64_t s) { return s != 0; })) {
                    std::vector<Message> out(batch.size());
                    for (size_t i = 0; i < batch.size(); ++i) {
                        static_cast<NewMessage&>(out[i]) = batch[i];
                        out[i].seq = seqs[i];
                    }
                    return out;
                }
            }
            return db.append_messages(std::vector<NewMessage>(batch));
        } catch (const Unreachable& e) {
            if (!interrupted && on_unreachable) on_unreachable(e);
            if (std::chrono::steady_clock::now() + pause > give_up) throw;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(1000));
    }
}

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
    // Until when a batch may wait for the database (see commit_through_outage): the set wait
    // from the start of an outage, so that the posts queued behind do not each wait it again.
    std::chrono::steady_clock::time_point give_up();

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
    std::chrono::seconds outage_wait_;
    std::optional<std::chrono::steady_clock::time_point> outage_since_;  // the writer's thread's
    std::thread thread_;
};

}  // namespace perch::store
