#include "net/acceptor.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

namespace perch::net {

using asio::ip::tcp;

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, IoPool& io, const char* what,
                                  std::function<void(tcp::socket, Strand)> accepted) {
    for (;;) {
        Strand strand = asio::make_strand(io.context());
        boost::system::error_code ec;
        tcp::socket socket =
            co_await acceptor.async_accept(strand, asio::redirect_error(asio::use_awaitable, ec));
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            // Out of file descriptors or similar: say so once per pause, then retry.
            spdlog::warn("{} accept failed: {}", what, ec.message());
            asio::steady_timer pause(io.context(), std::chrono::milliseconds(100));
            co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        accepted(std::move(socket), strand);
    }
}

}  // namespace perch::net
