#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include <functional>
#include <memory>
#include <string>

#include "net/io.hpp"
#include "util/admission.hpp"

namespace perch::net {

using Strand = asio::strand<asio::io_context::executor_type>;

// Opens, binds and listens (address reuse on, the system's largest backlog). Throws
// std::runtime_error naming `setting` (the configuration key of the port), the address and the
// reason, e.g. "cannot listen on 0.0.0.0:5222 (c2s.port): Address already in use (another
// server may be running)".
void open_acceptor(asio::ip::tcp::acceptor& acceptor, const asio::ip::tcp::endpoint& endpoint,
                   const std::string& setting);

// Closes `acceptor` on its own executor: a strand (asio::make_strand), on which its accept
// loop runs too. Closed from another thread (a signal's handler) it raced with the loop's
// reads of it. `keep` keeps its owner alive until then.
void close_acceptor(asio::ip::tcp::acceptor& acceptor, std::shared_ptr<const void> keep);

// The client at the other end of `socket`, as logged and as the login guard sees it:
// "address:port", IPv6 in brackets ("[::1]:5222"), "?" when it cannot be told. `loopback`, if
// given, says whether it is this machine.
std::string remote_peer(const asio::ip::tcp::socket& socket, bool* loopback = nullptr);

// Accepts until the acceptor is closed; each socket comes with the strand it was accepted on,
// which then runs everything of that connection. Accept errors (out of file descriptors) are
// logged, naming `what`, and retried after a pause. With `admission`, nothing is accepted
// while it is closed (looked at before each accept, then every 20 ms until it opens; pauses
// logged at most once a minute).
asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor, IoPool& io, const char* what,
                                  std::function<void(asio::ip::tcp::socket, Strand)> accepted,
                                  std::shared_ptr<const util::Admission> admission = nullptr);

}  // namespace perch::net
