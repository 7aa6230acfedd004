#include "chat/room.hpp"

#include "chat/nicknames.hpp"

#include <utility>

namespace perch::chat {

std::string_view to_string(Role r) {
    switch (r) {
        case Role::visitor:
            return "visitor";
        case Role::participant:
            return "participant";
        case Role::moderator:
            return "moderator";
    }
    return "none";
}

std::string_view to_string(Affiliation a) {
    switch (a) {
        case Affiliation::none:
            return "none";
        case Affiliation::member:
            return "member";
        case Affiliation::admin:
            return "admin";
        case Affiliation::owner:
            return "owner";
    }
    return "none";
}

Room::Room(store::Room meta, size_t history_cache)
    : meta_(std::move(meta)), history_cache_(history_cache) {}

const Occupant* Room::by_nick(const std::string& nick) const {
    auto it = occupants_.find(nick);
    return it == occupants_.end() ? nullptr : &it->second;
}

const Occupant* Room::by_jid(const std::string& full_jid) const {
    auto it = nick_by_jid_.find(full_jid);
    if (it == nick_by_jid_.end()) return nullptr;
    auto [first, last] = occupants_.equal_range(it->second);
    for (auto o = first; o != last; ++o)
        if (o->second.full_jid == full_jid) return &o->second;
    return nullptr;
}

Room::PostBudget Room::take_post(const std::string& full_jid, const util::Rate& rate,
                                 int64_t now_us) {
    // The room owns its occupants; by_jid only hands them out read-only.
    auto* occupant = const_cast<Occupant*>(by_jid(full_jid));
    if (!occupant) return {};
    if (occupant->posts.take(rate, now_us)) {
        occupant->over_rate = false;
        return {};
    }
    return {false, !std::exchange(occupant->over_rate, true)};
}

JoinRefusal Room::check_join(const std::string& nick, const std::string& full_jid) const {
    if (nick.empty()) return JoinRefusal::nick_missing;
    if (meta_.disabled) return JoinRefusal::room_disabled;
    // The nickname is free, or held by the same user from another resource; and no other
    // nickname in the room reads like it.
    std::string_view bare = std::string_view(full_jid).substr(0, full_jid.find('/'));
    auto [first, last] = occupants_.equal_range(nick);
    for (auto o = first; o != last; ++o)
        if (o->second.bare_jid() != bare) return JoinRefusal::nick_conflict;
    auto alike = nick_by_skeleton_.find(nick_skeleton(nick));
    if (alike != nick_by_skeleton_.end() && alike->second != nick) {
        // One's own other nickname (a nickname change) is no impersonation.
        auto held = nick_by_jid_.find(full_jid);
        if (held == nick_by_jid_.end() || held->second != alike->second)
            return JoinRefusal::nick_look_alike;
    }
    return JoinRefusal::none;
}

const Occupant& Room::add(Occupant o) {
    if (auto before = remove(o.full_jid)) {  // a rejoin replaces the previous entry
        o.posts = before->posts;
        o.over_rate = before->over_rate;
    }
    nick_by_jid_[o.full_jid] = o.nick;
    nick_by_skeleton_.try_emplace(nick_skeleton(o.nick), o.nick);
    auto nick = o.nick;
    return occupants_.emplace(nick, std::move(o))->second;
}

bool Room::set_subject(std::string_view user, const std::shared_ptr<const Subject>& who) {
    bool any = false;
    for (auto& [nick, o] : occupants_)
        if (o.user() == user) {
            o.subject = who;
            any = true;
        }
    return any;
}

std::optional<Occupant> Room::remove(const std::string& full_jid) {
    auto it = nick_by_jid_.find(full_jid);
    if (it == nick_by_jid_.end()) return std::nullopt;
    auto [first, last] = occupants_.equal_range(it->second);
    nick_by_jid_.erase(it);
    for (auto occ = first; occ != last; ++occ) {
        if (occ->second.full_jid != full_jid) continue;
        Occupant o = std::move(occ->second);
        occupants_.erase(occ);
        if (!occupants_.contains(o.nick)) {
            auto alike = nick_by_skeleton_.find(nick_skeleton(o.nick));
            if (alike != nick_by_skeleton_.end() && alike->second == o.nick)
                nick_by_skeleton_.erase(alike);
        }
        return o;
    }
    return std::nullopt;
}

void Room::remember(store::Message m) {
    if (m.seq > meta_.last_seq) meta_.last_seq = m.seq;
    if (!recent_.empty() && m.seq <= recent_.back().seq) return;
    recent_.push_back(std::move(m));
    while (recent_.size() > history_cache_) recent_.pop_front();
}

void Room::seed_history(std::vector<store::Message> messages) {
    // Cached messages newer than the read (committed while it was under way) stay.
    int64_t read_up_to = messages.empty() ? 0 : messages.back().seq;
    std::deque<store::Message> newer;
    for (auto& m : recent_)
        if (m.seq > read_up_to) newer.push_back(std::move(m));
    recent_.clear();
    recent_in_doubt_ = false;
    for (auto& m : messages) remember(std::move(m));
    for (auto& m : newer) remember(std::move(m));
}

void Room::replace_cached(const store::Message& m) {
    for (auto& cached : recent_)
        if (cached.seq == m.seq) cached = m;
}

void Room::forget_before(int64_t before_us) {
    std::erase_if(recent_, [&](const store::Message& m) { return m.ts_us < before_us; });
}

bool Room::cache_covers(const HistoryRequest& req, int default_max) const {
    int wanted = req.max_stanzas.value_or(default_max);
    if (wanted <= 0) return true;
    // The cache answers when it holds every message the room has, or at least as many as asked
    // for (a `since` or `maxchars` limit can only take messages away from that answer).
    if (int64_t(recent_.size()) >= meta_.last_seq) return true;
    return size_t(wanted) <= recent_.size();
}

std::vector<const store::Message*> Room::select_history(
    const std::vector<const store::Message*>& candidates, const HistoryRequest& req,
    int default_max) {
    int max = req.max_stanzas.value_or(default_max);
    std::vector<const store::Message*> out;
    if (max <= 0 || (req.max_chars && *req.max_chars <= 0)) return out;
    int64_t chars = 0;
    // Walk back from the newest; stop at the first limit reached.
    for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
        const store::Message* m = *it;  // a removed message shows its removal notice
        if (req.since_us && m->ts_us < *req.since_us) break;
        if (int(out.size()) >= max) break;
        if (req.max_chars) {
            // Approximates the stanza's size by its variable parts plus fixed overhead.
            chars += int64_t(m->body.size() + m->payload.size() + m->nick.size() + 200);
            if (chars > *req.max_chars) break;
        }
        out.push_back(m);
    }
    return {out.rbegin(), out.rend()};
}

}  // namespace perch::chat
