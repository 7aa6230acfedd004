#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <functional>

#include "net/io.hpp"

namespace perch::net {

using Strand = asio::strand<asio::io_context::executor_type>;

// Opens, binds and listens (address reuse on, the system's largest backlog).
void open_acceptor(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint);

// Accepts until the acceptor is closed; each socket comes with the strand it was accepted on,
// which then runs everything of that connection. Accept errors (out of file descriptors) are
// logged, naming `what`, and retried after a pause.
asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, IoPool& io, const char* what,
                                  std::function<void(asio::ip::tcp::socket, Strand)> accepted);

}  // namespace perch::net
