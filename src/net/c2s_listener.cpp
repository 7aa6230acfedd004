#include "net/c2s_listener.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>

#include <spdlog/spdlog.h>

#include "net/acceptor.hpp"
#include "net/client_connection.hpp"

namespace perch::net {

namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

std::atomic<size_t> g_open{0};

// One XMPP client over TCP: reads into its own buffer (512 bytes, 4 KB while traffic needs it),
// writes gathered stanzas (at once when the socket takes them), and upgrades to TLS in place
// (STARTTLS) or from the first byte (direct TLS).
class Connection final : public ClientConnection<Connection> {
  public:
    Connection(Strand strand, tcp::socket socket, std::string peer, bool loopback,
               xmpp::ServerContext& ctx, ssl::context& tls, const C2sOptions& options)
        : ClientConnection(std::move(strand), std::move(peer), loopback, options.limits),
          socket_(std::move(socket)),
          tls_ctx_(tls),
          direct_tls_(options.direct_tls),
          ctx_(ctx) {
        ++g_open;
        boost::system::error_code ec;
        socket_.non_blocking(true, ec);  // so that a write at once never waits
        write_at_once_ = !ec;
    }
    ~Connection() override { --g_open; }

    void start() {
        asio::co_spawn(
            strand_, [self = shared_from_this()] { return self->run(); }, asio::detached);
    }

    // Transport
    Framing framing() const override { return Framing::tcp_stream; }
    bool secure() const override { return tls_ != nullptr; }
    bool can_start_tls() const override { return tls_ == nullptr; }
    void start_tls() override { tls_pending_ = true; }

    // ClientConnection
    bool writes_paused() const { return tls_pending_; }
    void write_queued() {
        if (closed_ || queue_.empty()) return;
        writing_ = true;
        inflight_.clear();
        buffers_.clear();
        size_t bytes = 0;
        while (!queue_.empty() && inflight_.size() < 64 && bytes < 65536) {
            bytes += queue_.front().size();
            inflight_.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        // Buffers point into the strings, so they are taken once inflight_ no longer grows.
        for (const auto& o : inflight_) {
            buffers_.emplace_back(o.head.data(), o.head.size());
            if (o.shared)
                buffers_.emplace_back(o.shared->text.data() + o.shared->split,
                                      o.shared->text.size() - o.shared->split);
        }
        if (!tls_ && write_at_once_) {
            // Most writes are a stanza or a burst to a socket with room for it: written here
            // at once (the socket does not block), without a completion's trip through the
            // strand. What the socket does not take, or an error, goes the asynchronous way.
            boost::system::error_code ec;
            size_t sent = socket_.write_some(buffers_, ec);
            if (!ec && sent == bytes) return after_write(ec, bytes);
            drop_front(buffers_, ec ? 0 : sent);
        }
        auto done = asio::bind_executor(
            strand_, [self = shared_from_this(), bytes](boost::system::error_code ec, size_t) {
                self->after_write(ec, bytes);
            });
        if (tls_)
            asio::async_write(*tls_, buffers_, std::move(done));
        else
            asio::async_write(socket_, buffers_, std::move(done));
    }
    void shutdown_stream() {
        boost::system::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
        if (flush_timer_) flush_timer_->cancel();
    }

  private:
    void after_write(boost::system::error_code ec, size_t bytes) {
        inflight_.clear();
        if (queue_.empty()) {
            std::vector<asio::const_buffer>().swap(buffers_);
            std::vector<xmpp::Outgoing>().swap(inflight_);
        }
        if (flush_timer_) flush_timer_->cancel();
        written(ec, bytes);
    }
    // The first `n` bytes of `buffers` were written.
    static void drop_front(std::vector<asio::const_buffer>& buffers, size_t n) {
        size_t whole = 0;
        while (whole < buffers.size() && n >= buffers[whole].size()) n -= buffers[whole++].size();
        buffers.erase(buffers.begin(), buffers.begin() + long(whole));
        if (n > 0 && !buffers.empty()) buffers.front() += n;
    }

    awaitable<void> run() {
        auto self = shared_from_this();
        boost::system::error_code ec;
        start_session(ctx_);  // the login deadline covers the TLS handshake too
        if (direct_tls_) {
            tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, tls_ctx_);
            co_await tls_->async_handshake(ssl::stream_base::server,
                                           asio::redirect_error(use_awaitable, ec));
            if (ec) {
                spdlog::debug("TLS handshake with {} failed: {}", peer_, ec.message());
                co_return abort();
            }
        }
        while (!closed_) {
            // One read at a time into the connection's own buffer. (A readiness wait followed
            // by a synchronous read into a per-thread buffer saved the buffer, but lost input
            // now and then with two I/O threads; see docs/BENCHMARKS.md.)
            // Its size follows the traffic: a read that fills it gets the large size next, a
            // small one the small size, so the many idle connections hold 512 bytes each.
            if (!read_buffer_) read_buffer_ = std::make_unique_for_overwrite<char[]>(read_size_);
            auto buffer = asio::buffer(read_buffer_.get(), read_size_);
            size_t n = 0;
            if (tls_)
                n = co_await tls_->async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
            else
                n = co_await socket_.async_read_some(buffer,
                                                     asio::redirect_error(use_awaitable, ec));
            if (ec) break;
            cork();  // the answers to what came leave together
            bool more = session_->feed(std::string_view(read_buffer_.get(), n));
            uncork();
            if (!more) break;
            size_t next = n == read_size_ ? kLargeRead : n <= kSmallRead ? kSmallRead : read_size_;
            if (next != read_size_) {
                read_size_ = next;
                read_buffer_.reset();
            }
            if (tls_pending_ && !co_await upgrade_to_tls()) break;
        }
        reading_ended();
    }

