#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <string>
#include <thread>
#include <vector>

#include "util/executor.hpp"

namespace perch::net {

namespace asio = boost::asio;

// The I/O threads: one io_context run by a few threads (one per core by default). Every
// connection and every room shard is a strand on it.
class IoPool {
  public:
    // `name`: what its threads are called ("perch-io" becomes perch-io-0, perch-io-1...).
    explicit IoPool(int threads, std::string name = "perch-io");
    ~IoPool();

    asio::io_context& context() { return ctx_; }
    void start();
    void stop();
    void join();
    // A strand wrapped for the domain layers, which do not see Asio.
    util::ExecutorPtr make_executor();

  private:
    int thread_count_;
    std::string name_;
    asio::io_context ctx_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
    std::vector<std::thread> threads_;
};

}  // namespace perch::net
