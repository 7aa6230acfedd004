// The web services' connections over plain TCP: HttpConnection and WsConnection instantiated for
// one stream type (see http_connection.hpp).
#include "net/http_connection.hpp"

namespace perch::net::http_detail {

void serve_plain(tcp::socket socket, const Strand& strand, Shared& shared, std::string peer,
                 bool loopback) {
    auto c = std::make_shared<HttpConnection<PlainStream>>(PlainStream(std::move(socket)), strand,
                                                           shared, std::move(peer), loopback);
    asio::co_spawn(
        strand, [c] { return c->run(); }, asio::detached);
}

}  // namespace perch::net::http_detail