    awaitable<bool> upgrade_to_tls() {
        boost::system::error_code ec;
        // <proceed/> must be on the wire before the handshake starts.
        while (writing_ || !queue_.empty()) {
            if (closed_) co_return false;
            if (!writing_) {
                write_queued();  // perhaps written at once
                continue;
            }
            flush_timer_ = std::make_unique<asio::steady_timer>(
                strand_, asio::steady_timer::time_point::max());
            co_await flush_timer_->async_wait(asio::redirect_error(use_awaitable, ec));
            if (closed_) co_return false;
        }
        flush_timer_.reset();
        tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, tls_ctx_);
        // A client that never finishes the handshake meets the login deadline (or, once
        // bound, cannot be: a handshake comes before binding).
        co_await tls_->async_handshake(ssl::stream_base::server,
                                       asio::redirect_error(use_awaitable, ec));
        tls_pending_ = false;
        if (ec) {
            spdlog::info("TLS handshake with {} failed: {}", peer_, ec.message());
            co_return false;
        }
        if (!queue_.empty()) write_queued();
        co_return true;
    }

    tcp::socket socket_;
    ssl::context& tls_ctx_;
    bool direct_tls_;
    bool write_at_once_ = false;  // the socket does not block (plain TCP writes, see write_queued)
    xmpp::ServerContext& ctx_;
    std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
    static constexpr size_t kSmallRead = 512, kLargeRead = 4096;
    size_t read_size_ = kSmallRead;
    std::unique_ptr<char[]> read_buffer_;
    std::vector<xmpp::Outgoing> inflight_;
    std::vector<asio::const_buffer> buffers_;
    std::unique_ptr<asio::steady_timer> flush_timer_;
    bool tls_pending_ = false;
};

}  // namespace

struct C2sListener::State : std::enable_shared_from_this<C2sListener::State> {
    IoPool& io;
    xmpp::ServerContext& ctx;
    ssl::context& tls;
    tcp::acceptor acceptor;
    C2sOptions options;

    State(IoPool& io, xmpp::ServerContext& ctx, ssl::context& tls, const tcp::endpoint& ep,
          C2sOptions o)
        : io(io),
          ctx(ctx),
          tls(tls),
          acceptor(asio::make_strand(io.context())),  // the accept loop's strand (stop())
          options(std::move(o)) {
        open_acceptor(acceptor, ep, options.direct_tls ? "c2s.direct_tls_port" : "c2s.port");
    }

    awaitable<void> run() {
        auto self = shared_from_this();
        co_await accept_loop(
            acceptor, io, "XMPP",
            [this](tcp::socket socket, const Strand& strand) {
                bool loopback = false;
                std::string peer = remote_peer(socket, &loopback);
                boost::system::error_code ec;
                socket.set_option(tcp::no_delay(true), ec);
                std::make_shared<Connection>(strand, std::move(socket), std::move(peer), loopback,
                                             ctx, tls, options)
                    ->start();
            },
            options.admission);
    }
};

C2sListener::C2sListener(IoPool& io, xmpp::ServerContext& ctx, ssl::context& tls,
                         const tcp::endpoint& endpoint, C2sOptions options)
    : state_(std::make_shared<State>(io, ctx, tls, endpoint, std::move(options))) {}

C2sListener::~C2sListener() = default;

void C2sListener::start() {
    asio::co_spawn(
        state_->acceptor.get_executor(), [s = state_] { return s->run(); }, asio::detached);
}

void C2sListener::stop() {
    close_acceptor(state_->acceptor, state_);
}

uint16_t C2sListener::port() const {
    return state_->acceptor.local_endpoint().port();
}

size_t C2sListener::open_connections() {
    return g_open.load();
}

}  // namespace perch::net
