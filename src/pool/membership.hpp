#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hpp"

namespace perch::pool {

struct PoolConfig {
    std::string name;            // this server's name in the pool (unique, kept across restarts)
    std::string peer_address;    // host:port where the other servers reach this one
    std::string client_address;  // host:port where its XMPP clients connect
    std::string web_url;         // its web service's public URL
    std::string secret;          // shared by every server of the pool; authenticates the links
    int lease_ms = 3000;         // a server whose lease has not been renewed for this long is down
    int renew_ms = 1000;
    // A room command forwarded and not answered for this long is refused (busy); a join whose
    // success comes later is undone. Under a burst the answers come late, not never: a live
    // link's silence is caught by its heartbeat within seconds.
    int command_timeout_ms = 30000;
};

// Which servers form the pool right now, from the leases in the shared database, and which of
// them serves a room. One thread renews this server's lease every `renew_ms` and reads the
// others'; when the set of live servers changes, `changed` is called on that thread. Each
// member that leaves the set (lapsed, killed or gone cleanly) is marked gone in the database
// first, so that should it still run it cannot renew (see on_lost).
class Membership {
  public:
    using Changed = std::function<void(const std::vector<store::PoolMember>& before,
                                       const std::vector<store::PoolMember>& now)>;
    explicit Membership(PoolConfig config);
    ~Membership();

    // Registers (waiting up to a lease for a previous incarnation's to lapse) and starts the
    // renewal thread. Throws when the name stays taken or the database cannot be reached.
    void start(std::unique_ptr<store::Store> store);
    // What to call when the live servers change (set before the first change matters).
    void on_change(Changed changed);
    // What to call (once, on the renewal thread, which then ends) when this server can be a
    // member no more: the others took it for gone while its lease had lapsed (it was paused,
    // or cut off from the database and the other servers), or another server took its name.
    // Its occupants have left the rooms elsewhere and its rooms moved: what it holds is not the
    // pool's any more, and only a new start (a new incarnation) makes it a member again.
    using Lost = std::function<void(const std::string& why)>;
    void on_lost(Lost lost);  // called at once when it was lost already
    // Live server `by` says it took this one for gone (marked so in the database, as its
    // lease had lapsed there): lost now, not when this server next reaches the database,
    // which one cut off from it alone may not do for long while its clients wait in vain.
    void told_gone(uint32_t by);
    // This server's pool in the published topology and how long an active server stays down
    // before a standby takes its slot: while this server holds no slot it takes the first one
    // whose holder has been down that long (docs/TOPOLOGY.md). An empty pool: it never does.
    void set_takeover(std::string pool, int standby_after_s);
    // Whether this server holds an active slot (serves rooms) as last read.
    bool active() const;
    void stop();  // leaves the pool (the lease ends now) and joins the thread
    // The link to live server `number` closed of itself: that server may be dead, its lease
    // lapsing. For the next lease (and a renewal) the leases are read every kQuickLook rather
    // than every renew_ms, so that its loss is seen within moments of the lapse and its rooms
    // move that much sooner; and each time its lease is ended at once if its database session
    // is gone (store::Store::end_lease_if_gone: the process died). A link cut while the server
    // lives costs a few reads, nothing more.
    void look_sooner(uint32_t number);
    static constexpr std::chrono::milliseconds kQuickLook{100};

    const PoolConfig& config() const { return config_; }
    const store::PoolMember& self() const { return self_; }
    std::vector<store::PoolMember> live() const;
    std::optional<store::PoolMember> member(uint32_t number) const;
    // The pool number of the live server that serves `node` (rendezvous hashing over the live
    // active servers' names, or every live one when none is active): this server's own number
    // when it is this one.
    uint32_t owner_of(const std::string& node) const;
    bool serves(const std::string& node) const { return owner_of(node) == self_.number; }

    // The rendezvous weight of a server for a room: the highest wins.
    static uint64_t weight(const std::string& server, const std::string& node);
    // The number of the member of `members` that serves `node` (0 when there is none).
    static uint32_t owner_among(const std::vector<store::PoolMember>& members,
                                const std::string& node);

  private:
    void run();

    PoolConfig config_;
    store::PoolMember self_;
    std::unique_ptr<store::Store> store_;
    Changed changed_;
    Lost lost_;
    std::optional<std::string> lost_why_;  // set when it was lost
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<store::PoolMember> live_;
    std::string takeover_pool_;
    int standby_after_s_ = 30;
    bool stopping_ = false;
    std::chrono::steady_clock::time_point quick_until_{};  // leases read every kQuickLook
    std::set<uint32_t> suspects_;  // their links closed in the quick window: gone already?
    std::thread thread_;
};

}  // namespace perch::pool
