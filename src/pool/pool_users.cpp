#include "pool/pool_users.hpp"

#include <spdlog/spdlog.h>

#include <vector>

namespace perch::pool {

PoolUsers::PoolUsers(xmpp::Router& router, const Membership& membership,
                     std::chrono::milliseconds timeout)
    : router_(router), membership_(membership), timeout_(timeout) {}

uint64_t PoolUsers::ask(Json frame, Pending pending) {
    std::vector<uint32_t> peers;
    for (const auto& m : membership_.live())
        if (m.number != membership_.self().number) peers.push_back(m.number);
    uint64_t id = 0;
    bool answers = pending.done || pending.listing_done;
    if (answers) {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        pending.waiting.insert(peers.begin(), peers.end());
        pending.deadline = std::chrono::steady_clock::now() + timeout_;
        pending_[id] = std::move(pending);
    }
    frame["id"] = id;
    for (uint32_t peer : peers)
        if (!links_ || !links_->send(peer, frame))
            if (id) answered(id, peer, false);  // no link to it now: it cannot answer
    if (id && peers.empty()) answered(id, 0, false);
    return id;
}

void PoolUsers::offer(Offer offer, std::function<void(bool delivered)> done) {
    Pending pending;
    pending.done = std::move(done);
    ask({{"t", "um"},
         {"to", offer.to},
         {"from", offer.from},
         {"s", offer.stanza},
         {"found", offer.found},
         {"copies", offer.copies}},
        std::move(pending));
}

Json PoolUsers::local_sessions(const xmpp::Router& router, size_t limit) {
    Json sessions = Json::array();
    bool more = false;
    for (const auto& s : router.all()) {
        if (sessions.size() == limit) {
            more = true;
            break;
        }
        sessions.push_back({{"jid", s->address()}, {"connected", s->connected()}});
    }
    return {{"sessions", std::move(sessions)}, {"more", more}};
}

void PoolUsers::list_sessions(size_t limit, std::function<void(Json servers)> done) {
    Pending pending;
    Json own = local_sessions(router_, limit);
    own["server"] = membership_.self().name;
    pending.listed = Json::array({std::move(own)});
    pending.listing_done = std::move(done);
    ask({{"t", "sl"}, {"limit", limit}}, std::move(pending));
}

void PoolUsers::answered(uint64_t id, uint32_t server, bool delivered, Json listed) {
    std::function<void(bool)> done;
    std::function<void(Json)> listing_done;
    Json all;
    bool any = false;
    {
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        auto& p = it->second;
        if (p.listing_done && server != 0 && p.waiting.count(server)) {
            std::string name = "server " + std::to_string(server);
            for (const auto& m : membership_.live())
                if (m.number == server) name = m.name;
            if (listed.is_null()) listed = {{"error", "did not answer in time"}};
            listed["server"] = name;
            p.listed.push_back(std::move(listed));
        }
        p.waiting.erase(server);
        p.delivered |= delivered;
        if (!p.waiting.empty()) return;
        done = std::move(p.done);
        listing_done = std::move(p.listing_done);
        all = std::move(p.listed);
        any = p.delivered;
        pending_.erase(it);
    }
    if (done) done(any);
    if (listing_done) listing_done(std::move(all));
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
        } else if (type == "sl") {
            if (links_)
                links_->send(from,
                             Json{{"t", "sa"},
                                  {"id", f.at("id").get<uint64_t>()},
                                  {"l", local_sessions(router_, f.at("limit").get<size_t>())}});
        } else if (type == "sa") {
            answered(f.at("id").get<uint64_t>(), from, false, f.at("l"));
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
