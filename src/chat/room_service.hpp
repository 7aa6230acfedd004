#pragma once
#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/commands.hpp"
#include "chat/directory.hpp"
#include "chat/events.hpp"
#include "chat/read_marks.hpp"
#include "chat/result.hpp"
#include "chat/room.hpp"
#include "chat/settings.hpp"
#include "store/workers.hpp"
#include "util/executor.hpp"
#include "util/histogram.hpp"
#include "util/json.hpp"

namespace perch::chat {

// Who `user` is as the rules see them now: groups, administrator flag, policy. On a store
// thread.
std::shared_ptr<const Subject> subject_of(store::Store& s, const store::User& user);

struct RoomServiceConfig {
    // Default history, participant update limit, message and story limits: an
    // administrator's to change while the server runs (chat/settings.hpp).
    std::shared_ptr<const LiveSettings> settings = std::make_shared<LiveSettings>();
    int max_history = 500;         // the most a client may ask for on join
    size_t history_cache = 50;     // newest messages kept in memory per loaded room
    bool allow_user_rooms = true;  // may a category's creators create a room by joining it
    // How fast one occupant may post (per resource): more is refused, never queued, so that
    // one flooder cannot fill the send queues of everybody who reads.
    util::Rate post_rate{10, 50};
    std::string default_category = "General";  // where rooms created by joining go first
    std::string occupant_id_secret;            // keys the stable occupant ids
    // Compliance: record joins, leaves and history views as events (posts are captured by the
    // store itself); while `posts_allowed` says no, posts are refused.
    bool compliance = false;
    std::function<bool()> posts_allowed;
    // What is stored in place of a removed message, in the client protocol's words.
    std::function<std::string(const std::string& room, const std::string& by_nick,
                              const std::string& reason, int64_t at_us)>
        tombstone;
    // The rooms (nodes) a user follows, read on a store thread; none when not set.
    std::function<std::vector<std::string>(store::Store&, const std::string& user)> followed_rooms;
    // In a pool: claims rooms for this server as they load (on a store thread, many at once),
    // answering by room id the epoch its commits carry; a room left out is held by another
    // live server (its commands wait or are refused as busy). Not set: a single server, epoch 0.
    std::function<std::map<int64_t, int64_t>(store::Store&, const std::vector<int64_t>& ids)> claim;
    // In a pool: whether this server serves the room now (any thread), and the claim given
    // back (on a store thread) for a room whose load finished after the pool moved it.
    std::function<bool(const std::string& node)> serves;
    std::function<void(store::Store&, int64_t room_id, int64_t epoch)> release;
    // Runs `work` after `delay` (on any thread): a claim held by a server that has not let
    // the room go yet is tried again (kClaimAttempts, kClaimPause). Not set: refused at once.
    std::function<void(std::chrono::milliseconds delay, std::function<void()> work)> after;
};

// Commands to rooms, whoever serves them: this server's RoomService, or in a pool the server
// that owns the room. Replies of room commands run on the room's shard (see Reply).
class RoomCommands {
  public:
    virtual ~RoomCommands() = default;

    // An available presence to a room: a join (and the room's creation, for a category's
    // creators), a status change of an occupant, or a new nickname. `joined` in the result
    // says which; status changes and new nicknames show through events only.
    virtual void join(JoinCommand c, Reply<JoinResult> reply) = 0;
    virtual void leave(LeaveCommand c, Reply<Ok> reply) = 0;
    virtual void post(PostCommand c, Reply<Posted> reply) = 0;
    virtual void relay(RelayCommand c, Reply<Ok> reply) = 0;
    virtual void send_private(PrivateCommand c, Reply<Ok> reply) = 0;
    virtual void set_subject(SubjectCommand c, Reply<Ok> reply) = 0;
    virtual void configure(ConfigureCommand c, Reply<Ok> reply) = 0;
    virtual void change_lists(ListsCommand c, Reply<Ok> reply) = 0;
    virtual void kick(KickCommand c, Reply<Ok> reply) = 0;
    virtual void moderate(ModerateCommand c, Reply<Ok> reply) = 0;
    virtual void invite(InviteCommand c, Reply<Ok> reply) = 0;
    virtual void destroy(DestroyCommand c, Reply<Ok> reply) = 0;
    virtual void clear_history(ClearHistoryCommand c, Reply<int64_t> reply) = 0;
    virtual void create(CreateCommand c, Reply<Ok> reply) = 0;

