// A session's handle: what it is given reaches its connection in order, a burst in one task
// on the connection's strand with the connection corked around it (written once), and after a
// resumption the new connection gets what comes next while the old one gets everything before.
#include "net/connection_handle.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <string>
#include <thread>
#include <vector>

#include "chat/authz.hpp"

using namespace perch;
namespace asio = boost::asio;

namespace {

struct Recorded final : net::RoutedConnection {
    std::vector<std::string> got;
    int corked = 0, uncorks = 0, delivered_uncorked = 0;
    void cork() override { ++corked; }
    void uncork() override {
        --corked;
        ++uncorks;
    }
    void deliver_routed(xmpp::Outgoing out) override {
        if (corked == 0) ++delivered_uncorked;
        got.push_back(out.head);
    }
    void terminate(std::string_view condition, std::string_view) override {
        got.push_back("terminate " + std::string(condition));
    }
    void set_subject(std::shared_ptr<const chat::Subject> who) override {
        got.push_back("subject " + who->user);
    }
};

xmpp::Jid jid() {
    return xmpp::Jid::make("alice", "example.org", "pc");
}

}  // namespace

TEST(ConnectionHandle, ABurstReachesTheConnectionInOrderInOneTask) {
    asio::io_context io;
    auto conn = std::make_shared<Recorded>();
    auto handle = std::make_shared<net::ConnectionHandle>(conn, jid(), asio::make_strand(io));
    std::thread other([&] {
        for (int i = 0; i < 100; ++i) handle->deliver(xmpp::Outgoing::raw(std::to_string(i)));
    });
    other.join();
    auto who = std::make_shared<chat::Subject>();
    who->user = "alice";
    handle->set_subject(who);
    handle->terminate("conflict", "replaced");
    EXPECT_EQ(io.run(), 1u);  // one task for all of it
    ASSERT_EQ(conn->got.size(), 102u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(conn->got[size_t(i)], std::to_string(i));
    EXPECT_EQ(conn->got[100], "subject alice");
    EXPECT_EQ(conn->got[101], "terminate conflict");
    // Corked around the burst, once: what it sends leaves in one write at the end.
    EXPECT_EQ(conn->uncorks, 1);
    EXPECT_EQ(conn->corked, 0);
    EXPECT_EQ(conn->delivered_uncorked, 0);
    // The next burst is a task of its own.
    io.restart();
    handle->deliver(xmpp::Outgoing::raw("again"));
    EXPECT_EQ(io.run(), 1u);
    EXPECT_EQ(conn->got.back(), "again");
    EXPECT_EQ(conn->uncorks, 2);
}

TEST(ConnectionHandle, AfterAResumptionTheOldConnectionGetsWhatCameBeforeAndTheNewTheRest) {
    asio::io_context io;
    auto old_conn = std::make_shared<Recorded>(), new_conn = std::make_shared<Recorded>();
    auto handle = std::make_shared<net::ConnectionHandle>(old_conn, jid(), asio::make_strand(io));
    handle->deliver(xmpp::Outgoing::raw("1"));
    handle->deliver(xmpp::Outgoing::raw("2"));
    handle->retarget(new_conn, asio::make_strand(io));
    handle->deliver(xmpp::Outgoing::raw("3"));
    io.run();
    EXPECT_EQ(old_conn->got, (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(new_conn->got, (std::vector<std::string>{"3"}));
    // A connection gone: what the handle is given is dropped.
    std::weak_ptr<Recorded> gone = new_conn;
    new_conn.reset();
    handle->deliver(xmpp::Outgoing::raw("4"));
    io.restart();
    EXPECT_EQ(io.run(), 0u);
    EXPECT_TRUE(gone.expired());
}
