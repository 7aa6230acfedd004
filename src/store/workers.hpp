#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace perch::store {

// A few threads, each with its own connection, that run store work handed to them by network
// and room code. Results go back by whatever the job does at its end (usually a post to the
// caller's executor). The queue is bounded: submit() refuses when it is full.
class StoreWorkers {
  public:
    using Job = std::function<void(Store&)>;
    StoreWorkers(const StoreConfig& config, int threads, size_t max_queue = 100000);
    ~StoreWorkers();

    bool submit(Job job);
    void stop();

  private:
    void run(std::unique_ptr<Store> store);

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    size_t max_queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// Group commit for room messages: posts are queued from any thread, and one thread commits
// whatever has gathered in a single transaction, then runs each post's completion with the
// stored message (its sequence number assigned) or an error. Order of completions follows
// order of submission.
class MessageWriter {
  public:
    using Done = std::function<void(std::optional<Message> stored, std::string error)>;
    MessageWriter(const StoreConfig& config, size_t max_batch = 2048, size_t max_queue = 200000);
    ~MessageWriter();

    bool submit(NewMessage message, Done done);
    void stop();  // commits what is queued, then returns

    struct Stats {
        uint64_t commits = 0;
        uint64_t messages = 0;
    };
    Stats stats();

  private:
    void run(std::unique_ptr<Store> store);

    struct Pending {
        NewMessage message;
        Done done;
    };
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<Pending> queue_;
    size_t max_batch_, max_queue_;
    bool stopping_ = false;
    Stats stats_;
    std::thread thread_;
};

}  // namespace perch::store
