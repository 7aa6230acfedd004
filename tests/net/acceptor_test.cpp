// The accept loop's admission: while closed no connection is accepted (it waits in the
// kernel's backlog), and it is accepted once the admission opens.
#include "net/acceptor.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace perch;
using boost::asio::ip::tcp;

namespace {

bool eventually(const std::function<bool()>& what, std::chrono::milliseconds within) {
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
        if (what()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return what();
}

}  // namespace

TEST(AcceptLoop, NothingIsAcceptedWhileTheAdmissionIsClosed) {
    net::IoPool io(1);
    tcp::acceptor acceptor(io.context());
    net::open_acceptor(acceptor, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0),
                       "test.port");
    auto port = acceptor.local_endpoint().port();
    auto admission = std::make_shared<util::Admission>(2);
    // At the limit before the loop starts: closed. (The loop looks before each accept; one
    // already waiting takes one more connection.)
    admission->started();
    admission->started();
    std::atomic<int> accepted{0};
    std::vector<tcp::socket> kept;  // on the loop's thread only
    boost::asio::co_spawn(io.context(),
                          net::accept_loop(
                              acceptor, io, "test",
                              [&](tcp::socket s, const net::Strand&) {
                                  kept.push_back(std::move(s));
                                  ++accepted;
                              },
                              admission),
                          boost::asio::detached);
    io.start();

    ASSERT_FALSE(admission->open());
    boost::asio::io_context client;
    tcp::socket waiting(client);
    waiting.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));  // backlog
    EXPECT_FALSE(eventually([&] { return accepted > 0; }, std::chrono::milliseconds(300)));
    admission->finished();  // one join answered: open again
    EXPECT_TRUE(eventually([&] { return accepted == 1; }, std::chrono::seconds(5)));

    // With no limit it never closes.
    util::Admission unlimited(0);
    for (int i = 0; i < 1000; ++i) unlimited.started();
    EXPECT_TRUE(unlimited.open());

    std::promise<void> closed;
    boost::asio::post(io.context(), [&] {
        boost::system::error_code ec;
        acceptor.close(ec);
        kept.clear();
        closed.set_value();
    });
    closed.get_future().wait();
    io.stop();
    io.join();
}
