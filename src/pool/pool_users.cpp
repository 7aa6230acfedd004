#include "pool/pool_users.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace perch::pool {

PoolUsers::PoolUsers(xmpp::Router& router, const Membership& membership,
                     std::chrono::milliseconds timeout)
    : router_(router), membership_(membership), timeout_(timeout) {}

void PoolUsers::offer(Offer offer, std::function<void(bool delivered)> done) {
    Json frame{{"t", "um"},         {"to", offer.to},       {"from", offer.from},
               {"s", offer.stanza}, {"found", offer.found}, {"copies", offer.copies}};
    std::vector<uint32_t> peers;
    for (const auto& m : membership_.live())
        if (m.number != membership_.self().number) peers.push_back(m.number);
    uint64_t id = 0;
    if (done) {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        auto& p = pending_[id];
        p.waiting.insert(peers.begin(), peers.end());
        p.done = done;
        p.deadline = std::chrono::steady_clock::now() + timeout_;
    }
    frame["id"] = id;
    for (uint32_t peer : peers)
        if (!links_ || !links_->send(peer, frame))
            if (id) answered(id, peer, false);  // no link to it now: it cannot deliver
    if (id && peers.empty()) answered(id, 0, false);
}

void PoolUsers::answered(uint64_t id, uint32_t server, bool delivered) {
    std::function<void(bool)> done;
    bool any = false;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        it->second.waiting.erase(server);
        it->second.delivered |= delivered;
        if (!it->second.waiting.empty()) return;
        done = std::move(it->second.done);
        any = it->second.delivered;
        pending_.erase(it);
    }
    done(any);
}

void PoolUsers::frame(uint32_t from, const Json& f) {
    try {
        const std::string& type = f.at("t").get_ref<const std::string&>();
        if (type == "um") {
            Offer offer{f.at("to").get<std::string>(), f.at("from").get<std::string>(),
                        f.at("s").get<std::string>(), f.at("found").get<bool>(),
                        f.at("copies").get<bool>()};
            bool delivered = xmpp::deliver_offered(router_, offer);
            uint64_t id = f.at("id").get<uint64_t>();
            if (id && links_) links_->send(from, Json{{"t", "ua"}, {"id", id}, {"d", delivered}});
        } else if (type == "ua") {
            answered(f.at("id").get<uint64_t>(), from, f.at("d").get<bool>());
        }
    } catch (const Json::exception& e) {
        spdlog::error("pool: a malformed user message from server {}: {}", from, e.what());
    }
}

void PoolUsers::link_lost(uint32_t number) {
    std::vector<uint64_t> ids;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, p] : pending_)
            if (p.waiting.count(number)) ids.push_back(id);
    }
    for (uint64_t id : ids) answered(id, number, false);
}

void PoolUsers::expire() {
    auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<uint64_t, std::set<uint32_t>>> late;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, p] : pending_)
            if (p.deadline <= now) late.emplace_back(id, p.waiting);
    }
    for (const auto& [id, servers] : late)
        for (uint32_t s : servers) answered(id, s, false);
}

}  // namespace perch::pool
