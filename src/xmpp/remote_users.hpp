#pragma once
#include <functional>
#include <string>

#include "xmpp/router.hpp"

// One-to-one messages across the servers of a pool: a user's sessions may be on any server.
namespace perch::xmpp {

// The other servers of a pool, as one-to-one messaging sees them (pool/pool_users.* over the
// peer links). Each server delivers an offered message to its own sessions of the recipient
// and gives the parties' other sessions there their carbon copies.
class RemoteUsers {
  public:
    virtual ~RemoteUsers() = default;
    struct Offer {
        std::string to, from;  // as routed: `to` bare or full, `from` the sender's full JID
        std::string stanza;    // the message as delivered (serialized, jabber:client)
        bool found = false;    // `to` names a resource, and the sending server delivered to it
        bool copies = true;    // carbon copies go to the parties' other sessions
    };
    // `done(delivered)`, on some thread, once every other server answered (or could not):
    // whether any of them delivered it. No `done`: nobody waits for the answers.
    virtual void offer(Offer offer, std::function<void(bool delivered)> done) = 0;
};

// A server's side of an offer from another server: delivers it to this server's sessions of
// the recipient, with carbon copies; returns whether the addressed resource (or, for a bare
// JID, any resource) was here. In xmpp/direct_messages.cpp.
bool deliver_offered(Router& router, const RemoteUsers::Offer& offer);

}  // namespace perch::xmpp