    virtual void archive(ArchiveCommand c, Reply<store::ArchivePage> reply) = 0;
    virtual void search(SearchCommand c, Reply<SearchResult> reply) = 0;
    virtual void info(std::string room, Actor actor, Reply<RoomInfo> reply) = 0;
    // The nicknames in a room, for its occupants only (anybody else gets an empty list).
    virtual void occupants(std::string room, Actor actor,
                           Reply<std::vector<std::string>> reply) = 0;
    // A room's member lists, for its managers.
    virtual void lists(std::string room, Actor actor,
                       Reply<std::vector<std::pair<store::RoomList, store::Principal>>> reply) = 0;
    // Following: the actor has read everything in the room so far. Its reply runs on a store
    // thread.
    virtual void mark_read(std::string room, Actor actor, Reply<Ok> reply) = 0;
    // Following: the rooms the actor follows (and may read), with their unread counts. Its
    // reply runs on a store thread.
    virtual void following(Actor actor, Reply<std::vector<Followed>> reply) = 0;
};

// The rooms of this server: their state, their rules and every change to them. Each room is
// owned by one shard (util::Shards, by its node): its state is touched only there, so it needs
// no lock. Changes are written to the store (with their compliance events) before anybody is
// told of them; then the events go to the sink and the reply to the caller.
class RoomService final : public RoomCommands {
  public:
    RoomService(RoomServiceConfig config, Directory& directory, util::Shards& shards,
                store::StoreJobs& jobs, store::MessageCommits& commits, RoomEventSink& sink);
    ~RoomService() override;

    const RoomServiceConfig& config() const { return config_; }
    Directory& directory() { return directory_; }

    void join(JoinCommand c, Reply<JoinResult> reply) override;
    void leave(LeaveCommand c, Reply<Ok> reply) override;
    void post(PostCommand c, Reply<Posted> reply) override;
    void relay(RelayCommand c, Reply<Ok> reply) override;
    void send_private(PrivateCommand c, Reply<Ok> reply) override;
    void set_subject(SubjectCommand c, Reply<Ok> reply) override;
    void configure(ConfigureCommand c, Reply<Ok> reply) override;
    void change_lists(ListsCommand c, Reply<Ok> reply) override;
    void kick(KickCommand c, Reply<Ok> reply) override;
    void moderate(ModerateCommand c, Reply<Ok> reply) override;
    void invite(InviteCommand c, Reply<Ok> reply) override;
    void destroy(DestroyCommand c, Reply<Ok> reply) override;
    void clear_history(ClearHistoryCommand c, Reply<int64_t> reply) override;
    void create(CreateCommand c, Reply<Ok> reply) override;

    void archive(ArchiveCommand c, Reply<store::ArchivePage> reply) override;
    void search(SearchCommand c, Reply<SearchResult> reply) override;
    void info(std::string room, Actor actor, Reply<RoomInfo> reply) override;
    void occupants(std::string room, Actor actor, Reply<std::vector<std::string>> reply) override;
    void lists(std::string room, Actor actor,
               Reply<std::vector<std::pair<store::RoomList, store::Principal>>> reply) override;
    void mark_read(std::string room, Actor actor, Reply<Ok> reply) override;
    void following(Actor actor, Reply<std::vector<Followed>> reply) override;

