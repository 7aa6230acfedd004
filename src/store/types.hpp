#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// Plain records exchanged with the store. They name data, not SQL: both back ends map them to
// tables of their own.
namespace perch::store {

struct User {
    int64_t id = 0;
    std::string username;  // nodeprep'd localpart
    std::string display_name;
    std::string email;
    bool disabled = false;
    std::string scram_sha1;      // ScramCredential::encode()
    std::string scram_sha256;    // ScramCredential::encode()
    bool administrator = false;  // persistent chat administrator: every room, every action
    int64_t created_us = 0;
};

// An account of the admin API (port 8011): not a chat login. Its role says what it may do:
// everything, compliance only (export, verify, settings), or read without changing.
enum class AdminRole { administrator, compliance_officer, read_only };
std::string_view to_string(AdminRole r);
std::optional<AdminRole> parse_admin_role(std::string_view s);

struct AdminAccount {
    std::string name;
    AdminRole role = AdminRole::read_only;
    std::string credential;  // salted SCRAM-SHA-256 (xmpp::ScramCredential::encode()), no password
    bool disabled = false;
    int64_t created_us = 0;
};

// An add-in (the original's): a web pane a room shows beside its conversation, registered once
// by name and chosen by rooms (Room::addin holds the name).
struct Addin {
    std::string name;
    std::string url;
    int64_t created_us = 0;
};

struct Category {
    int64_t id = 0;
    std::string name;
    std::string description;
    bool invitations = true;
    bool file_upload = true;
    bool chat_history = true;
    int64_t created_us = 0;
};

enum class Privacy { open, closed, secret };
enum class RoomType { normal, auditorium };
std::string_view to_string(Privacy p);
std::string_view to_string(RoomType t);
std::optional<Privacy> parse_privacy(std::string_view s);
std::optional<RoomType> parse_room_type(std::string_view s);

// A user or a group named in a category's or a room's lists; `everyone` matches every user.
struct Principal {
    enum class Kind { user, group, everyone } kind = Kind::user;
    std::string name;  // username or group name; empty for everyone
    static Principal user(std::string n) { return {Kind::user, std::move(n)}; }
    static Principal group(std::string n) { return {Kind::group, std::move(n)}; }
    static Principal all() { return {Kind::everyone, {}}; }
    friend bool operator==(const Principal&, const Principal&) = default;
};
std::string to_string(const Principal& p);  // "user:alice", "group:staff", "everyone"
std::optional<Principal> parse_principal(std::string_view s);

// The lists a category keeps (allowed, denied, creator) and a room keeps (member, manager,
// presenter, denied).
enum class CategoryList { allowed, denied, creator };
// A room's denied list is its own ban list (XEP-0045 outcasts): it wins over every other list of
// the room, as the category's denied list wins over the category's.
enum class RoomList { member, manager, presenter, denied };
std::string_view to_string(CategoryList l);
std::string_view to_string(RoomList l);
std::optional<CategoryList> parse_category_list(std::string_view s);
std::optional<RoomList> parse_room_list(std::string_view s);

struct Group {
    int64_t id = 0;
    std::string name;
    std::string description;
};

// Persistent chat policy as set at each level; unset levels say nothing.
struct PolicySettings {
    std::optional<bool> global;
    std::map<std::string, bool> groups;  // group name -> enabled
    std::optional<bool> user;
};

struct Room {
    int64_t id = 0;
    std::string node;  // the room JID's localpart, nodeprep'd
    std::string name;  // display name
    std::string description;
    int64_t category_id = 0;
    Privacy privacy = Privacy::open;
    RoomType type = RoomType::normal;
    std::string subject;
    std::string subject_nick;
    bool disabled = false;
    bool invitations = true;
    std::string addin;  // name of the room's add-in (Addin), or empty
    // Whether anyone who may speak in the room may change its subject; otherwise only its
    // managers may, as with every other room setting.
    bool occupants_change_subject = false;
    int64_t last_seq = 0;
    int64_t created_us = 0;
};

enum class MessageKind { normal = 0, alert = 1, story = 2 };

// A message as posted, before the store gives it its place in the room.
struct NewMessage {
    int64_t room_id = 0;
    std::string stanza_id;  // XEP-0359, chosen by the server
    std::string origin_id;  // the client's id attribute, echoed back to the sender
    std::string sender;     // bare JID of the author
    std::string nick;
    std::string occupant_id;
    MessageKind kind = MessageKind::normal;
    std::string body;
    std::string payload;  // serialized extra children kept with the message (e.g. XEP-0066)
    int64_t ts_us = 0;
    // In a pool: the room's epoch held by the server committing it. The commit is refused
    // (the message comes back with seq 0) when the room has since been claimed by another
    // server. 0 outside pools: no check.
    int64_t epoch = 0;
};

struct Message : NewMessage {
    int64_t seq = 0;  // 1, 2, 3 … per room, assigned at commit (0: refused, see epoch)
    bool removed = false;
};

// A file posted into rooms (XEP-0363). Its bytes live in the file store under their SHA-256.
// What serving a room needs from the store: its record, its lists and its newest messages.
struct ServedRoom {
    Room room;
    std::vector<std::pair<RoomList, Principal>> principals;
    std::vector<Message> recent;  // oldest first
};

struct FileRecord {
    std::string id;      // unguessable, in the download URL
    std::string sha256;  // hex
    uint64_t size = 0;
    std::string content_type;
    std::string name;
    std::string owner;  // username of the uploader
    int64_t created_us = 0;
};

// A compliance event (issue 5) as captured in the content database's outbox, in the same
// transaction as the change it describes; the compliance service moves it on.
struct ComplianceEvent {
    int64_t id = 0;  // outbox id: the order of capture
    int64_t ts_us = 0;
    std::string type;      // CHAT, JOIN, PART, BACKCHAT, FILEUPLOAD, … (docs/COMPLIANCE.md)
    std::string actor;     // username; empty for the system or an administrator's command
    std::string room;      // room node, when the event concerns a room
    std::string category;  // the room's category, or the category concerned
    std::string content;   // JSON object with the details (message text, changes …)
};

// An event stamped now, its details a flat JSON object.
ComplianceEvent make_event(std::string type, std::string actor, std::string room,
                           std::string category,
                           const std::vector<std::pair<std::string, std::string>>& details);

// How far a user has read in a room: the sequence number of the last message seen.
struct ReadMark {
    std::string username;
    int64_t room_id = 0;
    int64_t seq = 0;
};

// Where a user stands in a room they follow.
struct RoomActivity {
    int64_t room_id = 0;
    int64_t read_seq = 0;           // the last message they have seen (0: none)
    int64_t unread = 0;             // messages after it, counted up to a cap
    std::optional<Message> newest;  // the room's newest message, if any
};

// A page request on one room's archive (XEP-0313 with XEP-0059 paging). Ids are stanza ids.
struct ArchiveQuery {
    int64_t room_id = 0;
    std::vector<int64_t> room_ids;  // when not empty: search all of these rooms instead
    bool any_word = false;          // full-text: any of the terms instead of all of them
    bool case_sensitive = false;    // full-text: words must match their case too
    std::optional<int64_t> start_us, end_us;
    std::string with_nick;                 // messages by this nickname
    std::string with_sender;               // messages by this bare JID
    std::string text;                      // full-text search, see search_query.hpp
    std::optional<std::string> after_id;   // strictly after this message
    std::optional<std::string> before_id;  // strictly before this message
    bool last_page = false;                // an empty RSM <before/>: the newest page
    std::vector<std::string> ids;          // exactly these messages (urn:xmpp:mam:2#extended)
    int max = 50;
    // The count and the first item's index are exact up to this many matches; past it the
    // page says so (XEP-0059 allows an approximate count) instead of counting them all.
    int64_t count_limit = 10000;
};

struct ArchivePage {
    std::vector<Message> messages;       // oldest first
    bool complete = false;               // nothing further in the paging direction
    int64_t count = 0;                   // how many messages match the filters in all
    bool count_exact = true;             // false: there are more than count (the query's limit)
    std::optional<int64_t> first_index;  // position of messages.front() among them, if known
};

// A one-to-one message as kept for one of its local parties (offline storage, XEP-0160, and
// the user's own archive, XEP-0313): a message between two local users is two rows, the
// sender's copy and the recipient's, with one stanza id.
struct DirectMessage {
    int64_t id = 0;         // storage order
    std::string owner;      // username whose copy this is
    std::string peer;       // the other party's bare JID
    bool outgoing = false;  // sent by the owner
    std::string stanza_id;  // unique per owner: the id the owner's archive pages by
    int64_t ts_us = 0;      // when it was routed: the archive is in this order
    std::string body;       // the text, for compliance and export
    std::string stanza;     // the message as routed (jabber:client), serialized
    bool archived = true;   // in the owner's archive
    bool pending = false;   // waiting for the owner to come online
};

// A page of one user's archive of one-to-one messages: ArchiveQuery's time, `with_sender`
// (the correspondent's bare JID), RSM and `ids` filters apply; the room, nickname and text
// filters do not.
struct DirectPage {
    std::vector<DirectMessage> messages;  // oldest first
    bool complete = false;
    int64_t count = 0;
    bool count_exact = true;
    std::optional<int64_t> first_index;
};

// Thrown when an RSM or #extended id names no message of the room.
class UnknownId : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A change made outside the running servers (the command line) that they must pick up:
// kind "room" (name: its node) or "category" (its name).
struct ChangeNotice {
    int64_t id = 0;
    std::string kind;
    std::string name;
};

// A server of a pool as the shared database knows it (see Store::join_pool).
struct PoolMember {
    uint32_t number = 0;  // given by the database on first registration, kept for the name
    std::string name;
    std::string peer_address;    // host:port of its peer listener
    std::string client_address;  // host:port where its XMPP clients connect
    int64_t incarnation = 0;     // changes at each start: peers tell a restart from a blip
    std::string web_url;         // its web service's public URL (host-meta lists every server's)
    // Holds one of the pool's active slots (or no slots are kept: no topology published).
    // A live server that holds none is a standby: it serves no rooms.
    bool active = true;
};

// One of a pool's active places (docs/TOPOLOGY.md): named after the active server the topology
// gives it to, held by that server or, after a failover, by a standby.
struct PoolSlot {
    std::string pool, slot, holder;
    int64_t since_us = 0;
};

struct PublishedTopology {
    int64_t version = 0;
    std::string text;  // the TOML file as published
    int64_t published_us = 0;
    std::string by;  // who published it
};

// What a write to a user's personal storage replaces: a PEP item, or private XML under a
// key (the other fields empty).
struct PersonalEntry {
    std::string pep_node, pep_item, private_key;
};

struct RosterItem {
    std::string jid;
    std::string name;
    std::string subscription = "none";
    std::vector<std::string> groups;
};

// Thrown for a write that breaks a uniqueness or reference rule (duplicate user, unknown
// category …); the message is meant for the operator.
class Conflict : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Thrown when the database could not be reached: the connection dropped (a restart, the primary
// failing over to its replica) and no server took it again. A write under way may or may not
// have been committed; the next call tries to connect again.
class Unreachable : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

}  // namespace perch::store
