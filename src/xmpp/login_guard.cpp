#include "xmpp/login_guard.hpp"

#include <arpa/inet.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace perch::xmpp {

namespace {
constexpr size_t kTrustedPerAccount = 8;

std::chrono::seconds whole_seconds_up(LoginGuard::Clock::duration d) {
    auto s = std::chrono::ceil<std::chrono::seconds>(d);
    return std::max(s, std::chrono::seconds(1));
}
}  // namespace

std::string_view to_string(LoginChannel channel) {
    switch (channel) {
        case LoginChannel::xmpp:
            return "xmpp";
        case LoginChannel::http:
            return "http";
        case LoginChannel::admin:
            return "admin API";
    }
    return "http";
}

std::string LoginGuard::source_of(std::string_view peer) {
    std::string_view address = peer;
    if (address.starts_with('[')) {
        address = address.substr(1, address.find(']') - 1);  // "[v6]:port"
    } else if (address.find(':') == address.rfind(':')) {
        address = address.substr(0, address.find(':'));  // IPv4, with or without its port
    }                                                    // else a bare IPv6 address
    std::string text(address);
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return text;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        char v4[INET_ADDRSTRLEN];
        return inet_ntop(AF_INET, &v6.s6_addr[12], v4, sizeof v4) ? std::string(v4) : text;
    }
    std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), 0);
    char out[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, &v6, out, sizeof out)) return text;
    return std::string(out) + "/64";
}

LoginGuard::Clock::duration LoginGuard::wait_of(const Record& r, bool trusted,
                                                Clock::time_point now) {
    auto until = trusted ? r.now.next_allowed : std::max(r.now.next_allowed, r.now.locked_until);
    return until > now ? until - now : Clock::duration::zero();
}

void LoginGuard::forget_if_quiet(Record& r, Clock::time_point now) const {
    if (now - r.last <= options_.forget_after || r.now.locked_until > now) return;
    r.now.failures = 0;
    r.failed.clear();
}

LoginGuard::Record& LoginGuard::record(Table& table, const std::string& key,
                                       Clock::time_point now) {
    if (auto it = table.find(key); it != table.end()) return it->second;
    if (table.size() >= options_.max_tracked) {
        // Forget the quiet first; if everything is busy, the quietest quarter.
        std::erase_if(table, [&](const auto& kv) {
            return kv.second.now.locked_until <= now &&
                   now - kv.second.last > options_.forget_after;
        });
        if (table.size() >= options_.max_tracked) {
            std::vector<Clock::time_point> lasts;
            lasts.reserve(table.size());
            for (const auto& [k, r] : table) lasts.push_back(r.last);
            auto cut = lasts.begin() + lasts.size() / 4;
            std::nth_element(lasts.begin(), cut, lasts.end());
            Clock::time_point oldest = *cut;
            std::erase_if(table, [&](const auto& kv) { return kv.second.last <= oldest; });
        }
    }
    Record& r = table[key];
    r.last = now;
    return r;
}

uint64_t LoginGuard::charge(Record& r, const char* kind, const std::string& name,
                            Clock::time_point now) {
    r.before_last = r.now;
    r.last_charge = ++charges_;
    Charges& c = r.now;
    r.last = now;
    ++c.failures;
    if (c.failures >= options_.lockout_failures) {
        if (c.locked_until <= now) {
            bool account = std::string_view(kind) == "account";
            spdlog::warn("logins: {} {} locked for {} s after {} {}", kind, name,
                         options_.lockout.count(), c.failures,
                         account ? "attempts that did not succeed (except from where its owner "
                                   "signed in)"
                                 : "accounts whose password failed from there");
        }
        c.locked_until = now + options_.lockout;
        c.failures = 0;
        c.next_allowed = {};
        r.failed.clear();
    } else if (c.failures > options_.free_failures) {
        int doublings = std::min(c.failures - options_.free_failures - 1, 30);
        auto delay = std::min<Clock::duration>(std::chrono::seconds(1) * (int64_t(1) << doublings),
                                               options_.max_delay);
        c.next_allowed = now + delay;
    }
    return r.last_charge;
}

void LoginGuard::refund(Record& r, uint64_t charge) {
    if (charge == 0) return;
    if (r.last_charge == charge) {
        r.now = r.before_last;  // nothing charged since: as if this attempt had not been
        r.last_charge = 0;
    } else if (r.now.failures > 0) {
        --r.now.failures;  // others were charged since: their delays stand
    }
}

LoginGuard::Admission LoginGuard::admit(std::string_view account, std::string_view peer,
                                        LoginChannel channel, Clock::time_point now) {
    std::string source = source_of(peer);
    std::string name(account);
    std::lock_guard lock(mutex_);
    Record& from = record(sources_, source, now);
    Record& of = record(accounts_, name, now);
    forget_if_quiet(of, now);
    bool trusted = std::find(of.trusted.begin(), of.trusted.end(), source) != of.trusted.end();
    auto wait = std::max(wait_of(from, trusted, now), wait_of(of, trusted, now));
    if (wait > Clock::duration::zero()) {
        refusals_[size_t(channel)].fetch_add(1, std::memory_order_relaxed);
        return {false, whole_seconds_up(wait), {}};
    }
    return {true, {}, {charge(of, "account", name, now)}};
}

void LoginGuard::failed(std::string_view account, std::string_view peer, LoginChannel channel,
                        Clock::time_point now) {
    failures_[size_t(channel)].fetch_add(1, std::memory_order_relaxed);
    spdlog::info("authentication failed for '{}' from {} ({})", account, peer, to_string(channel));
    std::string source = source_of(peer);
    std::lock_guard lock(mutex_);
    Record& from = record(sources_, source, now);
    forget_if_quiet(from, now);
    if (std::find(from.failed.begin(), from.failed.end(), account) != from.failed.end()) return;
    from.failed.emplace_back(account);
    charge(from, "source", source, now);
}

void LoginGuard::succeeded(std::string_view account, std::string_view peer, Ticket ticket,
                           Clock::time_point now) {
    std::string source = source_of(peer);
    std::lock_guard lock(mutex_);
    Record& of = record(accounts_, std::string(account), now);
    refund(of, ticket.charge);
    std::erase(of.trusted, source);
    if (of.trusted.size() >= kTrustedPerAccount) of.trusted.erase(of.trusted.begin());
    of.trusted.push_back(std::move(source));
}

}  // namespace perch::xmpp
