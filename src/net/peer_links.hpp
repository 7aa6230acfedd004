#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "net/acceptor.hpp"
#include "net/io.hpp"
#include "net/tls_stream.hpp"
#include "pool/links.hpp"
#include "pool/membership.hpp"

namespace perch::net {

// The links between the servers of a pool (the pool port, 8011 by default, which the admin
// API shares: the HTTP listener there hands over what is not HTTP): TLS, then each
// side proves it knows the pool's secret (an HMAC over the other side's fresh nonce and the
// TLS session's exported keying material, so a proof cannot be relayed into another
// session); a stranger is logged and cut off. Frames are a 4-byte length and a JSON object.
// One link per pair: the server with the lower pool number dials, and dials again while the
// other is live. Heartbeats every second; a link silent for five is closed. A link whose
// queue passes its bound is closed (the room's sequence numbers let the other side catch up)
// rather than let memory grow. A server that leaves the live set here (its lease lapsed) is
// told it was taken for gone before its link closes: one cut off from the database alone
// stops then (Membership::told_gone) instead of keeping its clients in rooms it left.
class PeerLinks final : public pool::Links, public PeerPort {
  public:
    PeerLinks(IoPool& io, pool::Membership& membership, pool::FrameHandler& handler);
    ~PeerLinks() override;

    // A server of the pool linking to this one, accepted on the pool port.
    void adopt(PeerConnection connection) override;
    void stop();

    bool send(uint32_t number, const pool::Json& frame) override;
    std::vector<uint32_t> send_each(const std::vector<uint32_t>& numbers,
                                    const pool::Json& frame) override;
    bool linked(uint32_t number) const override;
    void members_changed(const std::vector<store::PoolMember>& live) override;

    class Link;

  private:
    friend class Link;
    void dial(const store::PoolMember& peer);
    asio::awaitable<void> connect_from(asio::ip::tcp::socket& socket,
                                       const asio::ip::tcp::resolver::results_type& endpoints,
                                       boost::system::error_code& ec);
    void authenticated(uint32_t number, const std::shared_ptr<Link>& link);
    void closed(uint32_t number, const Link* link, bool dialed);
    // A link this server dialed ended before it was authenticated: dialed again while the
    // other server is live.
    void dial_failed(uint32_t number);

    IoPool& io_;
    asio::ssl::context client_tls_;
    pool::Membership& membership_;
    pool::FrameHandler& handler_;
    mutable std::mutex mutex_;
    std::map<uint32_t, std::shared_ptr<Link>> links_;  // authenticated, by pool number
    std::set<uint32_t> dialing_;
    bool stopping_ = false;
};

}  // namespace perch::net
