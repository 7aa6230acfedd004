#include "net/io.hpp"

#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include "util/thread_name.hpp"

namespace perch::net {

namespace {
class StrandExecutor final : public util::Executor {
  public:
    explicit StrandExecutor(asio::io_context& ctx) : strand_(asio::make_strand(ctx)) {}
    void post(std::function<void()> work) override { asio::post(strand_, std::move(work)); }
    bool running_here() const override { return strand_.running_in_this_thread(); }

  private:
    asio::strand<asio::io_context::executor_type> strand_;
};
}  // namespace

IoPool::IoPool(int threads, std::string name)
    : thread_count_(std::max(1, threads)),
      name_(std::move(name)),
      ctx_(thread_count_),
      guard_(ctx_.get_executor()) {}

IoPool::~IoPool() {
    stop();
    join();
}

void IoPool::start() {
    for (int i = 0; i < thread_count_; ++i) {
        threads_.emplace_back([this, i] {
            util::name_this_thread(thread_count_ == 1 ? name_ : name_ + "-" + std::to_string(i));
            for (;;) {
                try {
                    ctx_.run();
                    return;
                } catch (const std::exception& e) {
                    // A handler threw: log it and keep the thread serving everybody else.
                    spdlog::error("unhandled exception on an I/O thread: {}", e.what());
                }
            }
        });
    }
}

void IoPool::stop() {
    guard_.reset();
    ctx_.stop();
}

void IoPool::join() {
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    threads_.clear();
}

util::ExecutorPtr IoPool::make_executor() {
    return std::make_shared<StrandExecutor>(ctx_);
}

}  // namespace perch::net
