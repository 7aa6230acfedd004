#pragma once
#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "chat/room_service.hpp"
#include "pool/fanout.hpp"
#include "pool/links.hpp"
#include "pool/membership.hpp"
#include "pool/pool_users.hpp"

namespace perch::pool {

// The room commands of a pool member: a room this server serves runs here (the local room
// service); any other goes to the server that serves it, over the peer link, and its answer
// comes back to the room's shard here. Commands from the other servers for rooms served here
// run on the local room service and are answered on the link (pool_rooms_serving.cpp). Queries that
// need no room (a search, the followed rooms, marking read) run here on the shared database.
class PoolRooms final : public chat::RoomCommands, public FrameHandler {
  public:
    PoolRooms(chat::RoomService& local, Fanout& fanout, const Membership& membership,
              util::Shards& shards);
    void set_links(Links* links) { links_ = links; }
    // Where one-to-one messages between servers go (the links have one handler: this one).
    void set_users(PoolUsers* users) { users_ = users; }

    void join(chat::JoinCommand c, chat::Reply<chat::JoinResult> reply) override;
    void leave(chat::LeaveCommand c, chat::Reply<chat::Ok> reply) override;
    void post(chat::PostCommand c, chat::Reply<chat::Posted> reply) override;
    void relay(chat::RelayCommand c, chat::Reply<chat::Ok> reply) override;
    void send_private(chat::PrivateCommand c, chat::Reply<chat::Ok> reply) override;
    void set_subject(chat::SubjectCommand c, chat::Reply<chat::Ok> reply) override;
    void configure(chat::ConfigureCommand c, chat::Reply<chat::Ok> reply) override;
    void change_lists(chat::ListsCommand c, chat::Reply<chat::Ok> reply) override;
    void kick(chat::KickCommand c, chat::Reply<chat::Ok> reply) override;
    void moderate(chat::ModerateCommand c, chat::Reply<chat::Ok> reply) override;
    void invite(chat::InviteCommand c, chat::Reply<chat::Ok> reply) override;
    void destroy(chat::DestroyCommand c, chat::Reply<chat::Ok> reply) override;
    void clear_history(chat::ClearHistoryCommand c, chat::Reply<int64_t> reply) override;
    void create(chat::CreateCommand c, chat::Reply<chat::Ok> reply) override;
    void archive(chat::ArchiveCommand c, chat::Reply<store::ArchivePage> reply) override;
    void search(chat::SearchCommand c, chat::Reply<chat::SearchResult> reply) override;
    void info(std::string room, chat::Actor actor, chat::Reply<chat::RoomInfo> reply) override;
    void occupants(std::string room, chat::Actor actor,
                   chat::Reply<std::vector<std::string>> reply) override;
    void lists(
        std::string room, chat::Actor actor,
        chat::Reply<std::vector<std::pair<store::RoomList, store::Principal>>> reply) override;
    void mark_read(std::string room, chat::Actor actor, chat::Reply<chat::Ok> reply) override;
    void following(chat::Actor actor, chat::Reply<std::vector<chat::Followed>> reply) override;

    // From a link: commands for rooms served here, answers to commands sent, events of rooms
    // served elsewhere, invitations.
    void frame(uint32_t from, const Json& frame) override;
    void link_lost(uint32_t number) override;
    // Commands forwarded and unanswered past the timeout are refused as busy (call about once
    // a second).
    void expire();
    // Commands that wait for a room's server to be reachable (route()) go on when their room
    // moved to another server or the link is back, and are refused busy when they waited
    // too long. Called by expire() and when the live servers change.
    void release_parked();
    // The live servers changed: the adoptions of this server's occupants are sent from each
    // shard (Fanout::servers_changed); until a shard is through (changed_on()), commands for
    // its rooms are sent from the shard too, after them: a post sent ahead of its sender's
    // adoption would be refused by the room's new server, the sender not an occupant there.
    // Each call is one part of a change that ends with changed_on() on every shard (or one
    // changed_everywhere(), called when its work has been posted to every shard).
    void changing();
    void changed_on(size_t shard);
    void changed_everywhere();
    // Whether a change is still going through here: a shard not through with it, or adoptions
    // of this server's occupants not answered yet. `settled` is called (on any thread, without
    // a lock held) each time that ends.
    bool settling();
    void on_settled(std::function<void()> settled) { settled_ = std::move(settled); }

    // This server's occupants of a room are adopted by the room's new server `server` (on
    // the room's shard); retried for a while when that server cannot take the room yet (its
    // former server has not let it go). Then what this server missed is caught up on.
    void adopt(const std::string& node, std::vector<chat::Occupant> mine, uint32_t server,
               int attempt = 0);

    // A query by room and actor, as it crosses a link.
    struct RoomQuery {
        std::string room;
        chat::Actor actor;
    };
    struct AdoptCommand {
        std::string room;
        std::vector<chat::Occupant> occupants;
    };

