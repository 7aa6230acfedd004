#pragma once
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace perch::xmpp {

// How the rest of the server reaches one bound client session, from any thread. deliver()
// queues the bytes on the session's own executor; a closed session drops them.
class SessionHandle {
  public:
    virtual ~SessionHandle() = default;
    virtual const Jid& jid() const = 0;  // full JID
    virtual void deliver(Outgoing out) = 0;
    // Ends the session with a stream error (e.g. <conflict/> when replaced by a new login).
    virtual void terminate(std::string_view condition, std::string_view text) = 0;
};
using SessionHandlePtr = std::shared_ptr<SessionHandle>;

// The registry of bound sessions: bare JID -> resources. The one place sessions meet; guarded
// by a reader/writer lock that is never held while calling out.
class Router {
  public:
    // Registers a session. A session already bound to the same full JID is returned so the
    // caller can terminate it (RFC 6120 7.7.2.2: the new one wins).
    SessionHandlePtr bind(SessionHandlePtr session);
    void unbind(const SessionHandle& session);

    SessionHandlePtr find(const Jid& full) const;
    std::vector<SessionHandlePtr> resources(const Jid& bare) const;
    size_t session_count() const;
    std::vector<SessionHandlePtr> all() const;

  private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::vector<SessionHandlePtr>> by_bare_;
    size_t count_ = 0;
};

}  // namespace perch::xmpp
