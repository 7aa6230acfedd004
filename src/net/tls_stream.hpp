#pragma once
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <string>

#include "net/acceptor.hpp"

namespace perch::net {

// A TLS connection over a TCP stream with deadlines: the web services' and the pool links'.
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

// A connection accepted on the pool port (8011) that is not an HTTP request: a server of the
// pool linking to this one. It comes after the TLS handshake, with the bytes read to tell.
struct PeerConnection {
    TlsStream stream;
    Strand strand;
    std::string read;  // the first bytes of its first frame
    std::string peer;  // address:port
};

// Who takes such connections (the pool's links).
class PeerPort {
  public:
    virtual ~PeerPort() = default;
    virtual void adopt(PeerConnection connection) = 0;
};

}  // namespace perch::net
