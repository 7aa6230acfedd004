#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat/room_service.hpp"
#include "net/io.hpp"
#include "net/peer_links.hpp"
#include "pool/fanout.hpp"
#include "pool/membership.hpp"
#include "pool/pool_rooms.hpp"
#include "pool/pool_users.hpp"
#include "store/workers.hpp"
#include "util/admission.hpp"
#include "xmpp/router.hpp"

namespace perch::app {

// What a pool member runs beside its own rooms (the server builds one when [pool] is set):
// the commands for rooms served elsewhere, and the others' commands for rooms served here
// (PoolRooms); one-to-one messages across the pool (PoolUsers); the peer links, on an I/O
// thread of their own (behind a burst of client work their heartbeats would wait for
// seconds, the links would be judged silent and the pool would come apart); and what a
// change of the live servers does to the rooms here.
class PoolNode {
  public:
    PoolNode(pool::Membership& membership, chat::RoomService& rooms, pool::Fanout& fanout,
             util::Shards& shards, xmpp::Router& router, store::StoreWorkers& workers);
    ~PoolNode();

    pool::PoolRooms& rooms() { return *rooms_; }
    pool::PoolUsers& users() { return *users_; }
    net::PeerLinks& links() { return *links_; }
    net::IoPool& io() { return *io_; }

    // Once a second: commands sent to another server and not answered in time are refused;
    // a server that serves no more (a standby, or left out of the active-server list) sends
    // the sessions it still holds to active servers (`elsewhere`) once `drain` has passed.
    void tick(xmpp::Router& router, const std::function<std::optional<std::string>()>& elsewhere,
              std::chrono::seconds drain);

    // While a change of the live servers moves rooms (the adoptions of this server's
    // occupants, the rooms it lets go), `admission` is held: this server's clients' room joins
    // wait, and no new client is accepted, so that the rooms are served again first, with
    // their occupants, rather than behind a reconnection storm; at most kMaxHold.
    void hold_joins_while_rooms_move(std::shared_ptr<util::Admission> admission);
    static constexpr std::chrono::seconds kMaxHold{5};

    // Where a server that serves no more sends a new client: the active servers in turn, at
    // the address `where` gives for each (empty: none); nowhere while this one is active.
    static std::function<std::optional<std::string>()> elsewhere(
        const pool::Membership& membership, std::string (*where)(const store::PoolMember&));

  private:
    void changed(const std::vector<store::PoolMember>& before,
                 const std::vector<store::PoolMember>& now);

    pool::Membership& membership_;
    chat::RoomService& local_;
    pool::Fanout& fanout_;
    store::StoreWorkers& workers_;
    std::unique_ptr<pool::PoolRooms> rooms_;
    std::unique_ptr<pool::PoolUsers> users_;
    std::unique_ptr<net::IoPool> io_;
    std::unique_ptr<net::PeerLinks> links_;
    std::optional<std::chrono::steady_clock::time_point> serving_no_more_;  // tick()'s only
    // The hold of hold_joins_while_rooms_move(): since when it is held.
    std::mutex hold_mutex_;
    std::shared_ptr<util::Admission> admission_;                       // under hold_mutex_
    std::optional<std::chrono::steady_clock::time_point> held_since_;  // under hold_mutex_
    void end_hold(bool settled);
};

}  // namespace perch::app
