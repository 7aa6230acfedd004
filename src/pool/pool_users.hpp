#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>

#include "pool/codec.hpp"
#include "pool/links.hpp"
#include "pool/membership.hpp"
#include "xmpp/remote_users.hpp"

namespace perch::pool {

// One-to-one messages between users on different servers of a pool. A server with a message
// for a user offers it to every other live server ("um" frames): each delivers it to its own
// sessions of the user and answers whether it did ("ua"); when none did, the sender's server
// keeps it for the user's next sign-in. One frame per server, whatever the sessions.
class PoolUsers final : public xmpp::RemoteUsers {
  public:
    PoolUsers(xmpp::Router& router, const Membership& membership,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));
    void set_links(Links* links) { links_ = links; }

    void offer(Offer offer, std::function<void(bool delivered)> done) override;

    // The sessions of every live server (the admin API's GET /sessions): asks the others ("sl"
    // frames; each answers "sa" with at most `limit` of its own) and calls `done` with an array
    // of {"server", "sessions": [{"jid", "connected"}], "more"} (or "error" for a server that
    // did not answer in time), this server's first.
    void list_sessions(size_t limit, std::function<void(Json servers)> done);
    // One server's own sessions, as list_sessions gives them.
    static Json local_sessions(const xmpp::Router& router, size_t limit);

    // From a link (its thread): "um" offers and "ua" answers.
    void frame(uint32_t from, const Json& frame);
    // The link to `number` closed: its answers count as not delivered.
    void link_lost(uint32_t number);
    // Offers unanswered past the timeout count as not delivered (call about once a second).
    void expire();

  private:
    // An offer, or a session listing, waiting for the other servers' answers.
    struct Pending {
        std::set<uint32_t> waiting;  // servers yet to answer
        bool delivered = false;
        std::function<void(bool)> done;  // an offer's
        Json listed;                     // a listing's answers so far (an array)
        std::function<void(Json)> listing_done;
        std::chrono::steady_clock::time_point deadline;
    };
    // Asks every other live server with `frame` (given an "id"); returns the id.
    uint64_t ask(Json frame, Pending pending);
    // Takes one server's answer (`listed`: its sessions; null when it could not answer); the
    // callback runs (outside the lock) once all are in.
    void answered(uint64_t id, uint32_t server, bool delivered, Json listed = nullptr);

    xmpp::Router& router_;
    const Membership& membership_;
    std::chrono::milliseconds timeout_;
    Links* links_ = nullptr;
    std::mutex mutex_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, Pending> pending_;
};

}  // namespace perch::pool
