#pragma once
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <mutex>
#include <string>

#include "net/acceptor.hpp"
#include "xmpp/router.hpp"

namespace perch::net {

// A client connection (TCP or WebSocket) as its handle reaches it: both called on its strand.
class RoutedConnection {
  public:
    virtual ~RoutedConnection() = default;
    virtual void deliver_routed(xmpp::Outgoing out) = 0;
    virtual void terminate(std::string_view condition, std::string_view text) = 0;
    virtual void set_subject(std::shared_ptr<const chat::Subject> who) = 0;
};

// The router's view of a bound session: may outlive its connection, and then drops what it
// is given. A session resumed on a new connection (XEP-0198) keeps its handle, which is then
// pointed at the new connection: every stanza handed to the handle before that moment is
// posted to the old connection's strand first, so the old session has them all when it hands
// over, and nothing is lost or reordered.
class ConnectionHandle final : public xmpp::SessionHandle {
  public:
    ConnectionHandle(std::weak_ptr<RoutedConnection> conn, xmpp::Jid jid, Strand strand)
        : SessionHandle(jid.str()),
          conn_(std::move(conn)),
          jid_(std::move(jid)),
          strand_(std::move(strand)) {}
    const xmpp::Jid& jid() const override { return jid_; }

    void deliver(xmpp::Outgoing out) override {
        std::lock_guard lock(mutex_);
        auto conn = conn_.lock();
        if (!conn) return;
        boost::asio::post(strand_, [conn = std::move(conn), out = std::move(out)]() mutable {
            conn->deliver_routed(std::move(out));
        });
    }

    void terminate(std::string_view condition, std::string_view text) override {
        std::lock_guard lock(mutex_);
        auto conn = conn_.lock();
        if (!conn) return;
        boost::asio::post(strand_, [conn = std::move(conn), c = std::string(condition),
                                    t = std::string(text)] { conn->terminate(c, t); });
    }

    void set_subject(std::shared_ptr<const chat::Subject> who) override {
        std::lock_guard lock(mutex_);
        auto conn = conn_.lock();
        if (!conn) return;
        boost::asio::post(strand_, [conn = std::move(conn), who = std::move(who)]() mutable {
            conn->set_subject(std::move(who));
        });
    }

    // From now on, what the handle is given goes to `conn`.
    void retarget(std::weak_ptr<RoutedConnection> conn, Strand strand) {
        std::lock_guard lock(mutex_);
        conn_ = std::move(conn);
        strand_ = std::move(strand);
    }

  private:
    std::mutex mutex_;
    std::weak_ptr<RoutedConnection> conn_;
    xmpp::Jid jid_;
    Strand strand_;
};

}  // namespace perch::net
