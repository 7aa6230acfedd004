#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/events.hpp"
#include "util/executor.hpp"
#include "util/histogram.hpp"
#include "xmpp/direct.hpp"
#include "xmpp/router.hpp"

namespace perch::xmpp {

// Shows room events to this server's clients. For each room it keeps the occupants whose
// sessions are here, on the room's shard (the same strand the room service publishes on, or
// where a pool's peer link hands events in); renders each event once and gives every local
// recipient the shared bytes with only its own address.
class MucDelivery final : public chat::RoomEventSink {
  public:
    MucDelivery(std::string muc_domain, std::string user_domain, util::Shards& shards,
                Router& router);

    void room_event(const chat::RoomEvent& e) override;
    void invitation(const chat::Invitation& inv) override;

    // A session of this server joined (on the room's shard, from the join's reply): the
    // room's events reach `handle` from now on.
    void joined(const std::string& room, const std::string& nick, SessionHandlePtr handle);
    // The nickname `full_jid` has in `room`, if it is there (on the room's shard).
    std::optional<std::string> nick_of(const std::string& room, const std::string& full_jid) const;
    // The rooms a session is in (any thread).
    std::vector<std::string> rooms_of(const std::string& full_jid) const;
    // Whether the session `full_jid` is in `room` (from any thread).
    bool occupies(const std::string& full_jid, const std::string& room) const;
    // The rooms any session of a user is in (any thread).
    std::set<std::string> rooms_of_user(const Jid& bare) const;

    std::string room_jid(const std::string& room) const { return room + "@" + muc_domain_; }
    Router& router() const { return router_; }
    // Private messages between a user and someone they block are not delivered (XEP-0191).
    void set_blocklists(const direct::Blocklists* lists) { blocklists_ = lists; }
    // Where the time to hand each room message to this server's occupants is counted.
    void set_timing(util::Histogram* delivery) { delivery_seconds_ = delivery; }

  private:
    struct Local {
        std::string nick;
        SessionHandlePtr handle;
        const std::string& jid() const { return handle->address(); }
    };
    // A room's local occupants: in a vector to walk for each event; one who leaves is found
    // by full JID and the last one takes its place. Above kIndexFrom occupants their positions
    // are indexed by full JID (viewing the handles' own addresses), so that leaving a large
    // room costs constant time; below, a scan of a few is cheaper than the index's memory (the
    // memory of an idle session is the scarce resource: nothing here is kept twice).
    struct Audience {
        static constexpr size_t kIndexFrom = 64;
        std::vector<Local> list;
        std::unordered_map<std::string_view, size_t> position;  // only above kIndexFrom
        bool empty() const { return list.empty(); }
        Local* find(const std::string& full_jid);
        const Local* find(const std::string& full_jid) const;
        void put(std::string nick, SessionHandlePtr handle);
        void erase(const std::string& full_jid);
    };
    Audience& audience(const std::string& room);
    // Each local occupant for which `want(full_jid, occupant)` holds gets `p`.
    using Filter = std::function<bool(const std::string& full_jid, const Local&)>;
    void deliver(const Audience& to, const std::shared_ptr<const PreparedStanza>& p,
                 const Filter& want = {}) const;
    void forget(const std::string& room, const std::string& full_jid);
    void on_left(const std::string& room, const chat::OccupantLeft& left);
    void on_nick(const std::string& room, const chat::NickChanged& changed);

    std::string muc_domain_, user_domain_;
    const direct::Blocklists* blocklists_ = nullptr;
    util::Shards& shards_;
    Router& router_;
    // Per shard: room -> its local occupants. Touched only on that shard.
    std::vector<std::unordered_map<std::string, Audience>> audiences_;

    mutable std::mutex index_mutex_;
    std::unordered_map<std::string, std::vector<std::string>> rooms_by_session_;  // full JID
    util::Histogram* delivery_seconds_ = nullptr;
};

}  // namespace perch::xmpp
