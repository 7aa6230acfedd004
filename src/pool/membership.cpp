#include "pool/membership.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "util/crypto.hpp"
#include "util/thread_name.hpp"

namespace perch::pool {

Membership::Membership(PoolConfig config) : config_(std::move(config)) {
    self_.name = config_.name;
    self_.peer_address = config_.peer_address;
    self_.client_address = config_.client_address;
    self_.web_url = config_.web_url;
    // A new value at each start: the others tell a restart from a link that came back.
    self_.incarnation = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
}

Membership::~Membership() {
    stop();
}

void Membership::on_change(Changed changed) {
    std::lock_guard lock(mutex_);
    changed_ = std::move(changed);
}

void Membership::on_lost(Lost lost) {
    std::unique_lock lock(mutex_);
    lost_ = std::move(lost);
    if (!lost_why_) return;
    auto why = *lost_why_;
    auto call = lost_;
    lock.unlock();
    call(why);  // lost before anybody asked
}

void Membership::told_gone(uint32_t by) {
    std::unique_lock lock(mutex_);
    if (lost_why_ || stopping_) return;
    lost_why_ =
        fmt::format("server {} took {} for gone while its lease had lapsed", by, self_.name);
    auto why = *lost_why_;
    auto lost = lost_;
    lock.unlock();
    cv_.notify_all();  // the renewal thread ends
    spdlog::critical("pool: {}: this server is no member any more and stops", why);
    if (lost) lost(why);
}

void Membership::set_takeover(std::string pool, int standby_after_s) {
    std::lock_guard lock(mutex_);
    takeover_pool_ = std::move(pool);
    standby_after_s_ = standby_after_s;
}

bool Membership::active() const {
    std::lock_guard lock(mutex_);
    for (const auto& m : live_)
        if (m.number == self_.number) return m.active;
    return true;
}

void Membership::start(std::unique_ptr<store::Store> store) {
    store_ = std::move(store);
    // A server killed a moment ago still holds its name until its lease lapses.
    auto give_up =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.lease_ms * 2);
    for (bool told = false;;) {
        try {
            self_.number = store_->join_pool(self_, config_.lease_ms);
            break;
        } catch (const store::Conflict& e) {
            if (std::chrono::steady_clock::now() > give_up) throw;
            if (!told)
                spdlog::info("pool: waiting for the lease of a previous {} to lapse", config_.name);
            told = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
    }
    live_ = store_->renew_lease(self_, config_.lease_ms);
    spdlog::info("pool: {} is member {} of {} live", self_.name, self_.number, live_.size());
    thread_ = std::thread([this] {
        util::name_this_thread("perch-lease");
        run();
    });
}

void Membership::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || !thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    try {
        store_->leave_pool(self_);
    } catch (const std::exception& e) {
        spdlog::warn("pool: leaving failed ({}); the lease will lapse", e.what());
    }
}

void Membership::look_sooner(uint32_t number) {
    {
        std::lock_guard lock(mutex_);
        suspects_.insert(number);
        quick_until_ = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(config_.lease_ms + config_.renew_ms);
    }
    cv_.notify_all();
}

