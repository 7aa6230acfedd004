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

#include "net/io.hpp"
#include "xmpp/session.hpp"

// The HTTP/1.1 server (Beast) shared by the web services: it reads requests, hands them to a
// handler and writes the answers; an upgrade to WebSocket at the XMPP path becomes an XMPP
// session like a TCP one. What the requests mean is the handler's business (web/).
namespace perch::net {

struct HttpRequest {
    std::string method;                          // GET, PUT, …
    std::string target;                          // path and query, as sent
    std::string path;                            // percent-decoded path, without the query
    std::string query;                           // after '?', raw
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;                            // the body, when it was read into memory
    std::string body_file;    // the file the body was written to, when the handler asked so
    uint64_t body_bytes = 0;  // how many body bytes arrived
    bool secure = false;      // over TLS
    bool loopback = false;    // from this machine
    std::string peer;         // address:port of the client

    const std::string* header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? nullptr : &it->second;
    }
};

struct HttpResponse {
    unsigned status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string file;  // when set, the body is this file's content (downloads)

    HttpResponse& set(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

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

struct HttpOptions {
    bool tls = false;
    std::string websocket_path = "/xmpp-websocket";
    // Origins (scheme://host[:port]) whose pages may open the WebSocket, besides the one the
    // request itself names (its scheme and Host). A request without Origin is not from a
    // browser page and is let through.
    std::vector<std::string> websocket_origins;
    std::chrono::seconds idle_timeout{60};        // between requests on a kept-alive connection
    std::chrono::seconds transfer_timeout{300};   // to read a body or write an answer
    size_t max_send_queue = size_t{1024} * 1024;  // WebSocket sessions, as for TCP
    std::chrono::seconds login_timeout{60};
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
