// The web listener while the admission is closed (a reconnection storm): a WebSocket upgrade
// is answered 503 with Retry-After, pages are served as ever, and the upgrade goes through
// once the admission opens again.
#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/write.hpp>

#include "net/http.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/router.hpp"

using namespace perch;
using boost::asio::ip::tcp;

namespace {

struct Page final : net::HttpHandler {
    net::BodyPlan plan_body(const net::HttpRequest&) override { return {}; }
    void handle(net::HttpRequest, std::function<void(net::HttpResponse)> respond) override {
        net::HttpResponse r;
        r.body = "a page";
        respond(std::move(r));
    }
};

struct NoStore final : store::StoreJobs {
    bool submit(Job, Lane) override { return false; }
};

// Sends `request` on a new connection and reads the answer's head.
std::string ask(uint16_t port, const std::string& request) {
    boost::asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    boost::asio::write(s, boost::asio::buffer(request));
    std::string head;
    boost::system::error_code ec;
    boost::asio::read_until(s, boost::asio::dynamic_buffer(head), "\r\n\r\n", ec);
    return head;
}

const std::string kUpgrade =
    "GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n";

}  // namespace

TEST(HttpListener, AWebSocketWaitsOutsideWhileTheAdmissionIsClosed) {
    NoStore jobs;
    xmpp::Router router;
    xmpp::Credentials credentials(jobs, "secret");
    xmpp::ServerStats stats;
    xmpp::ServerContext ctx{"example.org", router, credentials, jobs, {},   false,
                            "test",        stats,  nullptr,     "",   false};
    Page page;
    boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
    net::HttpOptions options;
    options.admission = std::make_shared<util::Admission>(1);
    auto admission = std::const_pointer_cast<util::Admission>(options.admission);
    admission->started();  // at the limit: closed
    net::IoPool io(1);
    net::HttpListener listener(
        io, ctx, page, tls, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0), options);
    listener.start();
    io.start();

    std::string refused = ask(listener.port(), kUpgrade);
    EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
    EXPECT_NE(refused.find("Retry-After: 5"), std::string::npos) << refused;
    std::string served = ask(listener.port(), "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_TRUE(served.starts_with("HTTP/1.1 200")) << served;

    admission->finished();  // open again
    std::string upgraded = ask(listener.port(), kUpgrade);
    EXPECT_TRUE(upgraded.starts_with("HTTP/1.1 101")) << upgraded;

    listener.stop();
    io.stop();
    io.join();
}
