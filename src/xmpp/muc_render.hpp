#pragma once
#include <memory>
#include <string>
#include <vector>

#include "chat/room.hpp"
#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

// Building the stanzas a room sends. Messages are built straight into bytes (a stored message
// keeps its extra payload as serialized XML), presences as elements.
namespace perch::xmpp::muc {

std::string room_jid(const chat::Room& room, std::string_view domain);
std::string occupant_jid(const chat::Room& room, std::string_view domain, std::string_view nick);

// A room message as every occupant gets it; with a delay element when replayed as history.
std::shared_ptr<const PreparedStanza> render_message(const store::Message& m,
                                                     const std::string& room_bare, bool delayed);
// A body-less relay (chat states and other no-store traffic) from one occupant.
std::shared_ptr<const PreparedStanza> render_relay(const xml::Element& original,
                                                   const std::string& from_occupant,
                                                   const std::string& occupant_id);
xml::Element render_subject(const chat::Room& room, std::string_view domain);

// An occupant's presence as others see it (non-anonymous room: real JID included).
// `status_codes` are added to the muc#user element (110 for self, 201 for created …).
xml::Element render_presence(const chat::Occupant& o, const std::string& from,
                             const std::vector<xml::Element>& extra_children,
                             const std::vector<int>& status_codes, bool unavailable);

}  // namespace perch::xmpp::muc
