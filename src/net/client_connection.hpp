#pragma once
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "net/acceptor.hpp"
#include "net/connection_handle.hpp"
#include "xmpp/session.hpp"
#include "xmpp/transport.hpp"

namespace perch::net {

struct ClientLimits {
    size_t max_send_queue = size_t{1024} * 1024;  // bytes queued for a client before it is cut off
    std::chrono::seconds login_timeout{60};       // from accept to a bound resource
};

// What the TCP and the WebSocket client connections share: their xmpp::Session, all of it on
// the connection's strand; a deadline until the session is bound that really closes the
// socket (a stream error first, then the socket itself if the goodbye cannot be written, as
// with a TLS handshake that never finishes); a bounded send queue that cuts off a client that
// stops reading; the router's handle; and the poster by which store threads come back.
//
// `Derived` writes and closes its own stream: it provides write_queued() (called when bytes
// are queued and no write is under way; it takes from queue_ and calls written() when done,
// which may be before it returns),
// writes_paused() (true while nothing may be written, e.g. during a TLS upgrade) and
// shutdown_stream() (close the socket now).
template <class Derived>
class ClientConnection : public std::enable_shared_from_this<Derived>,
                         public xmpp::Transport,
                         public RoutedConnection {
  public:
    bool loopback() const override { return loopback_; }
    std::string peer() const override { return peer_; }

    void send(xmpp::Outgoing out) override {
        if (closed_) return;
        queued_bytes_ += out.size();
        if (queued_bytes_ > limits_.max_send_queue) {
            spdlog::warn("{} reads too slowly ({} bytes queued): disconnecting", peer_,
                         queued_bytes_);
            abort();
            return;
        }
        queue_.push_back(std::move(out));
        if (!writing_ && corked_ == 0 && !self().writes_paused()) self().write_queued();
    }

    // While corked — a task on the strand that may send several stanzas: a burst from the
    // router, the client's input, an answer from the store — send() only queues, and the
    // last uncork() writes what was queued, so that the burst leaves in one write.
    void cork() override { ++corked_; }
    void uncork() override {
        if (corked_ > 0) --corked_;
        if (corked_ == 0 && !writing_ && !closed_ && !queue_.empty() && !self().writes_paused())
            self().write_queued();
    }

    void close() override {
        close_after_flush_ = true;
        if (!writing_ && queue_.empty()) self().finish_close();
    }

    Poster poster() override {
        return [weak = this->weak_from_this(), strand = strand_](std::function<void()> work) {
            auto conn = weak.lock();
            if (!conn) return;
            asio::post(strand, [conn = std::move(conn), work = std::move(work)] {
                if (!conn->session_ || conn->session_->over()) return;
                conn->cork();
                work();
                conn->uncork();
            });
        };
    }

    Poster runner() override {
        return [weak = this->weak_from_this(), strand = strand_](std::function<void()> work) {
            auto conn = weak.lock();
            if (!conn) return;
            asio::post(strand, [conn = std::move(conn), work = std::move(work)] {
                conn->cork();
                work();
                conn->uncork();
            });
        };
    }

    std::shared_ptr<void> keep() override { return this->shared_from_this(); }

    xmpp::SessionHandlePtr handle() override {
        login_timer_.reset();  // bound: the login deadline no longer applies
        if (!handle_)
            handle_ = std::make_shared<ConnectionHandle>(weak_routed(), session_->jid(), strand_);
        return handle_;
    }

    void adopt(xmpp::SessionHandlePtr handle) override {
        handle_ = std::static_pointer_cast<ConnectionHandle>(std::move(handle));
        if (handle_) handle_->retarget(weak_routed(), strand_);
    }

    // From the router's handle, on the strand: through the session, which may hold what can
    // wait while its client is inactive (XEP-0352) or keep it for a client that comes back
    // (XEP-0198).
    void deliver_routed(xmpp::Outgoing out) override {
        if (session_)
            session_->deliver_routed(std::move(out));
        else
            send(std::move(out));
    }

    // From the router's handle, on the strand.
    void terminate(std::string_view condition, std::string_view text) override {
        if (session_) session_->stream_error(condition, text);
    }
    void set_subject(std::shared_ptr<const chat::Subject> who) override {
        if (session_) session_->set_subject(std::move(who));
    }

  protected:
    ClientConnection(Strand strand, std::string peer, bool loopback, ClientLimits limits)
        : strand_(std::move(strand)),
          peer_(std::move(peer)),
          loopback_(loopback),
          limits_(limits) {}

    Derived& self() { return static_cast<Derived&>(*this); }
    std::weak_ptr<RoutedConnection> weak_routed() {
        return std::static_pointer_cast<RoutedConnection>(this->shared_from_this());
    }

    // Creates the session and starts the login deadline. On the strand.
    void start_session(xmpp::ServerContext& ctx) {
        session_ = std::make_unique<xmpp::Session>(ctx, *this);
        login_timer_ = std::make_unique<asio::steady_timer>(strand_, limits_.login_timeout);
        login_timer_->async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
            auto conn = weak.lock();
            if (ec || !conn || conn->closed_ || conn->session_->bound()) return;
            conn->session_->login_timed_out();
            conn->hard_close_after(std::chrono::seconds(2));
        });
    }

    // The socket closes by `grace` from now, written out or not.
    void hard_close_after(std::chrono::seconds grace) {
        if (closed_) return;
        login_timer_ = std::make_unique<asio::steady_timer>(strand_, grace);
        login_timer_->async_wait([weak = this->weak_from_this()](boost::system::error_code ec) {
            auto conn = weak.lock();
            if (!ec && conn) conn->abort();
        });
    }

    // The read loop ended: the session is told, and the socket closes once what is queued
    // has been written.
    void reading_ended() {
        if (session_) session_->closed();
        if (!writing_)
            abort();
        else
            close_after_flush_ = true;
    }

    // Derived's write of `bytes` finished.
    void written(boost::system::error_code ec, size_t bytes) {
        writing_ = false;
        queued_bytes_ -= std::min(queued_bytes_, bytes);
        if (queue_.empty()) {
            // Give the memory back once the client has caught up: memory per idle session is
            // the scarcer resource (libstdc++'s empty deque keeps a block).
            std::deque<xmpp::Outgoing>().swap(queue_);
        }
        if (ec) return abort();
        if (!queue_.empty() && !self().writes_paused()) return self().write_queued();
        if (queue_.empty() && close_after_flush_) self().finish_close();
    }

    // Closes the socket now; whatever is queued is dropped.
    void abort() {
        if (closed_) return;
        closed_ = true;
        queue_.clear();
        login_timer_.reset();
        self().shutdown_stream();
        if (session_) session_->closed();
    }

    // How a stream that was asked to close, closes once everything is written (WebSocket
    // overrides it with a close frame).
    void finish_close() { abort(); }

    Strand strand_;
    std::string peer_;
    bool loopback_ = false;
    ClientLimits limits_;
    std::unique_ptr<xmpp::Session> session_;
    std::deque<xmpp::Outgoing> queue_;
    size_t queued_bytes_ = 0;
    bool writing_ = false;
    int corked_ = 0;
    bool close_after_flush_ = false;
    bool closed_ = false;

  private:
    std::shared_ptr<ConnectionHandle> handle_;
    std::unique_ptr<asio::steady_timer> login_timer_;
};

}  // namespace perch::net
