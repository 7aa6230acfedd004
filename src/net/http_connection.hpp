#pragma once
// The HTTP/1.1 and WebSocket connections of the web services, as templates over the stream
// (plain TCP or TLS). For net/ only: each stream type is instantiated in a translation unit of
// its own (http_plain.cpp, http_tls.cpp), which builds twice as fast on two cores as one file.
#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <deque>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "net/acceptor.hpp"
#include "net/client_connection.hpp"
#include "net/http.hpp"
#include "net/http_head.hpp"
#include "net/tls_stream.hpp"
#include "util/url.hpp"
#include "xmpp/ws_framing.hpp"

namespace perch::net::http_detail {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = net::TlsStream;

struct Shared {
    xmpp::ServerContext& xmpp;
    HttpHandler& handler;
    HttpOptions options;
};

template <class Stream>
constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

// Whether the page that asks for a WebSocket (its Origin header) may open one here.
bool websocket_origin_allowed(const HttpRequest& request, const HttpOptions& options);
HttpResponse plain_error(unsigned status, const std::string& message);
// The answer to a request whose body could not be read: 413 over its limit, 400 malformed
// (a chunk size that is no number, or too large a one); none when the client went away or
// stopped sending (the connection just ends).
std::optional<HttpResponse> body_refusal(const boost::system::error_code& ec);

// Runs one accepted connection (plain HTTP, or HTTPS after its handshake).
void serve_plain(tcp::socket socket, const Strand& strand, Shared& shared, std::string peer,
                 bool loopback);
void serve_tls(tcp::socket socket, ssl::context& tls, const Strand& strand, Shared& shared,
               std::string peer, bool loopback);

template <class Stream>
class WsConnection final : public ClientConnection<WsConnection<Stream>> {
    using Base = ClientConnection<WsConnection<Stream>>;
    friend Base;

  public:
    WsConnection(Stream&& stream, Strand strand, Shared& shared, std::string peer, bool loopback)
        : Base(std::move(strand), std::move(peer), loopback,
               ClientLimits{shared.options.max_send_queue, shared.options.login_timeout}),
          ws_(std::move(stream)),
          shared_(shared) {}

    awaitable<void> run(http::request<http::empty_body> request) {
        auto self = this->shared_from_this();
        boost::system::error_code ec;
        // The client must offer the xmpp subprotocol (RFC 7395 section 3.2).
        bool offered = false;
        std::string protocols(request[http::field::sec_websocket_protocol]);
        for (size_t start = 0; start <= protocols.size();) {
            size_t comma = protocols.find(',', start);
            if (comma == std::string::npos) comma = protocols.size();
            std::string token = protocols.substr(start, comma - start);
            token.erase(0, token.find_first_not_of(' '));
            token.erase(token.find_last_not_of(' ') + 1);
            offered |= token == "xmpp";
            start = comma + 1;
        }
        if (!offered) {
            http::response<http::string_body> res{http::status::bad_request, request.version()};
            res.set(http::field::content_type, "application/json");
            res.body() = R"({"error":"the WebSocket subprotocol xmpp is required"})";
            res.prepare_payload();
            res.keep_alive(false);
            co_await http::async_write(ws_.next_layer(), res,
                                       asio::redirect_error(use_awaitable, ec));
            shared_.handler.count(400);
            co_return;
        }
        beast::get_lowest_layer(ws_).expires_never();
        ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
        ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(http::field::sec_websocket_protocol, "xmpp");
            res.set(http::field::server, "Perch");
        }));
        ws_.read_message_max(shared_.xmpp.limits.max_stanza_bytes + 4096);
        co_await ws_.async_accept(request, asio::redirect_error(use_awaitable, ec));
        shared_.handler.count(101);
        if (ec) co_return;
        ws_.text(true);
        this->start_session(shared_.xmpp);
        // Frames carry whole elements; the parser sees them inside a synthetic root that gives
        // stanzas without a declaration the client namespace.
        this->session_->feed("<stream xmlns='jabber:client'>");
        beast::flat_buffer buffer;
        while (!this->closed_) {
            buffer.clear();
            co_await ws_.async_read(buffer, asio::redirect_error(use_awaitable, ec));
            if (ec) break;
            if (!this->session_->feed(beast::buffers_to_string(buffer.data()))) break;
        }
        this->reading_ended();
    }

    // Transport
    xmpp::Transport::Framing framing() const override {
        return xmpp::Transport::Framing::websocket;
    }
    bool secure() const override { return kTls<Stream>; }
    bool can_start_tls() const override { return false; }
    void start_tls() override {}

  private:
    // ClientConnection
    bool writes_paused() const { return false; }
    void write_queued() {
        if (this->closed_ || this->queue_.empty()) return;
        this->writing_ = true;
        xmpp::Outgoing out = std::move(this->queue_.front());
        this->queue_.pop_front();
        size_t bytes = out.size();
        std::string text = std::move(out.head);
        if (out.shared) text.append(out.shared->text, out.shared->split);
        frames_ = xmpp::websocket_frames(text);
        next_frame_ = 0;
        write_frame(bytes);
    }
    void write_frame(size_t bytes) {
        if (next_frame_ == frames_.size()) return this->written({}, bytes);
        ws_.async_write(
            asio::buffer(frames_[next_frame_]),
            asio::bind_executor(this->strand_, [self = this->shared_from_this(), bytes](
                                                   boost::system::error_code ec, size_t) {
                ++self->next_frame_;
                if (ec) return self->written(ec, bytes);
                self->write_frame(bytes);
            }));
    }
    void finish_close() {
        if (this->closed_ || closing_) return;
        closing_ = true;
        this->writing_ = true;
        ws_.async_close(websocket::close_code::normal,
                        asio::bind_executor(this->strand_, [self = this->shared_from_this()](
                                                               boost::system::error_code) {
                            self->writing_ = false;
                            self->abort();
                        }));
    }
    void shutdown_stream() {
        boost::system::error_code ec;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(ws_).close();
    }

    websocket::stream<Stream> ws_;
    Shared& shared_;
    std::vector<std::string> frames_;
    size_t next_frame_ = 0;
    bool closing_ = false;
};

