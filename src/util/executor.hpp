#pragma once
#include <cassert>
#include <chrono>
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

// Runs `each(item)` over `items` on `executor`, a slice of about `slice` at a time, each slice
// posted behind what was posted meanwhile: long work on a shard (thousands of occupants
// leaving) lets the commands that come in go between its slices instead of waiting for all
// of it. The first slice is posted too, never run by the caller.
template <class T, class Each>
void run_in_slices(Executor& executor, std::vector<T> items, Each each,
                   std::chrono::microseconds slice = std::chrono::milliseconds(5)) {
    struct Work {
        std::vector<T> items;
        size_t next = 0;
        Each each;
    };
    auto work = std::make_shared<Work>(Work{std::move(items), 0, std::move(each)});
    auto step = std::make_shared<std::function<void()>>();
    *step = [&executor, work, slice, weak = std::weak_ptr<std::function<void()>>(step)] {
        auto until = std::chrono::steady_clock::now() + slice;
        while (work->next < work->items.size()) {
            work->each(work->items[work->next++]);
            if (std::chrono::steady_clock::now() >= until) break;
        }
        if (work->next < work->items.size())
            if (auto again = weak.lock()) executor.post([again] { (*again)(); });
    };
    if (!work->items.empty()) executor.post([step] { (*step)(); });
}

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
