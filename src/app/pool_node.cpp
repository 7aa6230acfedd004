#include "app/pool_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>

namespace perch::app {

PoolNode::PoolNode(pool::Membership& membership, chat::RoomService& rooms, pool::Fanout& fanout,
                   util::Shards& shards, xmpp::Router& router, store::StoreWorkers& workers)
    : membership_(membership), local_(rooms), fanout_(fanout), workers_(workers) {
    rooms_ = std::make_unique<pool::PoolRooms>(rooms, fanout, membership, shards);
    users_ = std::make_unique<pool::PoolUsers>(router, membership);
    rooms_->set_users(users_.get());
    io_ = std::make_unique<net::IoPool>(1, "perch-peers");
    // Linked to on the pool port, which the server serves with the admin API.
    links_ = std::make_unique<net::PeerLinks>(*io_, membership, *rooms_);
    fanout.set_links(links_.get());
    rooms_->set_links(links_.get());
    users_->set_links(links_.get());
    membership.on_change(
        [this](const std::vector<store::PoolMember>& before,
               const std::vector<store::PoolMember>& now) { changed(before, now); });
    links_->members_changed(membership.live());
}

PoolNode::~PoolNode() = default;

// The live servers of the pool changed: links follow; the occupants of a server that went
// (or restarted) leave the rooms served here; rooms that now hash to another server are let go.
void PoolNode::changed(const std::vector<store::PoolMember>& before,
                       const std::vector<store::PoolMember>& now) {
    // Two parts send adoptions from the rooms' shards, below; until both are through on a
    // shard, commands for its rooms go from the shard too, after them.
    rooms_->changing();  // rooms served elsewhere whose server changed
    rooms_->changing();  // rooms let go by this server
    {
        std::lock_guard lock(hold_mutex_);
        if (admission_ && !held_since_) {
            admission_->hold();
            held_since_ = std::chrono::steady_clock::now();
        }
    }
    for (const auto& gone : before) {
        bool still = std::any_of(now.begin(), now.end(), [&](const store::PoolMember& m) {
            return m.number == gone.number && m.incarnation == gone.incarnation;
        });
        if (still) continue;
        spdlog::warn("pool: server {} ({}) left the pool; its occupants leave the rooms here",
                     gone.name, gone.number);
        local_.drop_server(gone.number);
        rooms_->link_lost(gone.number);
    }
    links_->members_changed(now);  // after the drops: a restarted server's new clients stay
    // Rooms served elsewhere whose server changed: this server's occupants are adopted by the
    // new one (and the gone server's occupants leave, for this server's clients).
    fanout_.servers_changed(
        before, now,
        [this](const std::string& node, std::vector<chat::Occupant> mine, uint32_t server) {
            rooms_->adopt(node, std::move(mine), server);
        },
        [this](size_t shard) { rooms_->changed_on(shard); });
    // Rooms served here that hash to another server now are let go; their occupants here are
    // adopted by it like those of any other server.
    local_.loaded_rooms([this](const std::vector<std::string>& nodes) {
        for (const auto& node : nodes) {
            if (membership_.serves(node)) continue;
            local_.unload(node, [this, node](chat::RoomService::Released was) {
                bool queued = workers_.submit([id = was.id, epoch = was.epoch,
                                               self = membership_.self().name](store::Store& s) {
                    s.release_room(id, self, epoch);
                });
                if (!queued) spdlog::warn("pool: room {} not released: the store is busy", node);
                std::vector<chat::Occupant> mine;
                for (const auto& o : was.occupants)
                    if (o.server == 0) mine.push_back(o);
                fanout_.moved_away(node, std::move(was.occupants), was.last_seq);
                if (!mine.empty()) rooms_->adopt(node, std::move(mine), membership_.owner_of(node));
            });
        }
        rooms_->changed_everywhere();  // behind the unloads just posted to the shards
    });
    // Commands that waited for the gone server go to the rooms' new servers.
    rooms_->release_parked();
}

void PoolNode::hold_joins_while_rooms_move(std::shared_ptr<util::Admission> admission) {
    {
        std::lock_guard lock(hold_mutex_);
        admission_ = std::move(admission);
    }
    rooms_->on_settled([this] { end_hold(true); });
}

// The change went through (`settled`), or the hold lasted kMaxHold: room joins go on.
void PoolNode::end_hold(bool settled) {
    std::lock_guard lock(hold_mutex_);
    if (!held_since_) return;
    std::chrono::duration<double> held = std::chrono::steady_clock::now() - *held_since_;
    if (settled) {
        if (rooms_->settling()) return;  // another change began meanwhile
        spdlog::info("pool: the rooms moved in {:.1f} s; room joins go on", held.count());
    } else {
        if (held < kMaxHold) return;
        spdlog::warn("pool: room joins held {:.1f} s while the rooms move; they go on now",
                     held.count());
    }
    held_since_.reset();
    admission_->release();
}

void PoolNode::tick(xmpp::Router& router,
                    const std::function<std::optional<std::string>()>& elsewhere,
                    std::chrono::seconds drain) {
    rooms_->expire();
    users_->expire();
    end_hold(false);
    auto now = std::chrono::steady_clock::now();
    if (membership_.active()) {
        serving_no_more_.reset();
    } else if (!serving_no_more_) {
        serving_no_more_ = now;
        spdlog::info("pool: this server serves no more; its {} sessions go in {} s",
                     router.session_count(), drain.count());
    } else if (now - *serving_no_more_ >= drain) {
        size_t moved = 0;
        for (const auto& s : router.all())
            if (auto other = elsewhere()) {
                s->terminate("see-other-host", *other);
                ++moved;
            }
        if (moved) spdlog::info("pool: drained: {} sessions sent to active servers", moved);
    }
}

std::function<std::optional<std::string>()> PoolNode::elsewhere(
    const pool::Membership& membership, std::string (*where)(const store::PoolMember&)) {
    return [&membership, where,
            turn = std::make_shared<std::atomic<size_t>>(0)]() -> std::optional<std::string> {
        if (membership.active()) return std::nullopt;
        std::vector<std::string> active;
        for (const auto& m : membership.live())
            if (m.active && m.number != membership.self().number && !where(m).empty())
                active.push_back(where(m));
        if (active.empty()) return std::nullopt;  // nobody else serves: here, then
        return active[turn->fetch_add(1) % active.size()];
    };
}

}  // namespace perch::app
