#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <functional>

#include "store/types.hpp"

namespace perch::store {

// The content database. Calls are synchronous and block on I/O: never make them on a network
// thread; go through StoreWorkers or MessageWriter. One instance is one connection and is used
// by one thread at a time; open() more for more threads.
class Store {
  public:
    virtual ~Store() = default;

    // Users.
    virtual std::optional<User> find_user(std::string_view username) = 0;
    virtual int64_t add_user(const User& user) = 0;  // Conflict when the name is taken
    virtual void update_user(const User& user) = 0;
    // Adds many users in one transaction, skipping names that exist; returns how many were new.
    virtual size_t add_users(const std::vector<User>& users) = 0;
    virtual std::vector<User> list_users() = 0;

    // Accounts of the admin API.
    virtual std::optional<AdminAccount> find_admin(std::string_view name) = 0;
    virtual std::vector<AdminAccount> list_admins() = 0;
    virtual void add_admin(const AdminAccount& account) = 0;     // Conflict when the name is taken
    virtual void update_admin(const AdminAccount& account) = 0;  // role, credential, disabled
    virtual bool remove_admin(std::string_view name) = 0;        // false when there was none

    // Settings changed by an administrator while the servers run (chat/settings.hpp), by name;
    // a value set to nullopt is back to the configuration file's.
    virtual std::map<std::string, std::string> stored_settings() = 0;
    virtual void store_setting(std::string_view name, const std::optional<std::string>& value) = 0;
    // Add-ins: web panes a room shows beside its conversation, registered by name.
    virtual std::vector<Addin> list_addins() = 0;
    virtual void put_addin(const Addin& addin) = 0;        // added, or its URL replaced
    virtual bool remove_addin(std::string_view name) = 0;  // false when there was none

    // Categories and rooms.
    virtual int64_t add_category(const Category& category) = 0;
    virtual std::optional<Category> find_category(std::string_view name) = 0;
    virtual void update_category(const Category& category) = 0;  // description and switches
    virtual void delete_category(int64_t category_id) = 0;       // with its lists
    virtual std::vector<Category> list_categories() = 0;
    virtual int64_t add_room(const Room& room) = 0;  // Conflict on duplicate node/category
    // Adds many rooms in one transaction, skipping nodes that exist; returns how many were new.
    virtual size_t add_rooms(const std::vector<Room>& rooms) = 0;
    virtual std::optional<Room> find_room(std::string_view node) = 0;
    // Many rooms at once (a pool moving rooms loads thousands): those of `nodes` that exist, in
    // no particular order; then, by id, what serving each needs, with its newest `history`
    // messages (ids of rooms that do not exist are left out).
    virtual std::vector<Room> find_rooms(const std::vector<std::string>& nodes) = 0;
    virtual std::vector<ServedRoom> rooms_to_serve(const std::vector<int64_t>& room_ids,
                                                   int history) = 0;
    virtual std::vector<Room> list_rooms() = 0;
    virtual void update_room(const Room& room) = 0;  // name, description, privacy, type, disabled
    virtual void set_room_subject(int64_t room_id, const std::string& subject,
                                  const std::string& nick) = 0;
    // Deletes a room with its history, lists, read marks and file links (the files stay for
    // the other rooms they were posted in).
    virtual void delete_room(int64_t room_id) = 0;

    // History. append_messages commits all of them in one transaction, giving each the next
    // sequence number of its room, and returns them in the order given.
    virtual std::vector<Message> append_messages(std::vector<NewMessage>&& batch) = 0;
    // The sequence number each message of `batch` is stored under (found by its stanza id), 0
    // for one not stored: whether an append interrupted by a lost connection was committed.
    virtual std::vector<int64_t> stored_seqs(const std::vector<NewMessage>& batch) = 0;
    // The newest `limit` messages of a room with ts >= since_us, oldest first.
    virtual std::vector<Message> recent_messages(int64_t room_id, int limit, int64_t since_us) = 0;
    virtual int64_t count_messages(int64_t room_id) = 0;
    // A room's messages with after_seq < seq <= up_to_seq, oldest first, at most `limit`.
    virtual std::vector<Message> messages_between(int64_t room_id, int64_t after_seq,
                                                  int64_t up_to_seq, int limit) = 0;
    // Moderation: the message's text becomes `notice` and `payload` (a tombstone), marked
    // removed; nothing of the original stays in the content database. nullopt if no such message.
    virtual std::optional<Message> remove_message(int64_t room_id, std::string_view stanza_id,
                                                  const std::string& notice,
                                                  const std::string& payload) = 0;
    // Deletes a room's messages older than `before_us`; returns how many.
    virtual int64_t clear_history(int64_t room_id, int64_t before_us) = 0;
    // Retention: every room's messages older than `before_us` go, each room's purge recorded
    // as a CLEARHISTORY event. Returns how many messages went.
    virtual int64_t purge_before(int64_t before_us) = 0;
    // One page of a room's archive; throws UnknownId for an id not in the room.
    virtual ArchivePage query_archive(const ArchiveQuery& query) = 0;

