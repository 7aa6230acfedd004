#pragma once
#include <functional>
#include <memory>

namespace perch::util {

// Where a piece of state lives: work posted to one Executor runs one item at a time, in order.
// net/ implements it with Asio strands; the domain layers see only this interface so they stay
// free of Asio.
class Executor {
  public:
    virtual ~Executor() = default;
    virtual void post(std::function<void()> work) = 0;
};

using ExecutorPtr = std::shared_ptr<Executor>;

}  // namespace perch::util
