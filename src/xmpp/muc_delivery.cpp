#include "xmpp/muc_delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "xmpp/muc_render.hpp"

namespace perch::xmpp {

namespace {

// XEP-0045 status codes of a departure as the others see it (the leaver also gets 110).
std::vector<int> departure_codes(chat::Departure why) {
    switch (why) {
        case chat::Departure::left:
        case chat::Departure::destroyed:
            return {};
        case chat::Departure::kicked:
            return {307};
        case chat::Departure::affiliation_lost:
            return {321};
        case chat::Departure::members_only:
            return {322};
        case chat::Departure::server_lost:
            return {333};
        case chat::Departure::banned:
            return {301};
    }
    return {};
}

}  // namespace

const MucDelivery::Local* MucDelivery::Audience::find(const std::string& full_jid) const {
    if (position.empty()) {
        for (const auto& local : list)
            if (local.jid() == full_jid) return &local;
        return nullptr;
    }
    auto it = position.find(full_jid);
    return it == position.end() ? nullptr : &list[it->second];
}

MucDelivery::Local* MucDelivery::Audience::find(const std::string& full_jid) {
    return const_cast<Local*>(std::as_const(*this).find(full_jid));
}

void MucDelivery::Audience::put(std::string nick, SessionHandlePtr handle) {
    if (Local* known = find(handle->address())) {
        known->nick = std::move(nick);  // a rejoin: the new nickname
        return;
    }
    list.push_back({std::move(nick), std::move(handle)});
    if (!position.empty()) {
        position[list.back().jid()] = list.size() - 1;
    } else if (list.size() > kIndexFrom) {
        for (size_t i = 0; i < list.size(); ++i) position[list[i].jid()] = i;
    }
}

void MucDelivery::Audience::erase(const std::string& full_jid) {
    const Local* local = find(full_jid);
    if (!local) return;
    auto i = size_t(local - list.data());
    if (!position.empty()) position.erase(full_jid);
    if (i + 1 != list.size()) {
        list[i] = std::move(list.back());
        if (!position.empty()) position[list[i].jid()] = i;
    }
    list.pop_back();
    if (list.size() <= kIndexFrom / 2)
        std::unordered_map<std::string_view, size_t>().swap(position);
    if (list.empty()) std::vector<Local>().swap(list);
}

MucDelivery::MucDelivery(std::string muc_domain, std::string user_domain, util::Shards& shards,
                         Router& router)
    : muc_domain_(std::move(muc_domain)),
      user_domain_(std::move(user_domain)),
      shards_(shards),
      router_(router),
      audiences_(shards.size()) {}

MucDelivery::Audience& MucDelivery::audience(const std::string& room) {
    PERCH_ASSERT_ON(shards_.of(room));
    return audiences_[shards_.index_of(room)][room];
}

void MucDelivery::deliver(const Audience& to, const std::shared_ptr<const PreparedStanza>& p,
                          const Filter& want) const {
    for (const auto& local : to.list)
        if (!want || want(local.jid(), local))
            local.handle->deliver(Outgoing::addressed(p, local.jid()));
}

void MucDelivery::joined(const std::string& room, const std::string& nick,
                         SessionHandlePtr handle) {
    std::string full_jid = handle->address();
    audience(room).put(nick, std::move(handle));
    std::lock_guard lock(index_mutex_);
    auto& rooms = rooms_by_session_[full_jid];
    if (std::find(rooms.begin(), rooms.end(), room) == rooms.end()) rooms.push_back(room);
}

void MucDelivery::forget(const std::string& room, const std::string& full_jid) {
    auto& per_shard = audiences_[shards_.index_of(room)];
    if (auto it = per_shard.find(room); it != per_shard.end()) it->second.erase(full_jid);
    std::lock_guard lock(index_mutex_);
    auto rooms = rooms_by_session_.find(full_jid);
    if (rooms == rooms_by_session_.end()) return;
    std::erase(rooms->second, room);
    if (rooms->second.empty()) rooms_by_session_.erase(rooms);
}

std::optional<std::string> MucDelivery::nick_of(const std::string& room,
                                                const std::string& full_jid) const {
    PERCH_ASSERT_ON(shards_.of(room));
    const auto& per_shard = audiences_[shards_.index_of(room)];
    auto it = per_shard.find(room);
    if (it == per_shard.end()) return std::nullopt;
    const Local* local = it->second.find(full_jid);
    if (!local) return std::nullopt;
    return local->nick;
}

std::vector<std::string> MucDelivery::rooms_of(const std::string& full_jid) const {
    std::lock_guard lock(index_mutex_);
    auto it = rooms_by_session_.find(full_jid);
    return it == rooms_by_session_.end() ? std::vector<std::string>{} : it->second;
}

bool MucDelivery::occupies(const std::string& full_jid, const std::string& room) const {
    std::lock_guard lock(index_mutex_);
    auto it = rooms_by_session_.find(full_jid);
    return it != rooms_by_session_.end() &&
           std::find(it->second.begin(), it->second.end(), room) != it->second.end();
}

std::set<std::string> MucDelivery::rooms_of_user(const Jid& bare) const {
    std::set<std::string> rooms;
    auto sessions = router_.resources(bare);
    std::lock_guard lock(index_mutex_);
    for (const auto& s : sessions) {
        auto it = rooms_by_session_.find(s->jid().str());
        if (it != rooms_by_session_.end()) rooms.insert(it->second.begin(), it->second.end());
    }
    return rooms;
}

void MucDelivery::room_event(const chat::RoomEvent& e) {
    const std::string bare = room_jid(e.room);
    auto& a = audience(e.room);
    std::visit(
        [&](const auto& what) {
            using T = std::decay_t<decltype(what)>;
            if constexpr (std::is_same_v<T, chat::OccupantJoined>) {
                if (!what.announce) return;
                const auto& o = what.occupant;
                deliver(a, muc::render_presence({o, o.presence}, bare),
                        [&](const std::string&, const Local& l) { return l.nick != o.nick; });
            } else if constexpr (std::is_same_v<T, chat::PresenceChanged>) {
                const auto& o = what.occupant;
                if (what.announce)
                    deliver(a, muc::render_presence({o, o.presence}, bare),
                            [&](const std::string&, const Local& l) { return l.nick != o.nick; });
                if (Local* self = a.find(o.full_jid))
                    self->handle->deliver(Outgoing::addressed(
                        muc::render_presence({o, o.presence, {110}}, bare), o.full_jid));
            } else if constexpr (std::is_same_v<T, chat::NickChanged>) {
                on_nick(e.room, what);
            } else if constexpr (std::is_same_v<T, chat::OccupantLeft>) {
                on_left(e.room, what);
            } else if constexpr (std::is_same_v<T, chat::MessagePosted>) {
                auto started = std::chrono::steady_clock::now();
                deliver(a, muc::render_message(what.message, bare, false));
                if (delivery_seconds_) delivery_seconds_->observe_since(started);
            } else if constexpr (std::is_same_v<T, chat::MessageRelayed>) {
                deliver(a, muc::render_relay(what, bare));
            } else if constexpr (std::is_same_v<T, chat::PrivateMessage>) {
                auto sender = Jid::parse(what.from_jid);
                auto blocked = [&](const Local& l) {
                    if (!blocklists_ || !sender) return false;
                    const Jid& to = l.handle->jid();
                    return (to.domain() == user_domain_ &&
                            blocklists_->blocks(to.local(), *sender)) ||
                           (sender->domain() == user_domain_ &&
                            blocklists_->blocks(sender->local(), to));
                };
                deliver(a, muc::render_private(what, bare),
                        [&](const std::string&, const Local& l) {
                            return l.nick == what.to_nick && !blocked(l);
                        });
            } else if constexpr (std::is_same_v<T, chat::SubjectChanged>) {
                deliver(a, muc::render_subject(bare, what.subject, what.nick));
            } else if constexpr (std::is_same_v<T, chat::MessageRetracted>) {
                std::string by = what.by_nick.empty() ? bare : bare + "/" + what.by_nick;
                deliver(a, muc::render_retraction(bare, what.message.stanza_id, by, what.reason));
            } else if constexpr (std::is_same_v<T, chat::RoomChanged> ||
                                 std::is_same_v<T, chat::RoomDestroyed>) {
                // Nothing to show: discovery reads the directory, removals came as departures.
            }
        },
        e.what);
    // A room with nobody here keeps no entry (`a` may not be used past this point).
    if (a.empty()) audiences_[shards_.index_of(e.room)].erase(e.room);
}

void MucDelivery::on_nick(const std::string& room, const chat::NickChanged& changed) {
    // XEP-0045 7.6: the old nickname leaves with 303 naming the new one, then the new one
    // arrives.
    const std::string bare = room_jid(room);
    auto& a = audience(room);
    const auto& now = changed.occupant;
    chat::Occupant before = now;
    before.nick = changed.old_nick;
    muc::PresenceView leaving{before, now.presence, {303}, true, now.nick};
    if (changed.announce)
        deliver(a, muc::render_presence(leaving, bare),
                [&](const std::string& jid, const Local&) { return jid != now.full_jid; });
    Local* self = a.find(now.full_jid);
    if (self) {
        leaving.codes = {303, 110};
        self->handle->deliver(
            Outgoing::addressed(muc::render_presence(leaving, bare), now.full_jid));
        self->nick = now.nick;
    }
    if (changed.announce)
        deliver(a, muc::render_presence({now, now.presence}, bare),
                [&](const std::string&, const Local& l) { return l.nick != now.nick; });
    if (self)
        self->handle->deliver(Outgoing::addressed(
            muc::render_presence({now, now.presence, {110}}, bare), now.full_jid));
}

void MucDelivery::on_left(const std::string& room, const chat::OccupantLeft& left) {
    const std::string bare = room_jid(room);
    auto& a = audience(room);
    const auto& o = left.occupant;
    bool destroyed = left.why == chat::Departure::destroyed;
    muc::PresenceView view{o,         left.presence, departure_codes(left.why), true, {},
                           left.text, destroyed};
    if (left.announce)
        deliver(a, muc::render_presence(view, bare),
                [&](const std::string& jid, const Local&) { return jid != o.full_jid; });
    if (Local* self = a.find(o.full_jid)) {
        view.codes.push_back(110);
        self->handle->deliver(Outgoing::addressed(muc::render_presence(view, bare), o.full_jid));
        forget(room, o.full_jid);
    }
}

void MucDelivery::invitation(const chat::Invitation& inv) {
    auto targets = router_.resources(Jid::make(inv.to_user, user_domain_, {}));
    if (targets.empty()) return;
    auto p = muc::render_invitation(inv, room_jid(inv.room));
    for (auto& t : targets) t->deliver(Outgoing::addressed(p, t->jid().str()));
}

}  // namespace perch::xmpp