    // Retention: loaded rooms drop cached messages older than `before_us` (the store purged
    // them).
    void forget_before(int64_t before_us);
    // Following: `user` has seen `room` up to `seq` (marks are written in batches).
    void note_read(const std::string& user, int64_t room_id, int64_t seq);
    uint64_t messages_posted() const { return messages_posted_.load(); }
    // Store time of archive pages (MAM, with or without words) and of searches across rooms.
    const util::Histogram& archive_seconds() const { return archive_seconds_; }
    const util::Histogram& search_seconds() const { return search_seconds_; }
    uint64_t posts_over_rate() const { return posts_over_rate_.load(); }

    // Changed outside the server (the command line, another process): the room's settings,
    // lists and newest messages are read again; occupants the new lists no longer admit leave
    // (XEP-0045 321), and everybody learns of the change. A room not loaded here is refreshed
    // in the directory only.
    void reload(const std::string& node);
    // The same for a category: its rules, and every loaded room of it. The second form on a
    // store thread: the directory has the category's rules when it returns.
    void reload_category(const std::string& name);
    void reload_category(store::Store& s, const std::string& name);
    // Users' groups, policy or administrator flag changed outside the server: the occupants of
    // this server's rooms who are among `users` (all of them: nullopt) are read again and
    // judged by the rules; those no longer let in leave (XEP-0045 321).
    void refresh_subjects(const std::optional<std::set<std::string>>& users);

    // Pools. The room is no longer served here (it hashes to another server now): its state
    // is dropped without events, its occupants stay where their sessions are (the server that
    // serves it now adopts them), and `released` gets the room as it was (on the shard) for
    // the database's release; nothing when it was not loaded.
    struct Released {
        int64_t id = 0, epoch = 0, last_seq = 0;
        std::vector<Occupant> occupants;
    };
    void unload(const std::string& node, std::function<void(Released)> released);
    // Pools: occupants whose room moved to this server (its former server went, or the pool
    // grew) are in it again, without a word to anybody (they never left); the answer is the
    // room's newest sequence number, from which their server catches up on what it missed.
    // An occupant whose nickname another user took meanwhile is left out (logged).
    void adopt(const std::string& node, std::vector<Occupant> occupants, Reply<int64_t> reply);
    // Every occupant whose session is on pool member `server` leaves every room loaded here
    // (Departure::server_lost): that server is gone.
    void drop_server(uint32_t server);
    // The nodes of the rooms loaded here (any thread; a snapshot per shard, taken on it).
    void loaded_rooms(std::function<void(std::vector<std::string>)> done);

  private:
    // What waits for a room: the room, or nullptr with why not (nullopt: there is no such
    // room; busy or internal: it could not be loaded now).
    using Loading = std::function<void(Room*, std::optional<Error>)>;
    struct Slot {
        std::unique_ptr<Room> room;
        std::vector<Loading> waiting;  // while the room loads
        std::string creator;  // full JID whose join created the room, until that join is done
    };
    // A post with an origin id on its way to the database: a retry of it (the client heard
    // nothing yet: a slow commit, the database failing over) waits for its outcome instead of
    // being stored a second time.
    struct InFlight {
        std::string body;
        std::vector<Reply<Posted>> retries;
    };
    struct ShardState {
        std::unordered_map<std::string, Slot> rooms;
        std::unordered_map<std::string, InFlight> in_flight;  // by room, sender, origin id
    };

    util::Executor& executor_of(const std::string& node) { return shards_.of(node); }
    ShardState& state_of(const std::string& node) { return state_[shards_.index_of(node)]; }
    Room* loaded(const std::string& node);

