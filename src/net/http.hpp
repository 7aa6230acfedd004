#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "net/http_message.hpp"
#include "net/io.hpp"
#include "util/admission.hpp"
#include "xmpp/session.hpp"

// The HTTP/1.1 server (Beast) shared by the web services: it reads requests, hands them to a
// handler and writes the answers; an upgrade to WebSocket at the XMPP path becomes an XMPP
// session like a TCP one. What the requests mean is the handler's business (web/).
namespace perch::net {

// How the body of a request is to be read, decided from its head.
struct BodyPlan {
    uint64_t limit = uint64_t{64} * 1024;  // larger bodies are refused with 413
    std::string to_file;                   // stream the body into this file instead of memory
    std::optional<HttpResponse> refuse;    // answer at once, without reading the body
};

class HttpHandler {
  public:
    virtual ~HttpHandler() = default;
    virtual BodyPlan plan_body(const HttpRequest& head) = 0;
    // `respond` may be called once, from any thread.
    virtual void handle(HttpRequest request, std::function<void(HttpResponse)> respond) = 0;
    // Every request, answered (for the metrics).
    virtual void count(unsigned status) { (void)status; }
};

class PeerPort;  // net/tls_stream.hpp

struct HttpOptions {
    std::string setting = "http.port";  // the configuration key of its port, for errors
    bool tls = false;
    // The pool port: after the TLS handshake, a connection whose first byte cannot start an
    // HTTP request (a method is upper-case letters) is a pool server's link, handed to this.
    PeerPort* peers = nullptr;
    std::string websocket_path = "/xmpp-websocket";
    // Origins (scheme://host[:port]) whose pages may open the WebSocket, besides the one the
    // request itself names (its scheme and Host). A request without Origin is not from a
    // browser page and is let through.
    std::vector<std::string> websocket_origins;
    std::chrono::seconds idle_timeout{60};       // between requests on a kept-alive connection
    std::chrono::seconds transfer_timeout{300};  // to read a body or write an answer
    // A body that trickles is cut off: after body_grace, the bytes so far must have come at
    // min_body_rate a second on average (0: only transfer_timeout).
    uint64_t min_body_rate = 1024;
    std::chrono::seconds body_grace{10};
    size_t max_send_queue = size_t{1024} * 1024;  // WebSocket sessions, as for TCP
    std::chrono::seconds login_timeout{60};
    // While closed, a WebSocket upgrade is answered 503 with Retry-After (the client tries
    // again, as XMPP clients are held in the backlog): a reconnection storm of web clients
    // waits outside too. Pages, files and the APIs are served as ever.
    std::shared_ptr<const util::Admission> admission;
};

// Accepts HTTP (or HTTPS) connections on one endpoint.
class HttpListener {
  public:
    HttpListener(IoPool& io, xmpp::ServerContext& xmpp, HttpHandler& handler,
                 boost::asio::ssl::context& tls, const boost::asio::ip::tcp::endpoint& endpoint,
                 HttpOptions options);
    ~HttpListener();
    void start();
    void stop();
    uint16_t port() const;

  private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace perch::net
