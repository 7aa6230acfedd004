#pragma once
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/directory.hpp"
#include "chat/events.hpp"
#include "chat/settings.hpp"
#include "pool/links.hpp"
#include "pool/membership.hpp"
#include "store/workers.hpp"
#include "util/executor.hpp"

namespace perch::pool {

// The events of the rooms this server serves go to this server's occupants and, once each, to
// every other server that has occupants in the room (which shows them to its own); events of
// rooms served elsewhere arrive from their server and go to this server's occupants.
//
// For a room served here it keeps how many occupants each other server has there, from the
// events themselves (on the room's shard, where they are published). For a room served
// elsewhere in which this server has occupants it keeps what it was told: the occupants (so
// that, when the room's server dies, the others' clients see its occupants leave, and this
// server's occupants are adopted by the room's next server) and the newest message shown (a
// duplicate is dropped; a gap is filled from the database before anything newer is shown).
// Room changes and deletions go to every server, whose directory follows; so do invitations,
// since the invitee may be anywhere.
class Fanout final : public chat::RoomEventSink {
  public:
    // `settings`: the room service's, the same on every server of the pool (above the
    // participant update limit a room's comings and goings are not shown).
    Fanout(chat::RoomEventSink& local, chat::Directory& directory, util::Shards& shards,
           const Membership& membership, store::StoreJobs& jobs,
           std::shared_ptr<const chat::LiveSettings> settings =
               std::make_shared<chat::LiveSettings>());
    void set_links(Links* links) { links_ = links; }
    chat::Directory& directory() { return directory_; }

    // From this server's room service, on the room's shard.
    void room_event(const chat::RoomEvent& e) override;
    void invitation(const chat::Invitation& inv) override;

    // From the room's server (on the link's thread): posted to the room's shard and shown
    // there.
    void remote_event(chat::RoomEvent e);
    void remote_invitation(const chat::Invitation& inv);

    // The room is no longer served here (on the room's shard): what was known of the other
    // servers' occupants goes, and the room is followed as one served elsewhere, from its
    // occupants and newest message as they were.
    void moved_away(const std::string& node, std::vector<chat::Occupant> occupants,
                    int64_t last_seq);
    // The room is served here from now on (on the room's shard): it is no longer followed as
    // one served elsewhere.
    void moved_here(const std::string& node);
    // The room's server has everything up to `last_seq` (an adoption's answer, on the room's
    // shard): what this server has not shown yet is fetched and shown.
    void caught_up(const std::string& node, int64_t room_id, int64_t last_seq);
    // A join here into a room served elsewhere was answered (on the room's shard): the room's
    // occupants it listed are known from now on (their server's loss is shown for them too);
    // when the list was left out because they are known already, it is filled in from here.
    void joined(const std::string& node, chat::JoinResult& result);
    // This server, serving `node`, answered a join of server `server` with the room's whole
    // occupant list (on the room's shard): that server knows the occupants of that moment, and
    // from then on only what reaches it as events — occupants adopted later included.
    void listed(const std::string& node, uint32_t server);

    // The live servers changed: for each room served elsewhere in which this server has
    // occupants and whose server is no longer the same, `adopt` is called (on the room's
    // shard) with this server's occupants and the room's new server; where the former server
    // is gone, its occupants leave (XEP-0045 status 333) for this server's clients. `done` is
    // called on each shard when its adoptions are sent; the leaving is shown after, in slices.
    using Adopt = std::function<void(const std::string& node, std::vector<chat::Occupant> mine,
                                     uint32_t server)>;
    void servers_changed(const std::vector<store::PoolMember>& before,
                         const std::vector<store::PoolMember>& now, const Adopt& adopt,
                         const std::function<void(size_t shard)>& done = {});

  private:
    struct Followed {
        uint32_t server = 0;   // the room's server, as last heard from
        int64_t last_seq = 0;  // the newest message shown here, once known
        // Known from a join's answer, the move of the room away from here, or the first
        // message shown; until then a message is taken as it comes, and an adoption's answer
        // sets where the room is.
        bool seq_known = false;
        int64_t room_id = 0;
        // Every occupant as last told, by full JID; those of other servers without their
        // presence and rules (this server only shows them leaving).
        std::unordered_map<std::string, chat::Occupant> occupants;
        bool fetching = false;             // a gap is being read from the database
        bool served_here = false;          // moved here: forgotten once the gap is filled
        bool large = false;                // the last join here was answered as large
        std::deque<chat::RoomEvent> held;  // events that came meanwhile, in order
    };
    void send_to(const std::vector<uint32_t>& servers, const Json& frame);
    std::vector<uint32_t> others();
    // Shows one event of a room served elsewhere, unless it must wait for a gap to be filled.
    void show(Followed& f, chat::RoomEvent e);
    void fill_gap(const std::string& node, Followed& f, int64_t up_to);
    void remember(Followed& f, const chat::RoomEvent& e);
    Followed* followed(const std::string& node);

    chat::RoomEventSink& local_;
    chat::Directory& directory_;
    util::Shards& shards_;
    const Membership& membership_;
    store::StoreJobs& jobs_;
    std::shared_ptr<const chat::LiveSettings> settings_;
    Links* links_ = nullptr;
    struct Audience {
        std::map<uint32_t, size_t> servers;  // other servers with occupants: how many each
        // Servers that learnt the room's occupants from this server's answer to a join (not
        // by following the room before it moved here): they are told of adopted occupants.
        std::set<uint32_t> listed;
    };
    // Per shard, touched only there: rooms served here, and rooms served elsewhere.
    std::vector<std::unordered_map<std::string, Audience>> served_;
    std::vector<std::unordered_map<std::string, Followed>> followed_;
    // The occupants of `server` (gone) leave the room here, `left` gets what to show for
    // them; on the room's shard.
    void ghosts_leave(Followed& f, const std::string& node, uint32_t server,
                      std::vector<chat::RoomEvent>& left);
};

}  // namespace perch::pool