    // Runs `then` on the room's shard with the room, loading it first (and creating it, for a
    // join by one of a category's creators: `create_in` names the category); with nullptr when
    // there is no such room or it could not be loaded.
    void with_room(const std::string& node, Loading then, const std::string& create_in = {},
                   const std::string& creator = {});
    // Loading (room_loading.cpp): requests gather while a loader job reads the ones before
    // them, up to kLoadBatch rooms at a time.
    struct LoadRequest {
        std::string node, create_in, creator;
        int attempt = 0;  // claims tried before (a room its former server is letting go)
    };
    struct Loaded;
    struct LoadTimes;  // where a loader job's time went, for its log line
    struct Loads {
        std::mutex mutex;
        std::vector<LoadRequest> waiting;  // for the loader, in the order asked
        bool loader_queued = false;        // a loader job is queued or running
    };
    void load(LoadRequest request);
    void run_loads(store::Store& s);  // the loader job, on a store thread
    std::vector<Loaded> load_batch(store::Store& s, const std::vector<LoadRequest>& batch,
                                   LoadTimes& times);
    void done_loading(LoadRequest request, Loaded loaded);
    void finish_load(const std::string& node, Loaded loaded);
    static constexpr size_t kLoadBatch = 256;
    // The newest messages a loaded room keeps: what joins replay without the store.
    size_t history_cache_size() const {
        return std::max<size_t>(config_.history_cache, size_t(config_.settings->default_history()));
    }
    static constexpr int kClaimAttempts = 12;  // about 3 s in all
    static constexpr std::chrono::milliseconds kClaimPause{250};
    // with_room for a command: a missing room is answered `not_found` through `reply`; `then`
    // is called as then(Room&, Reply<T>&).
    template <class T, class Then>
    void on_room(const std::string& node, Reply<T> reply, Then then);

    // The one way to the store and back: `work` runs on a store thread; its result comes back
    // to `then` on the room's shard with the room, looked up again (it may have gone). A full
    // queue, an exception (store::Conflict -> conflict, others -> internal) or a room that
    // went away reach `failed` instead, on the shard.
    template <class Work, class Then>
    void via_store(const std::string& node, Work work, Then then, std::function<void(Error)> failed,
                   store::StoreJobs::Lane lane = store::StoreJobs::Lane::quick);

    // Join (room_join.cpp).
    std::optional<Error> join_refusal(const Room& room, const Subject* who) const;
    void present(Room& room, JoinCommand c, Reply<JoinResult>& reply);
    void admit(Room& room, const JoinCommand& c, Reply<JoinResult>& reply,
               const std::vector<store::Message>* fetched);
    void change_nick(Room& room, const Occupant& current, const JoinCommand& c,
                     Reply<JoinResult>& reply);
    void remove_occupant(Room& room, const std::string& full_jid, Departure why,
                         const std::string& text, const std::string& presence);
    // New rules for a room: who may no longer stay leaves, told `why` and `text`.
    void apply_rules(Room& room, RoomRules rules, std::shared_ptr<const CategoryRules> category,
                     Departure why, const std::string& text);
    // Posting (room_posting.cpp).
    void commit(Room& room, store::NewMessage m, const Reply<Posted>& reply);

    bool large(const Room& room) const {
        // Above the participant update limit, joins and leaves are no longer announced to
        // everybody (nor is the occupant list given to each joiner): a room of 16,000 stays
        // fast.
        return room.occupant_count() > config_.settings->participant_update_limit();
    }
    std::string occupant_id(const Room& room, std::string_view bare_jid) const;
    // A compliance event about `room` by `actor`.
    store::ComplianceEvent event(const Room& room, std::string type,
                                 const util::JsonFields& details, std::string actor) const;
    void publish(const Room& room, RoomEvent::Value what);
    // Records events that have no content change, after the fact (PART); failures are logged.
    void record_later(std::vector<store::ComplianceEvent> events);
    // A room's meta and rules as the directory and the other servers should now see them.
    void room_changed(const Room& room);

    RoomServiceConfig config_;
    Directory& directory_;
    util::Shards& shards_;
    store::StoreJobs& jobs_;
    store::MessageCommits& commits_;
    RoomEventSink& sink_;
    std::vector<ShardState> state_;
    ReadMarks marks_;
    Loads loads_;
    util::Histogram archive_seconds_, search_seconds_;
    std::atomic<uint64_t> messages_posted_{0};
    std::atomic<uint64_t> posts_over_rate_{0};
};

}  // namespace perch::chat
