#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/room.hpp"
#include "store/workers.hpp"
#include "util/executor.hpp"
#include "xml/element.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/router.hpp"

namespace perch::xmpp {

struct MucConfig {
    std::string domain;            // e.g. chat.example.org
    std::string user_domain;       // e.g. example.org, where the users are
    int default_history = 30;      // messages sent on join when the client does not say
    int max_history = 500;         // the most a client may ask for on join
    size_t history_cache = 50;     // newest messages kept in memory per active room
    bool allow_user_rooms = true;  // may a user create a room by joining it
    // Above this many occupants, joins and leaves are no longer broadcast (nor is the full
    // occupant list sent to each joiner): a room of 16,000 stays fast. The list stays
    // available through disco#items on the room.
    size_t participant_update_limit = 75;
    // Longest message and story bodies, in characters; advertised in each room's disco#info.
    size_t max_message_chars = 8000;
    size_t max_story_chars = 64000;
    std::string default_category = "General";  // where rooms created by clients go
    std::string occupant_id_secret;            // keys XEP-0421 occupant ids
    // Download URLs of uploaded files start with this (XEP-0363); empty: no uploads.
    std::string files_url;
    // Compliance: record joins, leaves and history views as events (posts are captured by the
    // store itself); with `posts_allowed` set, posts are refused while it says no.
    bool compliance = false;
    std::function<bool()> posts_allowed;
};

// XEP-0045 rooms on the chat service. Each room lives on one shard (an executor); every
// operation on a room runs there, so room state needs no lock. Stanzas arrive from client
// sessions on their own executors and are posted to the room's shard.
class MucService {
  public:
    MucService(MucConfig config, Router& router, store::StoreWorkers& workers,
               store::MessageWriter& writer, std::vector<util::ExecutorPtr> shards);
    ~MucService();

    const MucConfig& config() const { return config_; }

    // Loads the room list (for discovery) at start.
    void load_directory(store::Store& store);
    // A stanza from a local user (`from` is the full JID) addressed to the chat service or a room.
    void handle(xml::Element stanza, const Jid& from, const Jid& to, SessionHandlePtr sender,
                std::shared_ptr<const chat::Subject> who);
    // The session ended: it leaves every room it was in.
    void session_gone(const Jid& full);

    // May `who` read the room with this id (its history, and so the files posted there)?
    bool may_read_room(const chat::Subject& who, int64_t room_id) const;
    // XEP-0249 direct invitations pass only where `who` may invite into the room.
    std::optional<StanzaError> check_direct_invitation(const chat::Subject& who,
                                                       const Jid& room) const;
    // Following: the user has seen a room's messages up to `seq` (joined it, was in it).
    // Marks are gathered and written in batches.
    void note_read(const std::string& user, int64_t room_id, int64_t seq);

    // Room administration for the web API (muc_admin.cpp); each runs the same checks as the
    // XMPP forms and lists. `Done` runs on any thread with the refusal, or nullopt.
    using Refusal = std::pair<StanzaError, std::string>;
    using Done = std::function<void(std::optional<Refusal>)>;
    void configure_room(std::shared_ptr<const chat::Subject> who, const std::string& node,
                        xml::Element form, Done done);
    void change_room_list(std::shared_ptr<const chat::Subject> who, const std::string& node,
                          store::RoomList list, store::Principal principal, bool add, Done done);
    void create_room(std::shared_ptr<const chat::Subject> who, store::Room room,
                     const std::string& category, Done done);
    // What the web pages show of rooms and categories, from the directory.
    struct RoomView {
        store::Room meta;
        chat::RoomRules rules;
        std::string category;
        bool manager = false, member = false, presenter = false;
    };
    std::vector<RoomView> rooms_for(const chat::Subject& who) const;  // the ones it may find
    std::optional<RoomView> room_for(const chat::Subject& who, const std::string& node) const;
    struct CategoryView {
        std::string name;
        bool may_create = false;
    };
    std::vector<CategoryView> categories_for(const chat::Subject& who) const;
    // The rooms `who` may search, by id, with their JIDs.
    std::map<int64_t, std::string> searchable_rooms(const chat::Subject& who) const;

