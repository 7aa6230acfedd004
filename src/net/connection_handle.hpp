#pragma once
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <memory>
#include <string>

#include "xmpp/router.hpp"

namespace perch::net {

// The router's view of a bound connection (TCP or WebSocket): may outlive it, and then drops
// what it is given. `Conn` has deliver_routed(Outgoing) and terminate(condition, text), both
// called on its strand.
template <class Conn, class Strand>
class ConnectionHandle final : public xmpp::SessionHandle {
  public:
    ConnectionHandle(std::weak_ptr<Conn> conn, xmpp::Jid jid, Strand strand)
        : SessionHandle(jid.str()), conn_(std::move(conn)), jid_(std::move(jid)), strand_(strand) {}
    const xmpp::Jid& jid() const override { return jid_; }

    void deliver(xmpp::Outgoing out) override {
        auto conn = conn_.lock();
        if (!conn) return;
        boost::asio::post(strand_, [conn = std::move(conn), out = std::move(out)]() mutable {
            conn->deliver_routed(std::move(out));
        });
    }

    void terminate(std::string_view condition, std::string_view text) override {
        auto conn = conn_.lock();
        if (!conn) return;
        boost::asio::post(strand_, [conn = std::move(conn), c = std::string(condition),
                                    t = std::string(text)] { conn->terminate(c, t); });
    }

  private:
    std::weak_ptr<Conn> conn_;
    xmpp::Jid jid_;
    Strand strand_;
};

}  // namespace perch::net
