#pragma once
#include <memory>
#include <optional>
#include <string>

#include "chat/authz.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/router.hpp"
#include "xmpp/stanza.hpp"

namespace perch::xmpp {

// A service on a domain of its own (the chat service on chat.DOMAIN): the router hands it
// every stanza a local user addresses to that domain, and tells it when sessions end.
class Service {
  public:
    virtual ~Service() = default;
    virtual const std::string& domain() const = 0;
    virtual std::string name() const = 0;  // in the server's disco#items
    // A stanza from a bound session (`from` is its full JID) to the service or an address on
    // it. `who` is the sender as the rules see them.
    virtual void handle(xml::Element stanza, const Jid& from, const Jid& to,
                        SessionHandlePtr sender, std::shared_ptr<const chat::Subject> who) = 0;
    // The session is gone, or told the server it is unavailable: it leaves whatever it was in.
    virtual void session_ended(const Jid& full) = 0;
    // A message between users that names an address of this service (an XEP-0249 direct
    // invitation to a room): an error when the sender may not send it, nullopt to let it pass.
    virtual std::optional<StanzaError> vet_invitation(const chat::Subject& who,
                                                      const Jid& address) const = 0;
};

}  // namespace perch::xmpp