  private:
    using Answer = std::function<void(const Json* value, std::optional<chat::Error> error)>;
    // What to do when the answer to a command refused for its lateness comes after all.
    using Late = std::function<void(const Json& value)>;
    // What sends a command anew, as if new, when the link to its server is lost before the
    // answer, rather than refusing it: set for commands that may be done twice (a join).
    using Again = std::function<void()>;
    struct Pending {
        uint32_t server;
        std::string node;
        Answer answer;
        Late late;
        Again again;
    };
    struct Expired {
        uint32_t server;
        Late late;
    };
    using Clock = std::chrono::steady_clock;
    // Runs `c` here when this server serves `node`, else sends it to the server that does;
    // waits when there is no link to that server. `due`: a command that waited already, and
    // until when it may.
    template <class C, class T>
    void route(const std::string& node, const char* op, C c, chat::Reply<T> reply,
               void (PoolRooms::*here)(C, chat::Reply<T>),
               std::optional<Clock::time_point> due = std::nullopt);
    // Why a command waits: its room's server `server` cannot be reached now (or the live
    // servers are changing here), or server `server` sent it for a room that this server does
    // not serve yet.
    enum class Waiting { for_link, to_serve };
    // Parks the command `make_go(due)` makes when it must wait for `why`, or commands for
    // `node` wait already (and `due` is not set: it did not wait itself); `due`: until when.
    template <class MakeGo>
    bool wait(Waiting why, uint32_t server, const std::string& node,
              std::optional<Clock::time_point> due, MakeGo&& make_go);
    template <class C, class T>
    void serve_one(uint32_t from, uint64_t id, C c, void (PoolRooms::*here)(C, chat::Reply<T>),
                   const std::function<void(uint32_t, const std::string&, T&)>& adjust,
                   std::optional<Clock::time_point> due);
    // `sent_before`: the join was sent once already, on a link lost before its answer.
    // An adoption to server `server` (here, or over the link, waiting for it like `route`).
    void send_adoption(const std::string& node, std::vector<chat::Occupant> mine, uint32_t server,
                       chat::Reply<int64_t> done, std::optional<Clock::time_point> due);
    void join_from(chat::JoinCommand c, chat::Reply<chat::JoinResult> reply,
                   std::optional<Clock::time_point> due, bool sent_before = false);
    // Sends `c` to server `server` and gives its answer to `reply` on the room's shard.
    template <class C, class T>
    void forward(uint32_t server, const std::string& node, const char* op, const C& c,
                 chat::Reply<T> reply, Late late = {}, Again again = {});
    // Serves `op` for the other servers; `adjust` may change a success before it is sent.
    template <class C, class T>
    void serve(const char* op, void (PoolRooms::*here)(C, chat::Reply<T>),
               std::type_identity_t<std::function<void(uint32_t from, const std::string& room, T&)>>
                   adjust = {});
    template <class T>
    void answer(uint32_t to, uint64_t id, const chat::Result<T>& result);
    void fail(Pending p, chat::Error e);

    // The local calls, by the shape every command shares.
    void local_join(chat::JoinCommand c, chat::Reply<chat::JoinResult> r) {
        local_.join(std::move(c), std::move(r));
    }
    void local_leave(chat::LeaveCommand c, chat::Reply<chat::Ok> r) {
        local_.leave(std::move(c), std::move(r));
    }
    void local_post(chat::PostCommand c, chat::Reply<chat::Posted> r) {
        local_.post(std::move(c), std::move(r));
    }
    void local_relay(chat::RelayCommand c, chat::Reply<chat::Ok> r) {
        local_.relay(std::move(c), std::move(r));
    }
    void local_private(chat::PrivateCommand c, chat::Reply<chat::Ok> r) {
        local_.send_private(std::move(c), std::move(r));
    }
    void local_subject(chat::SubjectCommand c, chat::Reply<chat::Ok> r) {
        local_.set_subject(std::move(c), std::move(r));
    }
    void local_configure(chat::ConfigureCommand c, chat::Reply<chat::Ok> r) {
        local_.configure(std::move(c), std::move(r));
    }
    void local_lists_change(chat::ListsCommand c, chat::Reply<chat::Ok> r) {
        local_.change_lists(std::move(c), std::move(r));
    }
    void local_kick(chat::KickCommand c, chat::Reply<chat::Ok> r) {
        local_.kick(std::move(c), std::move(r));
    }
    void local_moderate(chat::ModerateCommand c, chat::Reply<chat::Ok> r) {
        local_.moderate(std::move(c), std::move(r));
    }
    void local_invite(chat::InviteCommand c, chat::Reply<chat::Ok> r) {
        local_.invite(std::move(c), std::move(r));
    }
    void local_destroy(chat::DestroyCommand c, chat::Reply<chat::Ok> r) {
        local_.destroy(std::move(c), std::move(r));
    }
    void local_clear(chat::ClearHistoryCommand c, chat::Reply<int64_t> r) {
        local_.clear_history(std::move(c), std::move(r));
    }
    void local_create(chat::CreateCommand c, chat::Reply<chat::Ok> r) {
        local_.create(std::move(c), std::move(r));
    }
    void local_archive(chat::ArchiveCommand c, chat::Reply<store::ArchivePage> r) {
        local_.archive(std::move(c), std::move(r));
    }
    void local_info(RoomQuery q, chat::Reply<chat::RoomInfo> r) {
        local_.info(std::move(q.room), std::move(q.actor), std::move(r));
    }
    void local_occupants(RoomQuery q, chat::Reply<std::vector<std::string>> r) {
        local_.occupants(std::move(q.room), std::move(q.actor), std::move(r));
    }
    void local_adopt(AdoptCommand c, chat::Reply<int64_t> r) {
        local_.adopt(c.room, std::move(c.occupants), std::move(r));
    }
    void local_lists(RoomQuery q,
                     chat::Reply<std::vector<std::pair<store::RoomList, store::Principal>>> r) {
        local_.lists(std::move(q.room), std::move(q.actor), std::move(r));
    }

