#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <chrono>
#include <memory>

#include "net/client_connection.hpp"
#include "net/io.hpp"
#include "util/admission.hpp"
#include "xmpp/session.hpp"

namespace perch::net {

struct C2sOptions {
    bool direct_tls = false;  // XEP-0368: TLS from the first byte (port 5223)
    ClientLimits limits;
    // While closed no connection is accepted (see util::Admission); none: always open.
    std::shared_ptr<const util::Admission> admission;
};

// Accepts XMPP client connections on one endpoint and runs a Session on each.
class C2sListener {
  public:
    C2sListener(IoPool& io, xmpp::ServerContext& ctx, boost::asio::ssl::context& tls,
                const boost::asio::ip::tcp::endpoint& endpoint, C2sOptions options);
    ~C2sListener();
    void start();
    void stop();
    uint16_t port() const;
    static size_t open_connections();

  private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace perch::net
