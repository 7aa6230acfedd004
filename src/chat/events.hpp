#pragma once
#include <string>
#include <variant>

#include "chat/room.hpp"
#include "store/types.hpp"

// What happens in rooms, as the room service tells it: each event once, for every server and
// client adapter to show to the occupants it serves.
namespace perch::chat {

// Why an occupant is no longer in a room.
enum class Departure {
    left,              // they left, or their session ended
    kicked,            // a manager kicked them
    affiliation_lost,  // removed from the members (or the category stopped admitting them)
    members_only,      // the room became members-only, or was disabled
    destroyed,         // the room was deleted
    server_lost,       // the pool member holding their session is gone
    banned,            // put on the room's denied list (last: the pool encodes it by number)
};

struct OccupantJoined {
    Occupant occupant;
    bool announce = true;  // false above the participant update limit
    // Taken over from the room's former server (a pool moved the room): in the room already
    // for everybody, and known to every server that follows the room.
    bool adopted = false;
};

struct PresenceChanged {
    Occupant occupant;
    bool announce = true;
};

struct NickChanged {
    Occupant occupant;  // with the new nickname
    std::string old_nick;
    bool announce = true;
};

struct OccupantLeft {
    Occupant occupant;
    Departure why = Departure::left;
    std::string text;      // the reason given, if any
    std::string presence;  // the leaver's own unavailable presence children (status), if any
    bool announce = true;  // tell the others: the nickname's last resource left, room not large
};

struct MessagePosted {
    store::Message message;  // stored, with its sequence number in the room
};

struct MessageRelayed {
    std::string nick;
    std::string occupant_id;
    std::string id;
    std::string payload;
};

struct PrivateMessage {
    std::string from_nick;
    std::string occupant_id;
    std::string to_nick;
    std::string type;
    std::string id;
    std::string payload;
    std::string from_jid;  // the sender's real full JID (blocking is by real address)
};

struct SubjectChanged {
    std::string subject;
    std::string nick;
};

struct MessageRetracted {
    store::Message message;  // as it is now: the notice in place of the text
    std::string by_nick;     // the moderator, when in the room
    std::string reason;
};

struct RoomChanged {
    store::Room meta;
    RoomRules rules;
    std::string category;
};

struct RoomDestroyed {
    std::string reason;
};

struct RoomEvent {
    using Value = std::variant<OccupantJoined, PresenceChanged, NickChanged, OccupantLeft,
                               MessagePosted, MessageRelayed, PrivateMessage, SubjectChanged,
                               MessageRetracted, RoomChanged, RoomDestroyed>;
    std::string room;  // node
    Value what;
};

// To a user wherever their sessions are, not to a room's occupants.
struct Invitation {
    std::string room;
    std::string from_jid;  // the inviter's full JID
    std::string to_user;   // username
    std::string reason;
};

// Where the room service sends what happens. Room events arrive on the room's shard, in the
// order they happened, before the reply of the command that caused them.
class RoomEventSink {
  public:
    virtual ~RoomEventSink() = default;
    virtual void room_event(const RoomEvent& event) = 0;
    virtual void invitation(const Invitation& invitation) = 0;  // any thread
};

}  // namespace perch::chat
