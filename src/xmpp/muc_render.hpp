#pragma once
#include <memory>
#include <string>
#include <vector>

#include "chat/events.hpp"
#include "chat/room.hpp"
#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

// Building the stanzas a room sends, straight into bytes: each is rendered once and shared by
// every recipient (a PreparedStanza: only the `to` address differs per delivery).
namespace perch::xmpp::muc {

// A room message as every occupant gets it; with a delay element when replayed as history.
std::shared_ptr<const PreparedStanza> render_message(const store::Message& m,
                                                     const std::string& room_bare, bool delayed);
// Traffic relayed without being stored (chat states, markers), from one occupant.
std::shared_ptr<const PreparedStanza> render_relay(const chat::MessageRelayed& r,
                                                   const std::string& room_bare);
// A private message from one occupant to another nickname (XEP-0045 7.5).
std::shared_ptr<const PreparedStanza> render_private(const chat::PrivateMessage& m,
                                                     const std::string& room_bare);
std::shared_ptr<const PreparedStanza> render_subject(const std::string& room_bare,
                                                     const std::string& subject,
                                                     const std::string& nick);
// A message removed by a moderator, in both versions of XEP-0425 that clients speak; `by` is
// the moderator's occupant JID, or the room's.
std::shared_ptr<const PreparedStanza> render_retraction(const std::string& room_bare,
                                                        const std::string& stanza_id,
                                                        const std::string& by,
                                                        const std::string& reason);
// What the archive keeps in place of a removed message (XEP-0425 section 6), serialized.
std::string render_tombstone(const std::string& by, const std::string& reason, int64_t at_us);
// A mediated invitation (XEP-0045 7.8.2) as the invitee gets it.
std::shared_ptr<const PreparedStanza> render_invitation(const chat::Invitation& inv,
                                                        const std::string& room_bare);

// An occupant's presence as others see it (a non-anonymous room: the real JID is included).
struct PresenceView {
    const chat::Occupant& occupant;
    const std::string& payload;   // the occupant's own presence children, serialized
    std::vector<int> codes = {};  // status codes: 110 for self, 201 for a new room …
    bool unavailable = false;
    std::string new_nick = {};  // a nickname change (303)
    std::string reason = {};    // why they were removed
    bool destroyed = false;     // the room was deleted (XEP-0045 10.9)
};
std::shared_ptr<const PreparedStanza> render_presence(const PresenceView& v,
                                                      const std::string& room_bare);

}  // namespace perch::xmpp::muc