void Membership::run() {
    auto same = [](const std::vector<store::PoolMember>& a,
                   const std::vector<store::PoolMember>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
            return x.number == y.number && x.incarnation == y.incarnation && x.active == y.active;
        });
    };
    // After the database was out of reach (a restart, a failover to its replica) every lease
    // may have lapsed meanwhile: for one lease the others get the time to renew theirs before
    // anybody is taken for down, so that no room moves and no occupant leaves for nothing.
    using Clock = std::chrono::steady_clock;
    bool unreachable = false;
    Clock::time_point grace_until{};
    const std::chrono::milliseconds renew(config_.renew_ms);
    Clock::time_point read_at = Clock::now();  // when the leases were last read
    std::unique_lock lock(mutex_);
    while (!stopping_ && !lost_why_) {
        // Every renew_ms, or every kQuickLook for a while after look_sooner (which wakes this).
        auto due = [&] { return read_at + (Clock::now() < quick_until_ ? kQuickLook : renew); };
        while (!stopping_ && !lost_why_ && Clock::now() < due()) cv_.wait_until(lock, due());
        if (stopping_ || lost_why_) break;
        read_at = Clock::now();
        std::string pool = takeover_pool_;
        int64_t down_ms = int64_t{standby_after_s_} * 1000;
        if (read_at >= quick_until_) suspects_.clear();
        std::set<uint32_t> suspects = suspects_;
        lock.unlock();
        std::vector<store::PoolMember> now;
        bool renewed = false;
        try {
            // Not after the database came back: sessions before that tell nothing.
            for (uint32_t number : suspects) {
                if (unreachable || read_at < grace_until || !store_->end_lease_if_gone(number))
                    continue;
                spdlog::warn("pool: server {}'s database session ended: its lease ends now",
                             number);
                std::lock_guard suspects_lock(mutex_);
                suspects_.erase(number);
            }
            now = store_->renew_lease(self_, config_.lease_ms);
            renewed = true;
            if (unreachable) {
                unreachable = false;
                grace_until = Clock::now() + std::chrono::milliseconds(config_.lease_ms);
                spdlog::info("pool: the database answers again; leases settle for {} ms",
                             config_.lease_ms);
            }
            bool settling = Clock::now() < grace_until;
            // A standby (holding no slot) takes the slot of an active server down long enough.
            bool holds = std::any_of(now.begin(), now.end(), [&](const store::PoolMember& m) {
                return m.number == self_.number && m.active;
            });
            if (!holds && !pool.empty() && !settling) {
                if (auto slot = store_->take_slot(pool, self_.name, down_ms)) {
                    spdlog::warn("pool: {} took the active slot of {} (down {} s or more)",
                                 self_.name, *slot, down_ms / 1000);
                    now = store_->renew_lease(self_, config_.lease_ms);
                }
            }
        } catch (const store::Conflict& e) {
            // Taken for gone, or its name taken, after this one's lease lapsed: this one must
            // not serve anything any more (its commits are already refused by the epochs).
            lock.lock();
            if (lost_why_) return;  // told so by another server meanwhile
            spdlog::critical("pool: {}: this server is no member any more and stops", e.what());
            lost_why_ = e.what();
            auto lost = lost_;
            lock.unlock();
            if (lost) lost(e.what());
            return;
        } catch (const std::exception& e) {
            if (!unreachable) spdlog::error("pool: renewing the lease failed: {}", e.what());
            unreachable = true;
        }
        lock.lock();
        if (!renewed || Clock::now() < grace_until) continue;
        if (same(now, live_)) continue;
        auto before = live_;
        lock.unlock();
        // Who went while running (its lease lapsed, or it was killed or left) is marked gone
        // before anybody here acts on the new set (live() included): should it still run,
        // paused or cut off, it must not renew as if its occupants had not left and its rooms
        // not moved.
        for (const auto& m : before) {
            bool still = std::any_of(now.begin(), now.end(), [&](const store::PoolMember& n) {
                return n.number == m.number && n.incarnation == m.incarnation;
            });
            if (still || m.number == self_.number) continue;
            try {
                store_->mark_gone(m);
            } catch (const std::exception& e) {
                spdlog::error("pool: server {} not marked gone: {}", m.number, e.what());
            }
        }
        lock.lock();
        live_ = now;
        auto changed = changed_;
        lock.unlock();
        std::string names;
        for (const auto& m : now)
            names += (names.empty() ? "" : ", ") + m.name + (m.active ? "" : " (standby)");
        spdlog::info("pool: live servers now {}", names);
        if (changed) changed(before, now);
        lock.lock();
    }
}

std::vector<store::PoolMember> Membership::live() const {
    std::lock_guard lock(mutex_);
    return live_;
}

std::optional<store::PoolMember> Membership::member(uint32_t number) const {
    std::lock_guard lock(mutex_);
    for (const auto& m : live_)
        if (m.number == number) return m;
    return std::nullopt;
}

uint64_t Membership::weight(const std::string& server, const std::string& node) {
    // The first 8 bytes of SHA-256: the same on every server, and spread evenly.
    std::string h = util::digest(util::Hash::sha256, server + '\0' + node);
    uint64_t w = 0;
    for (int i = 0; i < 8; ++i) w = (w << 8) | uint8_t(h[size_t(i)]);
    return w;
}

uint32_t Membership::owner_among(const std::vector<store::PoolMember>& members,
                                 const std::string& node) {
    uint32_t best = 0;
    uint64_t best_weight = 0;
    bool any_active = std::any_of(members.begin(), members.end(),
                                  [](const store::PoolMember& m) { return m.active; });
    for (const auto& m : members) {
        if (any_active && !m.active) continue;  // a standby serves no room
        uint64_t w = weight(m.name, node);
        if (best == 0 || w > best_weight) best = m.number, best_weight = w;
    }
    return best;
}

uint32_t Membership::owner_of(const std::string& node) const {
    std::lock_guard lock(mutex_);
    uint32_t best = owner_among(live_, node);
    return best == 0 ? self_.number : best;
}

}  // namespace perch::pool
