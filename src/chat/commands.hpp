#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/authz.hpp"
#include "chat/room.hpp"
#include "store/types.hpp"

// The typed commands and queries of the room service, with their results. Plain data, so that
// a command can be built by any adapter (XMPP, the REST API, a peer server of a pool) and
// carried across a link. Rooms are named by their node (the localpart of the room's JID).
namespace perch::chat {

using SubjectPtr = std::shared_ptr<const Subject>;

// Who acts: the rules' view of them and, for a client, its session's address.
struct Actor {
    SubjectPtr who;                   // null for the server itself
    std::string full_jid;             // the client's full JID; empty for the web API
    uint32_t server = 0;              // the pool member holding that client (its number); 0: here
    const std::string& user() const;  // who->user, or empty
};

// Joining, leaving, presence ----------------------------------------------------------------

// An available presence to a room under a nickname.
struct JoinCommand {
    std::string room;
    Actor actor;  // a client: full_jid is set
    std::string nick;
    std::string presence;      // serialized presence children the room passes on
    bool join_element = true;  // the client said it joins (XEP-0045 <x/>): an occupant rejoins
    HistoryRequest history;
};

struct JoinResult {
    bool joined = true;  // false: a status change or a new nickname, shown by events alone
    Occupant self;
    bool created = false;          // this join created the room
    bool large = false;            // over the participant update limit: no list, no broadcasts
    std::vector<Occupant> others;  // one per nickname other than the joiner's; empty when large
    std::vector<store::Message> history;  // to replay, oldest first
    std::string subject, subject_nick;
    // Pools: `others` left out because the asking server follows the room and knows them.
    bool others_omitted = false;
    // The room's newest message when the join was done: a pool server that follows the room
    // shows what comes after it, and reads from the database what it missed after it.
    int64_t last_seq = 0;
};

struct LeaveCommand {
    std::string room;
    std::string full_jid;
    std::string presence;  // the unavailable presence's children (status text), passed on
};

// Talking ------------------------------------------------------------------------------------

struct PostCommand {
    std::string room;
    std::string full_jid;  // an occupant
    std::string origin_id;
    store::MessageKind kind = store::MessageKind::normal;
    std::string body;
    std::string payload;             // serialized extra children kept with the message
    std::vector<std::string> files;  // ids of uploaded files the message links to
};

// Where a post landed: its place in the room and its stable id. A post the room already has
// (the same sender, client id and text among the newest messages: a client's retry after an
// acknowledgement was lost) is not stored again; `repeated` is the stored one, which only the
// sender is shown again.
struct Posted {
    int64_t seq = 0;
    std::string stanza_id;
    std::optional<store::Message> repeated;
};

// Traffic shown to occupants and never stored (chat states, body-less markers).
struct RelayCommand {
    std::string room;
    std::string full_jid;
    std::string id;
    std::string payload;
};

struct PrivateCommand {  // XEP-0045 7.5: to every resource of one nickname
    std::string room;
    std::string full_jid;
    std::string to_nick;
    std::string type;
    std::string id;
    std::string payload;
};

struct SubjectCommand {
    std::string room;
    std::string full_jid;
    std::string subject;
};

// Administration -----------------------------------------------------------------------------

// A change of a room's settings; fields left empty change nothing.
struct SettingsChange {
    std::optional<std::string> name, description, category;
    std::optional<std::string> addin;  // a registered add-in's name; empty: none
    std::optional<store::Privacy> privacy;
    std::optional<store::RoomType> type;
    std::optional<bool> invitations, disabled, occupants_change_subject;
    bool drop_outsiders = false;  // moving: remove members the new category does not admit
};

struct ConfigureCommand {
    std::string room;
    Actor actor;
    SettingsChange change;
};

struct ListChange {
    store::RoomList list;
    store::Principal principal;  // a user, a group or everyone
    bool present = true;         // add, or remove
    std::string nick;            // when set: the user is the occupant with this nickname
};

struct ListsCommand {  // applied together, in one transaction
    std::string room;
    Actor actor;
    std::vector<ListChange> changes;
};

struct KickCommand {
    std::string room;
    Actor actor;
    std::string nick;
    std::string reason;
};

struct ModerateCommand {  // remove a message for everybody, keeping a notice in its place
    std::string room;
    Actor actor;
    std::string stanza_id;
    std::string reason;
    std::string replacement;  // the text left in its place; empty: a notice of the removal
};

struct InviteCommand {
    std::string room;
    Actor actor;          // an occupant inviting
    std::string invitee;  // username
    std::string reason;
};

struct DestroyCommand {  // administrators only: the room and its history go
    std::string room;
    Actor actor;
    std::string reason;
};

struct ClearHistoryCommand {
    std::string room;
    Actor actor;
    int64_t before_us = 0;
};

struct CreateCommand {
    Actor actor;
    store::Room room;  // node, name, description, privacy, type
    std::string category;
    bool creator_manages = true;  // the creator becomes its manager (not an admin account)
};

// Queries ------------------------------------------------------------------------------------

struct ArchiveCommand {
    std::string room;
    Actor actor;
    store::ArchiveQuery query;
};

struct SearchCommand {  // every room the actor may search, or only the ones they follow
    Actor actor;
    store::ArchiveQuery query;
    bool followed_only = false;
};

struct SearchResult {
    store::ArchivePage page;
    std::map<int64_t, std::string> rooms;  // room id -> node, for every message of the page
};

// A room as discovery and its settings form show it.
struct RoomInfo {
    store::Room meta;
    RoomRules rules;
    std::string category;
    std::string addin_url;  // of the room's add-in (meta.addin), if it has one
    size_t occupants = 0;
    bool may_configure = false;
    std::vector<std::string> move_targets;  // categories a manager may move it to (theirs)
};

// A room the actor follows, and how much of it they have not read.
struct Followed {
    store::Room meta;
    int64_t unread = 0;  // counted up to a cap
    bool more = false;   // the count stopped at the cap
    std::optional<store::Message> newest;
};

}  // namespace perch::chat
