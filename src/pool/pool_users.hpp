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

    // From a link (its thread): "um" offers and "ua" answers.
    void frame(uint32_t from, const Json& frame);
    // The link to `number` closed: its answers count as not delivered.
    void link_lost(uint32_t number);
    // Offers unanswered past the timeout count as not delivered (call about once a second).
    void expire();

  private:
    struct Pending {
        std::set<uint32_t> waiting;  // servers yet to answer
        bool delivered = false;
        std::function<void(bool)> done;
        std::chrono::steady_clock::time_point deadline;
    };
    // Takes one server's answer; the offer's `done` runs (outside the lock) once all are in.
    void answered(uint64_t id, uint32_t server, bool delivered);

    xmpp::Router& router_;
    const Membership& membership_;
    std::chrono::milliseconds timeout_;
    Links* links_ = nullptr;
    std::mutex mutex_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, Pending> pending_;
};

}  // namespace perch::pool