    chat::RoomService& local_;
    Fanout& fanout_;
    const Membership& membership_;
    util::Shards& shards_;
    PoolUsers* users_ = nullptr;
    Links* links_ = nullptr;
    std::unordered_map<std::string, std::function<void(uint32_t from, uint64_t id, const Json&)>>
        handlers_;
    std::mutex mutex_;
    std::unordered_map<uint64_t, Pending> pending_;
    std::unordered_map<uint64_t, Expired> expired_;  // refused for lateness, with a Late
    // When each command forwarded is due, and when each expired one is forgotten: in the
    // order they were made, which is the order they fall due (one timeout for all).
    using Due = std::pair<std::chrono::steady_clock::time_point, uint64_t>;
    std::deque<Due> deadlines_, forget_;
    uint64_t next_id_ = 1;
    struct Retry {
        std::string node;
        std::vector<chat::Occupant> mine;
        uint32_t server;
        int attempt;
        std::chrono::steady_clock::time_point due;
    };
    std::vector<Retry> retries_;  // under mutex_
    // The adoptions asked for since none was under way (after a change of the live set: one
    // per room, thousands at once), told as one line when the last of them ends.
    struct Adoptions {
        int64_t under_way = 0, rooms = 0, occupants = 0, failed = 0;
        int64_t retried = 0;  // answered busy (the room not let go yet), asked again
        std::chrono::steady_clock::time_point first;
    };
    Adoptions adoptions_;  // under mutex_
    void adoption_ended(size_t occupants, bool adopted);
    // Answers to other servers' commands that could not be sent, by server: told by
    // expire(), one line a second at most (a link lost under a burst fails thousands).
    std::map<uint32_t, int64_t> unsent_answers_;  // under mutex_
    // Commands waiting for their room's server to be reachable, in the order they came.
    struct Parked {
        Waiting why;
        uint32_t server;
        std::string node;
        Clock::time_point due;
        std::function<void(std::optional<chat::Error> refused)> go;  // routes it again
    };
    std::vector<Parked> parked_;            // under mutex_
    std::unordered_set<std::string> held_;  // rooms with commands in parked_ (under mutex_)
    std::mutex release_mutex_;              // one release_parked() at a time
    // Per shard: changes whose adoptions are not through there yet, and the commands for its
    // rooms that wait for them (run by the task that ends the last part, on the shard).
    struct ChangeGate {
        int parts = 0;                            // parts of changes not through on the shard
        std::vector<std::function<void()>> held;  // commands for its rooms, in order
    };
    std::vector<ChangeGate> gates_;  // by shard, under mutex_
    std::function<void()> settled_;
    bool settling_locked() const;  // under mutex_
    // When `node`'s shard has a change to go through: what `make_again()` makes is held, and
    // runs on the shard once the change is through there.
    template <class MakeAgain>
    bool after_change(const std::string& node, MakeAgain&& make_again);
};

// As they cross a link (defined in pool_rooms_serving.cpp).
void to_json(Json& j, const PoolRooms::RoomQuery& q);
void from_json(const Json& j, PoolRooms::RoomQuery& q);
void to_json(Json& j, const PoolRooms::AdoptCommand& c);
void from_json(const Json& j, PoolRooms::AdoptCommand& c);

// Here, as both the routing of this server's commands (pool_rooms.cpp) and the serving of
// the other servers' (pool_rooms_serving.cpp) make commands wait.
template <class MakeGo>
bool PoolRooms::wait(Waiting why, uint32_t server, const std::string& node,
                     std::optional<Clock::time_point> due, MakeGo&& make_go) {
    auto now = Clock::now();
    if (why == Waiting::to_serve && due && *due <= now) return false;  // waited long enough
    bool ready = why == Waiting::for_link ? links_->linked(server) : membership_.serves(node);
    std::lock_guard lock(mutex_);
    if (ready && (due || !held_.contains(node))) return false;
    if (!due) {
        const PoolConfig& config = membership_.config();
        int ms = why == Waiting::for_link
                     ? std::min(config.command_timeout_ms, config.lease_ms + 2000)
                     : 2 * config.renew_ms + 500;
        due = now + std::chrono::milliseconds(ms);
    }
    held_.insert(node);
    parked_.push_back({why, server, node, *due, make_go(*due)});
    return true;
}

}  // namespace perch::pool