    // Groups (principals may name them) and their members.
    virtual int64_t add_group(const Group& group) = 0;  // Conflict when the name is taken
    virtual std::vector<Group> list_groups() = 0;
    virtual void set_group_member(std::string_view group, std::string_view username,
                                  bool member) = 0;
    virtual std::vector<std::string> group_members(std::string_view group) = 0;
    virtual std::vector<std::string> groups_of(std::string_view username) = 0;

    // The principal lists of categories and rooms. `present` adds or removes one entry.
    virtual void set_category_principal(int64_t category_id, CategoryList list, const Principal& p,
                                        bool present) = 0;
    virtual std::vector<std::pair<CategoryList, Principal>> category_principals(
        int64_t category_id) = 0;
    virtual void set_room_principal(int64_t room_id, RoomList list, const Principal& p,
                                    bool present) = 0;
    virtual std::vector<std::pair<RoomList, Principal>> room_principals(int64_t room_id) = 0;

    // Persistent chat policy: scope "global" (name empty), "group" or "user"; nullopt unsets.
    virtual void set_policy(std::string_view scope, std::string_view name,
                            std::optional<bool> enabled) = 0;
    virtual PolicySettings policy_for(std::string_view username) = 0;

    // Compliance: when on (StoreConfig::compliance), every message appended is captured as a
    // CHAT event in the same transaction, and with_events() makes other changes carry theirs.
    // `work` runs calls on this same store; it and the events commit together or not at all.
    // Off, the events are dropped and `work` just runs.
    virtual void with_events(std::vector<ComplianceEvent> events,
                             const std::function<void()>& work) = 0;
    void record(std::vector<ComplianceEvent> events) {
        with_events(std::move(events), [] {});
    }
    // The oldest events still waiting for the compliance service, and their removal once moved.
    virtual std::vector<ComplianceEvent> outbox(int limit) = 0;
    virtual void outbox_done(int64_t up_to_id) = 0;

    // Files: metadata of uploads, and the rooms each was posted into (whose readers may
    // download it).
    virtual void add_file(const FileRecord& file) = 0;
    virtual std::optional<FileRecord> find_file(std::string_view id) = 0;
    virtual void attach_file(std::string_view id, int64_t room_id) = 0;
    virtual std::vector<int64_t> file_rooms(std::string_view id) = 0;

    // Whole-database copy (`perch data export/import`): what the other methods do not list.
    struct PolicyEntry {
        std::string scope, name;
        bool enabled = true;
    };
    virtual std::vector<PolicyEntry> list_policies() = 0;
    // Every room's messages in the order they were stored (the order the archive pages across
    // rooms in), each with its position there: those after position `after`, at most `limit`.
    virtual std::vector<std::pair<int64_t, Message>> messages_in_order(int64_t after,
                                                                       int limit) = 0;
    // Messages exactly as given (sequence numbers, ids, removal), stored in the order given;
    // rooms' counters follow.
    virtual void import_messages(const std::vector<Message>& messages) = 0;
    virtual std::vector<FileRecord> list_files() = 0;
    virtual std::vector<std::string> pep_nodes(std::string_view username) = 0;
    virtual std::vector<std::pair<std::string, std::string>> private_entries(
        std::string_view username) = 0;
    virtual std::vector<ReadMark> list_read_marks() = 0;
    // Refreshes the query planner's statistics (after a bulk load).
    virtual void analyze() = 0;
    // A consistent copy of the whole database written to the new file `path`, while others
    // go on using it (SQLite: VACUUM INTO). PostgreSQL throws: pg_dump is its backup.
    virtual void backup_to(const std::string& path) = 0;

    // Following: how far users have read in rooms, in one transaction. A mark only moves
    // forward: one older than the stored one changes nothing.
    virtual void mark_read(const std::vector<ReadMark>& marks) = 0;
    // For each room: the user's read mark, unread count (at most `cap`) and newest message.
    virtual std::vector<RoomActivity> room_activity(std::string_view username,
                                                    const std::vector<int64_t>& room_ids,
                                                    int64_t cap) = 0;

