#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>

#include <algorithm>

#include "net/acceptor.hpp"
#include "net/http.hpp"
#include "net/http_connection.hpp"

namespace perch::net {

namespace http_detail {

bool websocket_origin_allowed(const HttpRequest& request, const HttpOptions& options) {
    const std::string* origin = request.header("origin");
    if (!origin) return true;
    auto lower = [](std::string s) {
        for (auto& c : s) c = char(std::tolower(uint8_t(c)));
        return s;
    };
    std::string asked = lower(*origin);
    if (const std::string* host = request.header("host");
        host && asked == (request.secure ? "https://" : "http://") + lower(*host))
        return true;
    return std::any_of(options.websocket_origins.begin(), options.websocket_origins.end(),
                       [&](const std::string& allowed) { return lower(allowed) == asked; });
}

HttpResponse plain_error(unsigned status, const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.set("Content-Type", "application/json");
    r.body = "{\"error\":\"" + message + "\"}";
    return r;
}

std::optional<HttpResponse> body_refusal(const boost::system::error_code& ec) {
    if (ec == http::error::body_limit) return plain_error(413, "the body is too large");
    bool malformed = ec.category() == http::make_error_code(http::error::bad_chunk).category() &&
                     ec != http::error::partial_message && ec != http::error::end_of_stream;
    if (!malformed) return std::nullopt;
    return plain_error(400, "malformed body (" + ec.message() + ")");
}

}  // namespace http_detail

using namespace http_detail;

struct HttpListener::State : std::enable_shared_from_this<HttpListener::State> {
    IoPool& io;
    ssl::context& tls;
    tcp::acceptor acceptor;
    Shared shared;

    State(IoPool& io, xmpp::ServerContext& xmpp, HttpHandler& handler, ssl::context& tls,
          const tcp::endpoint& ep, HttpOptions options)
        : io(io),
          tls(tls),
          acceptor(asio::make_strand(io.context())),  // the accept loop's strand (stop())
          shared{xmpp, handler, std::move(options)} {
        open_acceptor(acceptor, ep, shared.options.setting);
    }

    awaitable<void> run() {
        auto self = shared_from_this();
        co_await accept_loop(
            acceptor, io, "HTTP", [this](tcp::socket socket, const Strand& strand) {
                bool loopback = false;
                std::string peer = remote_peer(socket, &loopback);
                boost::system::error_code ec;
                socket.set_option(tcp::no_delay(true), ec);
                if (shared.options.tls)
                    serve_tls(std::move(socket), tls, strand, shared, std::move(peer), loopback);
                else
                    serve_plain(std::move(socket), strand, shared, std::move(peer), loopback);
            });
    }
};

HttpListener::HttpListener(IoPool& io, xmpp::ServerContext& xmpp, HttpHandler& handler,
                           ssl::context& tls, const tcp::endpoint& endpoint, HttpOptions options)
    : state_(std::make_shared<State>(io, xmpp, handler, tls, endpoint, std::move(options))) {}

HttpListener::~HttpListener() = default;

void HttpListener::start() {
    asio::co_spawn(
        state_->acceptor.get_executor(), [s = state_] { return s->run(); }, asio::detached);
}

void HttpListener::stop() {
    close_acceptor(state_->acceptor, state_);
}

uint16_t HttpListener::port() const {
    return state_->acceptor.local_endpoint().port();
}

}  // namespace perch::net
