#pragma once
#include <cassert>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace perch::util {

// Where a piece of state lives: work posted to one Executor runs one item at a time, in order.
// net/ implements it with Asio strands; the domain layers see only this interface so they stay
// free of Asio.
class Executor {
  public:
    virtual ~Executor() = default;
    virtual void post(std::function<void()> work) = 0;
    // True while the calling thread runs work of this executor: what the debug assertions of
    // the owners of shard state check (PERCH_ASSERT_ON).
    virtual bool running_here() const = 0;
};

using ExecutorPtr = std::shared_ptr<Executor>;

// The strands that own rooms: a room (or anything else keyed by a room's name) always maps
// to the same one, so the room service and the delivery of its events share one owner.
class Shards {
  public:
    explicit Shards(std::vector<ExecutorPtr> executors) : executors_(std::move(executors)) {}
    size_t size() const { return executors_.size(); }
    size_t index_of(std::string_view key) const {
        return std::hash<std::string_view>{}(key) % executors_.size();
    }
    Executor& at(size_t index) const { return *executors_[index]; }
    Executor& of(std::string_view key) const { return *executors_[index_of(key)]; }

  private:
    std::vector<ExecutorPtr> executors_;
};

}  // namespace perch::util

// Checks, in builds without NDEBUG (the sanitizer builds), that shard-owned state is touched
// only by its owner.
#define PERCH_ASSERT_ON(executor) assert((executor).running_here())