    // Personal eventing (XEP-0163): items of a user's nodes, payloads as serialized XML.
    virtual void put_pep_item(std::string_view username, std::string_view node,
                              std::string_view item_id, const std::string& payload) = 0;
    virtual bool remove_pep_item(std::string_view username, std::string_view node,
                                 std::string_view item_id) = 0;
    // Newest first; an empty vector when the node has no items; nullopt when it does not exist.
    virtual std::optional<std::vector<std::pair<std::string, std::string>>> pep_items(
        std::string_view username, std::string_view node) = 0;
    // Private XML storage (XEP-0049), one element per user and namespace.
    virtual std::optional<std::string> private_xml(std::string_view username,
                                                   std::string_view key) = 0;
    virtual void set_private_xml(std::string_view username, std::string_view key,
                                 const std::string& xml) = 0;
    // The size of what a user keeps in personal storage (PEP item payloads and private XML, in
    // characters) but for `replaced`: what a write of it would leave, before adding its own.
    virtual int64_t personal_size(std::string_view username, const PersonalEntry& replaced) = 0;

    // Changes made outside the running servers (the command line): noted, and read by every
    // server after the last one it has seen. last_change() is where a starting server begins.
    virtual void note_change(std::string_view kind, std::string_view name) = 0;
    virtual std::vector<ChangeNotice> changes_after(int64_t id, int limit) = 0;
    virtual int64_t last_change() = 0;

    // Pools: servers on one database. A server registers under its name with a lease of
    // `lease_ms`, and renews it; a lease that lapses means the server is down. join_pool
    // throws Conflict while another incarnation holds the name's lease, and lets go of (and
    // fences, by a new epoch) every room a former incarnation claimed. renew_lease returns
    // the members whose lease runs (this one included) and throws Conflict when this
    // incarnation no longer holds its name. Time is the database's clock.
    virtual uint32_t join_pool(const PoolMember& me, int64_t lease_ms) = 0;
    virtual std::vector<PoolMember> renew_lease(const PoolMember& me, int64_t lease_ms) = 0;
    // Ends the lease of member `number` at once when the database session it last renewed on
    // has ended on this same running database (its process died and the connection closed),
    // so that its rooms move without waiting for the lapse; true when it did. After a restart
    // or a failover of the database nothing is known of the sessions before it, and nothing
    // is done: the lease stays the rule. Needs PostgreSQL (a pool's database); elsewhere false.
    virtual bool end_lease_if_gone(uint32_t number) = 0;
    virtual void leave_pool(const PoolMember& me) = 0;
    // The others took member `m` (this incarnation of it) for gone: its lease lapsed, and its
    // occupants left the rooms, its rooms moved. Its renewals throw Conflict from now on, as
    // after its name was taken: it must start again to be a member (its state is not the
    // pool's any more).
    virtual void mark_gone(const PoolMember& m) = 0;
    // Every server that ever registered, with whether its lease runs now (perch pool status).
    virtual std::vector<std::pair<PoolMember, bool>> pool_members() = 0;
    // The deployment's topology (pool/topology.hpp) as published, each publication a new
    // version kept beside the earlier ones; the newest, if any.
    virtual int64_t publish_topology(const std::string& text, const std::string& by) = 0;
    virtual std::optional<PublishedTopology> published_topology() = 0;
    // The active slots: `active` are the pool's active servers in a new topology (a slot each,
    // held by itself until a failover; slots of servers no longer active go).
    virtual void sync_slots(const std::string& pool, const std::vector<std::string>& active) = 0;
    virtual std::vector<PoolSlot> pool_slots() = 0;
    // `me`, holding no slot, takes the first slot of `pool` whose holder's lease lapsed at
    // least `down_ms` ago (or that never registered), given to it at least `down_ms` ago.
    // Fenced: of two standbys asking at once, one gets it. The slot taken, if any.
    virtual std::optional<std::string> take_slot(const std::string& pool, const std::string& me,
                                                 int64_t down_ms) = 0;
    // By hand (perch pool failover/failback): `slot` held by `holder` from now on, when it was
    // held by `from`. False when it was not.
    virtual bool assign_slot(const std::string& pool, const std::string& slot,
                             const std::string& from, const std::string& holder) = 0;
    // The active-server list: when set, only the servers it names serve (the others, slot or
    // not, drain); empty: every slot holder serves.
    virtual void set_active_list(const std::string& pool,
                                 const std::vector<std::string>& servers) = 0;
    virtual std::vector<std::string> active_list(const std::string& pool) = 0;
    // A room served by `server` from now on: the room's epoch, raised, when the room is free
    // (no owner, this server, released, or its owner's lease lapsed); nullopt while another
    // live server holds it. Commits with an older epoch are refused from then on.
    virtual std::optional<int64_t> claim_room(int64_t room_id, const std::string& server) = 0;
    // claim_room for many rooms: the new epoch of each room claimed, by id; the rooms another
    // live server holds are left out.
    virtual std::map<int64_t, int64_t> claim_rooms(const std::vector<int64_t>& room_ids,
                                                   const std::string& server) = 0;
    // `server` stops serving the room (another one should): only while it holds `epoch`.
    virtual void release_room(int64_t room_id, const std::string& server, int64_t epoch) = 0;
    // True while this connection leads `role` among every connection to the database (one
    // leader at a time; held until the connection ends, so a server that dies lets another
    // take over). PostgreSQL: a session advisory lock, asked again at each call (a reopened
    // connection has lost it); SQLite: one process, always true.
    virtual bool lead(const std::string& role) = 0;