    // Retention: rooms in memory drop cached messages older than `before_us` (the store has
    // purged them).
    void forget_before(int64_t before_us);

    size_t room_count() const;
    uint64_t messages_posted() const { return messages_posted_.load(); }

    struct Shard;
    struct RoomContext;

  private:
    friend struct RoomContext;
    Shard& shard_for(const std::string& node);
    // "Search chat history": MAM on the service JID over every room the user may search.
    void search_all_rooms(const xml::Element& iq, const xml::Element& query,
                          SessionHandlePtr sender, const chat::Subject& who);
    void handle_service_iq(const xml::Element& iq, SessionHandlePtr sender,
                           const chat::Subject& who);
    // disco#items: the rooms `who` may find, all or those of one category.
    xml::Element list_rooms(const xml::Element& iq, const chat::Subject& who,
                            const std::string* category) const;
    // Following (muc_following.cpp): unread counts of the followed rooms, and marking read.
    void on_following(const xml::Element& iq, SessionHandlePtr sender, const chat::Subject& who);
    void on_mark_read(const xml::Element& iq, const xml::Element& read, SessionHandlePtr sender,
                      const chat::Subject& who);
    void flush_read_marks(store::Store& s);
    // The rooms (nodes) one of the user's sessions is in right now.
    std::set<std::string> rooms_in_now(const Jid& bare);
    // A room of the directory by its JID, when `who` may do `action` there.
    std::optional<store::Room> visible_room(const std::string& room_jid, const chat::Subject& who,
                                            chat::Action action) const;
    std::shared_ptr<const chat::CategoryRules> category_rules(int64_t category_id) const;
    // A category by name, with its id; nullopt when the service does not know it.
    std::optional<std::pair<int64_t, std::shared_ptr<const chat::CategoryRules>>> category_named(
        const std::string& name) const;
    // The categories where `who` may create rooms, by name.
    std::vector<std::string> creatable_categories(const chat::Subject& who) const;
    // Runs `then` on the room's shard with the loaded room, or nullptr when it does not exist
    // (and `create_for`, the creator's full JID, is empty or `category` does not exist).
    void with_room(Shard& shard, const std::string& node, const std::string& create_for,
                   const std::string& category, std::function<void(chat::Room*)> then);
    struct Loaded {
        std::optional<store::Room> meta;
        chat::RoomRules rules;
        std::shared_ptr<const chat::CategoryRules> category;  // read fresh with the room
        std::vector<store::Message> recent;
        std::string creator;
    };
    void finish_load(Shard& shard, const std::string& node, Loaded loaded);
    // Runs `then` on the room's shard when `who` manages the room; else tells `done` why not.
    void with_managed_room(std::shared_ptr<const chat::Subject> who, const std::string& node,
                           Done done, std::function<void(RoomContext&)> then);
    void note_joined(const std::string& full_jid, const std::string& node);
    void note_left(const std::string& full_jid, const std::string& node);
    void directory_put(const store::Room& room, const chat::RoomRules& rules);

    MucConfig config_;
    Router& router_;
    store::StoreWorkers& workers_;
    store::MessageWriter& writer_;
    std::vector<std::unique_ptr<Shard>> shards_;
    std::atomic<uint64_t> messages_posted_{0};

    struct Listing {
        store::Room meta;
        chat::RoomRules rules;
    };
    mutable std::mutex directory_mutex_;
    std::map<std::string, Listing> directory_;  // node -> what discovery needs
    std::map<int64_t, std::shared_ptr<const chat::CategoryRules>> categories_;
    std::map<std::string, int64_t> category_ids_;  // name -> id

    std::mutex marks_mutex_;
    std::map<std::pair<std::string, int64_t>, int64_t> pending_marks_;  // (user, room) -> seq
    bool marks_flush_queued_ = false;

    std::mutex occupancy_mutex_;
    std::unordered_map<std::string, std::vector<std::string>> occupancy_;  // full JID -> nodes
};

}  // namespace perch::xmpp
