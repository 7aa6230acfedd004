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
#include "net/connection_handle.hpp"

namespace perch::net {

namespace ssl = asio::ssl;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

std::atomic<size_t> g_open{0};

class Connection;
using Handle = ConnectionHandle<Connection, Strand>;

class Connection final : public std::enable_shared_from_this<Connection>, public xmpp::Transport {
  public:
    Connection(Strand strand, tcp::socket socket, xmpp::ServerContext& ctx, ssl::context& tls,
               const C2sOptions& options)
        : strand_(strand), socket_(std::move(socket)), tls_ctx_(tls), options_(options) {
        boost::system::error_code ec;
        auto remote = socket_.remote_endpoint(ec);
        loopback_ = !ec && remote.address().is_loopback();
        peer_ = ec ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
        socket_.set_option(tcp::no_delay(true), ec);
        session_ = std::make_unique<xmpp::Session>(ctx, *this);
        ++g_open;
    }
    ~Connection() override { --g_open; }

    void start() {
        // A connection that has not bound a resource in time is closed (slow-loris and idle
        // sockets). The timer exists only until then.
        login_timer_ = std::make_unique<asio::steady_timer>(strand_, options_.login_timeout);
        login_timer_->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self || self->closed_) return;
            if (self->session_->bound()) return;
            self->session_->stream_error("connection-timeout", "Log in faster");
        });
        asio::co_spawn(
            strand_, [self = shared_from_this()] { return self->run(); }, asio::detached);
    }

    // Transport
    Framing framing() const override { return Framing::tcp_stream; }
    bool secure() const override { return tls_ != nullptr; }
    bool can_start_tls() const override { return tls_ == nullptr; }
    bool loopback() const override { return loopback_; }
    std::string peer() const override { return peer_; }

    void send(xmpp::Outgoing out) override {
        if (closed_) return;
        queued_bytes_ += out.size();
        if (queued_bytes_ > options_.max_send_queue) {
            spdlog::warn("{} reads too slowly ({} bytes queued): disconnecting", peer_,
                         queued_bytes_);
            abort();
            return;
        }
        queue_.push_back(std::move(out));
        if (!writing_ && !tls_pending_) write_some();
    }

    void start_tls() override { tls_pending_ = true; }

    void close() override {
        close_after_flush_ = true;
        if (!writing_ && queue_.empty()) abort();
    }

    Poster poster() override {
        return [weak = weak_from_this(), strand = strand_](std::function<void()> work) {
            auto self = weak.lock();
            if (!self) return;
            asio::post(strand, [self = std::move(self), work = std::move(work)] {
                if (!self->closed_) work();
            });
        };
    }

    xmpp::SessionHandlePtr handle() override {
        if (login_timer_) {
            login_timer_->cancel();  // bound: the login deadline no longer applies
            login_timer_.reset();
        }
        if (!handle_)
            handle_ = std::make_shared<Handle>(weak_from_this(), session_->jid(), strand_);
        return handle_;
    }

    void terminate(std::string_view condition, std::string_view text) {
        if (!closed_) session_->stream_error(condition, text);
    }

  private:
    awaitable<void> run() {
        auto self = shared_from_this();
        boost::system::error_code ec;
        if (options_.direct_tls) {
            tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, tls_ctx_);
            co_await tls_->async_handshake(ssl::stream_base::server,
                                           asio::redirect_error(use_awaitable, ec));
            if (ec) {
                spdlog::debug("TLS handshake with {} failed: {}", peer_, ec.message());
                co_return abort();
            }
        }
        while (!closed_) {
            size_t n = 0;
            std::string_view data;
            // One read at a time into the connection's own buffer. (A readiness wait followed
            // by a synchronous read into a per-thread buffer saved the buffer, but lost input
            // now and then with two I/O threads; see docs/BENCHMARKS.md.)
            // Its size follows the traffic: a read that fills it gets the large size next, a
            // small one the small size, so the many idle connections hold 512 bytes each.
            if (!read_buffer_) read_buffer_ = std::make_unique_for_overwrite<char[]>(read_size_);
            auto buffer = asio::buffer(read_buffer_.get(), read_size_);
            if (tls_) {
                n = co_await tls_->async_read_some(buffer, asio::redirect_error(use_awaitable, ec));
            } else {
                n = co_await socket_.async_read_some(buffer,
                                                     asio::redirect_error(use_awaitable, ec));
            }
            data = std::string_view(read_buffer_.get(), n);
            if (ec) break;
            if (!session_->feed(data)) break;
            size_t next = n == read_size_ ? kLargeRead : n <= kSmallRead ? kSmallRead : read_size_;
            if (next != read_size_) {
                read_size_ = next;
                read_buffer_.reset();
            }
            if (tls_pending_) {
                if (!co_await upgrade_to_tls()) break;
            }
        }
        session_->closed();
        if (!writing_)
            abort();
        else
            close_after_flush_ = true;
    }

    awaitable<bool> upgrade_to_tls() {
        boost::system::error_code ec;
        // <proceed/> must be on the wire before the handshake starts.
        while (writing_ || !queue_.empty()) {
            if (!writing_) write_some();
            flush_timer_ = std::make_unique<asio::steady_timer>(
                strand_, asio::steady_timer::time_point::max());
            co_await flush_timer_->async_wait(asio::redirect_error(use_awaitable, ec));
            if (closed_) co_return false;
        }
        flush_timer_.reset();
        tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, tls_ctx_);
        co_await tls_->async_handshake(ssl::stream_base::server,
                                       asio::redirect_error(use_awaitable, ec));
        tls_pending_ = false;
        if (ec) {
            spdlog::info("TLS handshake with {} failed: {}", peer_, ec.message());
            co_return false;
        }
        if (!queue_.empty()) write_some();
        co_return true;
    }

    void write_some() {
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
        auto done = asio::bind_executor(
            strand_, [self = shared_from_this(), bytes](boost::system::error_code ec, size_t) {
                self->on_written(ec, bytes);
            });
        if (tls_)
            asio::async_write(*tls_, buffers_, std::move(done));
        else
            asio::async_write(socket_, buffers_, std::move(done));
    }

    void on_written(boost::system::error_code ec, size_t bytes) {
        writing_ = false;
        queued_bytes_ -= std::min(queued_bytes_, bytes);
        inflight_.clear();
        if (queue_.empty()) {
            // Give the memory back once the client has caught up. This costs an allocation per
            // drained write (libstdc++'s empty deque allocates); keeping it would cost each idle
            // session that deque, and memory per idle session is the scarcer resource (issue 7).
            std::deque<xmpp::Outgoing>().swap(queue_);
            std::vector<asio::const_buffer>().swap(buffers_);
            std::vector<xmpp::Outgoing>().swap(inflight_);
        }
        if (flush_timer_) flush_timer_->cancel();
        if (ec) return abort();
        if (!queue_.empty() && !tls_pending_) return write_some();
        if (queue_.empty() && close_after_flush_) abort();
    }

    void abort() {
        if (closed_) return;
        closed_ = true;
        queue_.clear();
        boost::system::error_code ec;
        socket_.shutdown(tcp::socket::shutdown_both, ec);
        socket_.close(ec);
        if (flush_timer_) flush_timer_->cancel();
        if (login_timer_) login_timer_->cancel();
        session_->closed();
    }

    Strand strand_;
    tcp::socket socket_;
    ssl::context& tls_ctx_;
    C2sOptions options_;
    std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
    static constexpr size_t kSmallRead = 512, kLargeRead = 4096;
    size_t read_size_ = kSmallRead;
    std::unique_ptr<char[]> read_buffer_;
    std::unique_ptr<xmpp::Session> session_;
    std::shared_ptr<Handle> handle_;
    std::deque<xmpp::Outgoing> queue_;
    std::vector<xmpp::Outgoing> inflight_;
    std::vector<asio::const_buffer> buffers_;
    std::unique_ptr<asio::steady_timer> flush_timer_;
    std::unique_ptr<asio::steady_timer> login_timer_;
    size_t queued_bytes_ = 0;
    bool writing_ = false;
    bool tls_pending_ = false;
    bool close_after_flush_ = false;
    bool closed_ = false;
    bool loopback_ = false;
    std::string peer_;
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
        : io(io), ctx(ctx), tls(tls), acceptor(io.context()), options(o) {
        open_acceptor(acceptor, ep);
    }

    awaitable<void> run() {
        auto self = shared_from_this();
        co_await accept_loop(acceptor, io, "XMPP", [this](tcp::socket socket, Strand strand) {
            std::make_shared<Connection>(strand, std::move(socket), ctx, tls, options)->start();
        });
    }
};

C2sListener::C2sListener(IoPool& io, xmpp::ServerContext& ctx, ssl::context& tls,
                         const tcp::endpoint& endpoint, C2sOptions options)
    : state_(std::make_shared<State>(io, ctx, tls, endpoint, options)) {}

C2sListener::~C2sListener() = default;

void C2sListener::start() {
    asio::co_spawn(
        state_->acceptor.get_executor(), [s = state_] { return s->run(); }, asio::detached);
}

void C2sListener::stop() {
    boost::system::error_code ec;
    state_->acceptor.close(ec);
}

uint16_t C2sListener::port() const {
    return state_->acceptor.local_endpoint().port();
}

size_t C2sListener::open_connections() {
    return g_open.load();
}

}  // namespace perch::net