    // One-to-one messages. add_direct stores copies (with their compliance events, when on) in
    // one transaction; a copy neither archived nor pending is not stored.
    virtual void add_direct(const std::vector<DirectMessage>& copies,
                            std::vector<ComplianceEvent> events) = 0;
    virtual int64_t count_pending(std::string_view owner) = 0;
    // The owner's messages that wait for them, oldest first, at most `limit`: from now on they
    // wait no more (a copy not archived is gone).
    virtual std::vector<DirectMessage> take_pending(std::string_view owner, int limit) = 0;
    // Copies delivered to a session that went away without acknowledging them (XEP-0198)
    // wait for their owners again: the stored copy with the same owner and stanza id is
    // pending again; one no longer stored (never archived) is stored as pending.
    virtual void keep_undelivered(const std::vector<DirectMessage>& copies) = 0;
    // A page of the owner's archive (see DirectPage); throws UnknownId for an id not in it.
    virtual DirectPage query_direct(std::string_view owner, const ArchiveQuery& query) = 0;
    // Every copy, pending or archived, in storage order: those after `after`, at most `limit`
    // (`perch data export`; add_direct stores them back in the same order).
    virtual std::vector<DirectMessage> direct_in_order(int64_t after, int limit) = 0;

    // Blocking (XEP-0191): the bare JIDs (or domains) a user blocks.
    virtual std::vector<std::string> blocked(std::string_view username) = 0;
    virtual void set_blocked(std::string_view username, const std::vector<std::string>& jids,
                             bool block) = 0;
    virtual void unblock_all(std::string_view username) = 0;
    virtual std::vector<std::pair<std::string, std::string>> all_blocked() = 0;  // (user, item)

    // vCard-temp (XEP-0054): the user's card as serialized XML.
    virtual std::optional<std::string> vcard(std::string_view username) = 0;
    virtual void set_vcard(std::string_view username, const std::string& xml) = 0;

    // Roster (RFC 6121), per user.
    virtual std::vector<RosterItem> roster(std::string_view username) = 0;
    virtual void set_roster_item(std::string_view username, const RosterItem& item) = 0;
    virtual void remove_roster_item(std::string_view username, std::string_view jid) = 0;
};

struct StoreConfig {
    std::string backend = "sqlite";     // or "postgres"
    std::string path = "var/perch.db";  // SQLite file
    std::string url;                    // PostgreSQL connection string (libpq keywords or URI)
    int pool_size = 2;                  // connections of the store's worker threads
    int cache_mb = 64;                  // SQLite: page cache of each connection
    int mmap_mb = 0;                    // SQLite: read the file through a map this large
    bool synchronous_full = true;       // durable commits (group commit amortises them)
    bool compliance = false;            // capture compliance events (see Store::with_events)
    int retention_days = 0;             // purge messages older than this; 0 keeps everything
    int outage_wait_s = 30;  // how long posts wait for an unreachable database to come back
};

// Opens a connection, creating the database and applying migrations when needed. Throws with a
// readable message when the database cannot be used (unknown back end, newer schema …).
std::unique_ptr<Store> open_store(const StoreConfig& config);
// Where the content lives, for logs and messages: the SQLite file, or the PostgreSQL server and
// database (never the password).
std::string describe(const StoreConfig& config);

}  // namespace perch::store
