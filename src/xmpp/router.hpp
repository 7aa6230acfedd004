#pragma once
#include <atomic>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "xmpp/jid.hpp"
#include "xmpp/stanza.hpp"

namespace perch::chat {
struct Subject;
}

namespace perch::xmpp {

class Service;

// How the rest of the server reaches one bound client session, from any thread. deliver()
// queues the bytes on the session's own executor; a closed session drops them.
class SessionHandle {
  public:
    explicit SessionHandle(std::string address) : address_(std::move(address)) {}
    virtual ~SessionHandle() = default;
    virtual const Jid& jid() const = 0;                      // full JID
    const std::string& address() const { return address_; }  // the full JID as text
    virtual void deliver(Outgoing out) = 0;
    // Ends the session with a stream error (e.g. <conflict/> when replaced by a new login).
    virtual void terminate(std::string_view condition, std::string_view text) = 0;
    // Who the user is as the rules see them changed (an administrator's change to their groups
    // or policy): the session judges its next requests by `who`.
    virtual void set_subject(std::shared_ptr<const chat::Subject> who) = 0;
    // False once the session has been unbound: work that registered it somewhere after that
    // moment undoes it (see Router::unbind).
    bool alive() const { return alive_.load(); }
    // Message Carbons (XEP-0280): the session gets copies of its user's other conversations.
    bool carbons() const { return carbons_.load(std::memory_order_relaxed); }
    void set_carbons(bool on) { carbons_.store(on, std::memory_order_relaxed); }
    // False while the session's connection is gone and it waits to be resumed (XEP-0198):
    // what it is sent waits too, and a push notification (XEP-0357) may wake its client.
    bool connected() const { return connected_.load(std::memory_order_relaxed); }
    void set_connected(bool on) { connected_.store(on, std::memory_order_relaxed); }

  private:
    friend class Router;
    std::string address_;
    std::atomic<bool> alive_{true};
    std::atomic<bool> carbons_{false};
    std::atomic<bool> connected_{true};
};
using SessionHandlePtr = std::shared_ptr<SessionHandle>;

// The registry of bound sessions (bare JID -> resources) and of the services on their own
// domains. The one place sessions meet; guarded by a reader/writer lock that is never held
// while calling out. Services are registered before the server serves, and never removed.
class Router {
  public:
    void add_service(Service& service);
    Service* service(std::string_view domain) const;
    const std::vector<Service*>& services() const { return services_; }
    // The session ends: unbound, marked not alive, and every service told (in that order).
    void session_ended(SessionHandle& session);

    // Registers a session. A session already bound to the same full JID is returned so the
    // caller can terminate it (RFC 6120 7.7.2.2: the new one wins).
    SessionHandlePtr bind(SessionHandlePtr session);
    void unbind(SessionHandle& session);

    SessionHandlePtr find(const Jid& full) const;
    std::vector<SessionHandlePtr> resources(const Jid& bare) const;
    size_t session_count() const;
    std::vector<SessionHandlePtr> all() const;

  private:
    std::vector<Service*> services_;
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::vector<SessionHandlePtr>> by_bare_;
    size_t count_ = 0;
};

}  // namespace perch::xmpp