// One HTTP/1.1 connection: requests one after the other (keep-alive), each answered by the
// handler; an upgrade at the WebSocket path hands the connection over to an XMPP session.
template <class Stream>
class HttpConnection final : public std::enable_shared_from_this<HttpConnection<Stream>> {
  public:
    HttpConnection(Stream stream, Strand strand, Shared& shared, std::string peer, bool loopback)
        : stream_(std::move(stream)),
          strand_(std::move(strand)),
          shared_(shared),
          peer_(std::move(peer)),
          loopback_(loopback) {}

    awaitable<void> run() {
        auto self = this->shared_from_this();
        boost::system::error_code ec;
        const auto& options = shared_.options;
        if constexpr (kTls<Stream>) {
            beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
            co_await stream_.async_handshake(ssl::stream_base::server,
                                             asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
            if (options.peers) {
                // The pool port: one byte tells a request from a pool server's first frame
                // (its length, whose first byte is 0 for any frame a hello can be).
                beast::get_lowest_layer(stream_).expires_after(options.idle_timeout);
                size_t n = co_await stream_.async_read_some(
                    buffer_.prepare(1), asio::redirect_error(use_awaitable, ec));
                buffer_.commit(n);
                if (ec || n == 0) co_return;
                char first = buffered().front();
                if (first < 'A' || first > 'Z') {
                    beast::get_lowest_layer(stream_).expires_never();
                    options.peers->adopt(PeerConnection{std::move(stream_), strand_,
                                                        std::string(buffered()), peer_});
                    co_return;
                }
            }
        }
        // Refused before its body was read: the client may still be sending it.
        bool body_unread = false;
        for (;;) {
            beast::get_lowest_layer(stream_).expires_after(options.idle_timeout);
            // The head is read whole before it is parsed (parse_request_head says why).
            co_await read_head(ec);
            if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
                ec == asio::error::eof || ec == asio::error::connection_reset)
                break;
            if (ec) {
                co_await write(plain_error(400, "malformed request"), false);
                break;
            }
            RequestHead head;
            head.header_limit(kHeadLimit);
            auto parsed = parse_request_head(buffered(), head);
            if (const auto* refusal = std::get_if<HeadRefusal>(&parsed)) {
                co_await write(plain_error(refusal->status, refusal->message), false);
                break;
            }
            buffer_.consume(std::get<size_t>(parsed));
            HttpRequest request = describe(head.get(), kTls<Stream>, peer_);
            request.loopback = loopback_;
            if (websocket::is_upgrade(head.get())) {
                if (request.path != options.websocket_path) {
                    co_await write(plain_error(404, "no WebSocket service here"), false);
                    break;
                }
                // Another site's page may not open a chat session with its visitor's cookies
                // or from inside their network.
                if (!websocket_origin_allowed(request, options)) {
                    co_await write(plain_error(403,
                                               "pages of this origin may not open the chat "
                                               "WebSocket (http.websocket_origins)"),
                                   false);
                    break;
                }
                if (options.admission && !options.admission->open()) {
                    HttpResponse busy = plain_error(
                        503, "too many room joins are waiting here; try again in a few seconds");
                    busy.set("Retry-After", "5");
                    co_await write(std::move(busy), false);
                    break;
                }
                auto ws = std::make_shared<WsConnection<Stream>>(std::move(stream_), strand_,
                                                                 shared_, peer_, loopback_);
                asio::co_spawn(
                    strand_,
                    [ws, req = head.release()]() mutable { return ws->run(std::move(req)); },
                    asio::detached);
                co_return;
            }
            bool keep_alive = head.get().keep_alive();
            BodyPlan plan = shared_.handler.plan_body(request);
            if (plan.refuse) {
                co_await write(std::move(*plan.refuse), false);
                body_unread = true;
                break;
            }
            // A declared length is checked here (the parser applies its limit to it only while
            // reading the header); chunked bodies meet the limit as they arrive.
            if (auto length = head.content_length(); length && *length > plan.limit) {
                co_await write(plain_error(413, "the body is too large"), false);
                body_unread = true;
                break;
            }
            // A client that waits to hear that its body is wanted (RFC 9110, 10.1.1) hears it
            // now; a refusal above was its answer instead, and it sent nothing.
            if (const std::string* expect = request.header("expect");
                expect && boost::iequals(*expect, "100-continue")) {
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                co_await asio::async_write(stream_, asio::buffer(kContinue),
                                           asio::redirect_error(use_awaitable, ec));
                if (ec) break;
            }
            if (!plan.to_file.empty()) {
                http::request_parser<http::file_body> parser(std::move(head));
                parser.body_limit(plan.limit);
                parser.get().body().open(plan.to_file.c_str(), beast::file_mode::write_new, ec);
                if (ec) {
                    spdlog::error("cannot write {}: {}", plan.to_file, ec.message());
                    co_await write(plain_error(500, "storage unavailable"), false);
                    break;
                }
                co_await read_body(parser, ec);
                parser.get().body().close();
                if (ec) {
                    std::filesystem::remove(plan.to_file);
                    body_unread = co_await refuse_body(ec);
                    break;
                }
                request.body_file = plan.to_file;
                request.body_bytes = std::filesystem::file_size(plan.to_file);
            } else {
                http::request_parser<http::string_body> parser(std::move(head));
                parser.body_limit(plan.limit);
                co_await read_body(parser, ec);
                if (ec) {
                    body_unread = co_await refuse_body(ec);
                    break;
                }
                request.body = std::move(parser.get().body());
                request.body_bytes = request.body.size();
            }
            HttpResponse response = co_await call(std::move(request));
            if (!co_await write(std::move(response), keep_alive) || !keep_alive) break;
        }
        boost::system::error_code ignored;
        beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
        if (body_unread) co_await drain();
    }

