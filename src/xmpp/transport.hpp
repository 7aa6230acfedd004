#pragma once
#include <functional>
#include <memory>
#include <string>

#include "xmpp/router.hpp"
#include "xmpp/stanza.hpp"

namespace perch::xmpp {

// What a client session needs from the connection under it. TCP (net/c2s_listener) and
// WebSocket implement it; Session never knows which, beyond the framing it must speak.
class Transport {
  public:
    enum class Framing { tcp_stream, websocket };
    virtual ~Transport() = default;

    virtual Framing framing() const = 0;
    virtual void send(Outgoing out) = 0;  // queue bytes; called on the connection's executor
    virtual bool secure() const = 0;
    virtual bool can_start_tls() const = 0;
    virtual void start_tls() = 0;  // after what is queued now has been written
    virtual void close() = 0;      // after what is queued now has been written
    virtual bool loopback() const = 0;
    virtual std::string peer() const = 0;
    // A function, callable from any thread at any time, that runs work on the connection's
    // executor if the connection still exists then. Store callbacks reach the session by it.
    using Poster = std::function<void(std::function<void()>)>;
    // Work posted this way runs only while the session is not over (a session waiting to be
    // resumed is not).
    virtual Poster poster() = 0;
    // Runs work on the connection's executor whatever the session's state, as long as the
    // connection object exists (see keep()).
    virtual Poster runner() = 0;
    // A reference that keeps the connection object (not its socket) alive: a session waiting
    // to be resumed lives in it (XEP-0198).
    virtual std::shared_ptr<void> keep() = 0;
    // The handle the router and rooms use to reach this session.
    virtual SessionHandlePtr handle() = 0;
    // Stream resumption: this connection takes over `handle`, the session's handle until now
    // on another connection; what is given to the handle from now on comes here. nullptr
    // lets go of an adopted handle (the resumption failed).
    virtual void adopt(SessionHandlePtr handle) = 0;
};

}  // namespace perch::xmpp