  private:
    static constexpr size_t kHeadLimit = size_t{16} * 1024;

    std::string_view buffered() const {
        return {static_cast<const char*>(buffer_.data().data()), buffer_.size()};
    }

    // Reads until the buffer holds a whole request head (or a line that ends in a bare LF:
    // refused when parsed), or kHeadLimit bytes without one (header_limit).
    awaitable<void> read_head(boost::system::error_code& ec) {
        while (!enough_for_a_head(buffered())) {
            if (buffer_.size() >= kHeadLimit) {
                ec = http::error::header_limit;
                co_return;
            }
            size_t n = co_await stream_.async_read_some(buffer_.prepare(4096),
                                                        asio::redirect_error(use_awaitable, ec));
            buffer_.commit(n);
            if (ec) co_return;
        }
    }

    // Reads the rest of a body, each read under the earlier of two deadlines: the whole body
    // within transfer_timeout, and the bytes so far at min_body_rate a second after
    // body_grace, so that a body trickled a byte at a time holds its connection for seconds,
    // not minutes.
    template <class Parser>
    awaitable<void> read_body(Parser& parser, boost::system::error_code& ec) {
        const auto& options = shared_.options;
        const auto start = std::chrono::steady_clock::now();
        uint64_t received = 0;
        while (!parser.is_done()) {
            auto deadline = start + options.transfer_timeout;
            if (options.min_body_rate > 0)
                deadline = std::min(deadline, start + options.body_grace +
                                                  std::chrono::microseconds(received * 1'000'000 /
                                                                            options.min_body_rate));
            beast::get_lowest_layer(stream_).expires_at(deadline);
            received += co_await http::async_read_some(stream_, buffer_, parser,
                                                       asio::redirect_error(use_awaitable, ec));
            if (ec == beast::error::timeout)
                spdlog::info("HTTP request body from {} cut off: {} bytes in {} s", peer_, received,
                             std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::steady_clock::now() - start)
                                 .count());
            if (ec) co_return;
        }
    }

    // Answers a body that could not be read, when there is a client to answer; whether it
    // did (what the client still sends is then drained).
    awaitable<bool> refuse_body(const boost::system::error_code& ec) {
        auto refusal = body_refusal(ec);
        if (!refusal) co_return false;
        co_await write(std::move(*refusal), false);
        co_return true;
    }

    // After a refusal sent before the body was read: what the client still sends is read
    // and dropped for a moment (at most 2 s and 16 MiB), so that closing does not reset the
    // connection under the refusal before the client has read it.
    awaitable<void> drain() {
        boost::system::error_code ec;
        beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
        for (size_t dropped = 0; dropped < (size_t{16} << 20);) {
            buffer_.consume(buffer_.size());
            size_t n = co_await stream_.async_read_some(buffer_.prepare(65536),
                                                        asio::redirect_error(use_awaitable, ec));
            if (ec) co_return;
            buffer_.commit(n);
            dropped += n;
        }
    }

    // The handler's answer, whichever thread it comes from.
    awaitable<HttpResponse> call(HttpRequest request) {
        auto wake =
            std::make_shared<asio::steady_timer>(strand_, asio::steady_timer::time_point::max());
        auto answer = std::make_shared<std::optional<HttpResponse>>();
        shared_.handler.handle(std::move(request),
                               [wake, answer, strand = strand_](HttpResponse r) {
                                   asio::post(strand, [wake, answer, r = std::move(r)]() mutable {
                                       *answer = std::move(r);
                                       wake->cancel();
                                   });
                               });
        boost::system::error_code ec;
        while (!*answer) co_await wake->async_wait(asio::redirect_error(use_awaitable, ec));
        co_return std::move(**answer);
    }

    awaitable<bool> write(HttpResponse r, bool keep_alive) {
        boost::system::error_code ec;
        shared_.handler.count(r.status);
        beast::get_lowest_layer(stream_).expires_after(shared_.options.transfer_timeout);
        auto fill = [&](auto& res) {
            res.set(http::field::server, "Perch");
            // Over HTTPS, browsers are told to use nothing else for this host (a year).
            if constexpr (kTls<Stream>)
                res.set(http::field::strict_transport_security, "max-age=31536000");
            for (auto& [name, value] : r.headers) res.set(name, value);
            res.keep_alive(keep_alive);
            res.prepare_payload();
        };
        if (!r.file.empty()) {
            http::response<http::file_body> res{http::status(r.status), 11};
            res.body().open(r.file.c_str(), beast::file_mode::scan, ec);
            if (r.remove_file) {  // the open descriptor still reads it
                std::error_code ignored;
                std::filesystem::remove(r.file, ignored);
            }
            if (!ec) {
                fill(res);
                co_await http::async_write(stream_, res, asio::redirect_error(use_awaitable, ec));
                co_return !ec;
            }
            spdlog::error("cannot read {}: {}", r.file, ec.message());
            r = plain_error(500, "file unavailable");
        }
        http::response<http::string_body> res{http::status(r.status), 11};
        res.body() = std::move(r.body);
        fill(res);
        co_await http::async_write(stream_, res, asio::redirect_error(use_awaitable, ec));
        co_return !ec;
    }

    Stream stream_;
    Strand strand_;
    Shared& shared_;
    std::string peer_;
    bool loopback_;
    beast::flat_buffer buffer_;
};

}  // namespace perch::net::http_detail
