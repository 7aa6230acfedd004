// Occupants coming and going: joins (with history), presence updates, nickname changes,
// leaves, and removals when a room's rules change.
#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_room.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

using RoomContext = MucService::RoomContext;

namespace {

using PresenceChildren = std::vector<xml::Element>;
const PresenceChildren& presence_of(const chat::Occupant& o) {
    static const PresenceChildren none;
    return o.presence ? *std::static_pointer_cast<PresenceChildren>(o.presence) : none;
}

// What of a client's presence a room passes on: show, status, priority, caps and the like,
// never the MUC join element itself.
std::shared_ptr<PresenceChildren> keep_presence(const xml::Element& stanza) {
    auto kept = std::make_shared<PresenceChildren>();
    for (const auto& c : stanza.children()) {
        if (c.is_text() || c.ns() == ns::muc || c.ns() == ns::muc_user || c.ns() == ns::occupant_id)
            continue;
        kept->push_back(c);
    }
    return kept;
}

std::optional<int> parse_int(const std::string* s) {
    if (!s) return std::nullopt;
    try {
        size_t used = 0;
        long v = std::stol(*s, &used);
        if (used != s->size() || v < 0) return std::nullopt;
        return int(std::min<long>(v, 1'000'000'000));
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

chat::HistoryRequest parse_history_request(const xml::Element* history, int max_history) {
    chat::HistoryRequest req;
    if (!history) return req;
    req.max_stanzas = parse_int(history->attr("maxstanzas"));
    req.max_chars = parse_int(history->attr("maxchars"));
    if (auto seconds = parse_int(history->attr("seconds")))
        req.since_us = util::now_us() - int64_t(*seconds) * 1'000'000;
    if (auto* since = history->attr("since")) {
        if (auto t = util::parse_timestamp(*since))
            req.since_us = std::max(req.since_us.value_or(0), *t);
    }
    if (req.max_stanzas)
        req.max_stanzas = std::min(*req.max_stanzas, max_history);
    else if (history->attr("seconds") || history->attr("since"))
        req.max_stanzas = max_history;
    return req;
}

std::optional<std::pair<StanzaError, std::string>> RoomContext::join_refusal() const {
    if (may(chat::Action::join)) return std::nullopt;
    if (!who->chat_enabled && !who->administrator)
        return std::pair{StanzaError::forbidden, "Persistent chat is disabled for your account"};
    // Outside the category, or a secret room one is not a member of: the room is not there.
    if (!may(chat::Action::find)) return std::pair{StanzaError::item_not_found, std::string()};
    if (room.rules().disabled) return std::pair{StanzaError::forbidden, "This room is disabled"};
    return std::pair{StanzaError::registration_required, "This room is for members only"};
}

// Presence -------------------------------------------------------------------------------

void RoomContext::on_presence(xml::Element stanza, const Jid& from, const Jid& to,
                              SessionHandlePtr sender) {
    std::string type = stanza.attr_or("type");
    const chat::Occupant* current = room.by_jid(from.str());
    if (type == "unavailable") {
        if (current) {
            PresenceChildren kept = *keep_presence(stanza);
            leave(from.str(), kept);
        }
        return;
    }
    if (!type.empty()) return;  // probes and subscriptions mean nothing to a room
    if (to.resource().empty()) {
        if (!current)
            reply(sender, make_error(stanza, StanzaError::jid_malformed, "A nickname is required"));
        return;
    }
    if (current && current->nick == to.resource() && !stanza.child("x", ns::muc)) {
        // A status change of an occupant: store it and tell the room.
        chat::Occupant updated = *current;
        updated.presence = keep_presence(stanza);
        const chat::Occupant& o = room.add(std::move(updated));
        broadcast_presence(o, false, {});
        auto self = muc::render_presence(o, nick_jid(o.nick), presence_of(o), {110}, false);
        reply(sender, self);
        return;
    }
    if (current && current->nick != to.resource())
        return change_nick(stanza, *current, to.resource(), sender);
    join(std::move(stanza), from, to.resource(), std::move(sender));
}

void RoomContext::change_nick(const xml::Element& stanza, const chat::Occupant& current,
                              const std::string& nick, const SessionHandlePtr& sender) {
    // XEP-0045 7.6: the old nick leaves with status 303 naming the new one, then the new one
    // arrives; the occupant id stays.
    if (room.by_nick(nick)) {
        auto err = make_error(stanza, StanzaError::conflict,
                              "That nickname is already in use in this room");
        return reply(sender, err);
    }
    chat::Occupant o = current;
    auto with_new_nick = [&](xml::Element p) {
        if (auto* x = p.child("x", ns::muc_user))
            if (auto* item = x->child("item", ns::muc_user)) item->set_attr("nick", nick);
        return p;
    };
    auto leaving =
        with_new_nick(muc::render_presence(o, nick_jid(o.nick), presence_of(o), {303}, true));
    if (!large()) {
        auto prepared = PreparedStanza::from(leaving);
        for (const auto& [other_nick, other] : room.occupants())
            if (other.full_jid != o.full_jid)
                handle_of(other)->deliver(Outgoing::addressed(prepared, other.full_jid));
    }
    auto self_leaving =
        with_new_nick(muc::render_presence(o, nick_jid(o.nick), presence_of(o), {303, 110}, true));
    self_leaving.set_attr("to", o.full_jid);
    reply(sender, self_leaving);
    spdlog::debug("{} in {} is now {} (was {})", o.full_jid, room.meta().node, nick, o.nick);
    o.nick = nick;
    o.presence = keep_presence(stanza);
    const chat::Occupant& now = room.add(std::move(o));
    broadcast_presence(now, false, {});
    auto self = muc::render_presence(now, nick_jid(now.nick), presence_of(now), {110}, false);
    self.set_attr("to", now.full_jid);
    reply(sender, self);
}

void RoomContext::join(xml::Element stanza, const Jid& from, const std::string& nick,
                       SessionHandlePtr sender) {
    const xml::Element* x = stanza.child("x", ns::muc);
    auto req = parse_history_request(x ? x->child("history", ns::muc) : nullptr,
                                     service.config_.max_history);
    if (auto refused = join_refusal()) {
        spdlog::info("join of {} to {} refused ({})", from.str(), room.meta().node,
                     condition_name(refused->first));
        return reply(sender, make_error(stanza, refused->first, refused->second));
    }
    auto refusal = room.check_join(nick, from.str());
    if (refusal != chat::JoinRefusal::none)
        spdlog::info("join of {} to {} as '{}' refused ({})", from.str(), room.meta().node, nick,
                     refusal == chat::JoinRefusal::nick_conflict   ? "nick in use"
                     : refusal == chat::JoinRefusal::room_disabled ? "room disabled"
                                                                   : "no nick");
    switch (refusal) {
        case chat::JoinRefusal::nick_conflict:
            return reply(sender, make_error(stanza, StanzaError::conflict,
                                            "That nickname is already in use in this room"));
        case chat::JoinRefusal::room_disabled:
            return reply(sender,
                         make_error(stanza, StanzaError::forbidden, "This room is disabled"));
        case chat::JoinRefusal::nick_missing:
            return reply(sender,
                         make_error(stanza, StanzaError::jid_malformed, "A nickname is required"));
        case chat::JoinRefusal::none:
            break;
    }
    bool covered = room.cache_covers(req, service.config_.default_history);
    bool record = service.config_.compliance && who;
    if (covered && !record)
        return complete_join(stanza, from, nick, std::move(sender), req, nullptr);

    // More history than the cache holds: read it first, then join on the shard with the fresh
    // read merged with whatever arrived in the meantime. With compliance on, the join (and the
    // history it shows) is on record before the joiner is in.
    std::vector<store::ComplianceEvent> events;
    if (record) {
        events.push_back(event("JOIN", {{"nick", nick}, {"jid", from.str()}}));
        int shown = req.max_stanzas.value_or(service.config_.default_history);
        if (may(chat::Action::read_history) && shown > 0)
            events.push_back(event("BACKCHAT", {{"on", "join"}, {"max", std::to_string(shown)}}));
    }
    int limit = req.max_stanzas.value_or(service.config_.default_history);
    int64_t since = req.since_us.value_or(0);
    int64_t room_id = room.meta().id;
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = room.meta().node;
    // The join finishes later, on the shard, for the same subject (who may read, which role).
    auto subject = who ? who : std::make_shared<const chat::Subject>();
    bool queued = service.workers_.submit([=, stanza = std::move(stanza)](store::Store& s) mutable {
        auto fetched = std::make_shared<std::vector<store::Message>>();
        try {
            if (!covered) *fetched = s.recent_messages(room_id, limit, since);
        } catch (const std::exception& e) {
            spdlog::error("history read for {} failed: {}", node, e.what());
        }
        try {
            if (record) s.record(events);
        } catch (const std::exception& e) {
            spdlog::error("join of {} to {} not recorded: {}", from.str(), node, e.what());
            sender->deliver(Outgoing::element(make_error(stanza, StanzaError::internal_server_error,
                                                         "The join could not be recorded")));
            return;
        }
        sh->executor->post([=, stanza = std::move(stanza)]() mutable {
            auto it = sh->rooms.find(node);
            if (it == sh->rooms.end() || !it->second.room) return;
            RoomContext ctx{*svc, *sh, *it->second.room, subject};
            if (auto refused = ctx.join_refusal())  // the rules may have changed meanwhile
                return ctx.reply(sender, make_error(stanza, refused->first, refused->second));
            if (ctx.room.check_join(nick, from.str()) != chat::JoinRefusal::none)
                return ctx.reply(sender, make_error(stanza, StanzaError::conflict));
            ctx.complete_join(stanza, from, nick, sender, req, covered ? nullptr : fetched.get());
        });
    });
    if (!queued) reply(sender, make_error(stanza, StanzaError::resource_constraint));
}

void RoomContext::complete_join(const xml::Element& stanza, const Jid& from,
                                const std::string& nick, SessionHandlePtr sender,
                                const chat::HistoryRequest& req,
                                const std::vector<store::Message>* fetched) {
    auto slot = shard.rooms.find(room.meta().node);
    bool created = slot != shard.rooms.end() && slot->second.creator == from.str();
    if (created) slot->second.creator.clear();

    chat::Occupant o;
    o.nick = nick;
    o.full_jid = from.str();
    o.bare_jid = from.bare_str();
    o.occupant_id = occupant_id(o.bare_jid);
    o.session = sender;
    o.presence = keep_presence(stanza);
    o.subject = who;
    // XEP-0045 roles from ours: managers own and moderate, presenters and members are members,
    // and in an auditorium everybody else only listens.
    const auto& rules = room.rules();
    if (created || (who && (who->administrator || chat::is_manager(*who, rules)))) {
        o.affiliation = chat::Affiliation::owner;
        o.role = chat::Role::moderator;
    } else if (who && chat::is_member(*who, rules)) {
        o.affiliation = chat::Affiliation::member;
        o.role = chat::Role::participant;
    } else {
        o.role = rules.type == store::RoomType::auditorium ? chat::Role::visitor
                                                           : chat::Role::participant;
    }
    if (rules.type == store::RoomType::auditorium && o.role == chat::Role::participant && who &&
        !chat::matches(*who, rules.presenters))
        o.role = chat::Role::visitor;
    const chat::Occupant& me = room.add(std::move(o));
    service.note_joined(me.full_jid, room.meta().node);
    if (who) service.note_read(who->user, room.meta().id, last_seq());

    // XEP-0045 7.2.3: existing occupants first, then the new one's presence to everybody
    // (self-presence last, with its status codes), then history, then the subject. In a large
    // room only the self-presence is sent.
    std::string_view listed;  // one presence per nickname, whatever its resources
    for (const auto& [other_nick, other] : room.occupants()) {
        if (large()) break;
        if (other_nick == me.nick || other_nick == listed) continue;
        listed = other_nick;
        auto p = muc::render_presence(other, nick_jid(other_nick), presence_of(other), {}, false);
        p.set_attr("to", me.full_jid);
        reply(sender, p);
    }
    broadcast_presence(me, false, {});
    std::vector<int> codes{100, 110, 170};
    if (created) codes.push_back(201);
    auto self = muc::render_presence(me, nick_jid(me.nick), presence_of(me), codes, false);
    self.set_attr("to", me.full_jid);
    reply(sender, self);
    if (may(chat::Action::read_history)) send_history(sender, req, fetched);
    auto subject = muc::render_subject(room, service.config_.domain);
    subject.set_attr("to", me.full_jid);
    reply(sender, subject);
    spdlog::debug("{} joined {} as {}", me.full_jid, room.meta().node, me.nick);
}

void RoomContext::send_history(const SessionHandlePtr& to, const chat::HistoryRequest& req,
                               const std::vector<store::Message>* fetched) {
    std::vector<const store::Message*> candidates;
    int64_t last = 0;
    if (fetched) {
        for (const auto& m : *fetched) {
            candidates.push_back(&m);
            last = std::max(last, m.seq);
        }
    }
    for (const auto& m : room.recent())
        if (m.seq > last) candidates.push_back(&m);
    auto chosen = chat::Room::select_history(candidates, req, service.config_.default_history);
    const std::string bare = room_bare();
    for (const store::Message* m : chosen)
        to->deliver(Outgoing::addressed(muc::render_message(*m, bare, true), to->jid().str()));
}

void RoomContext::broadcast_presence(const chat::Occupant& o, bool unavailable,
                                     const std::vector<int>& codes) {
    if (large()) return;
    auto p = PreparedStanza::from(
        muc::render_presence(o, nick_jid(o.nick), presence_of(o), codes, unavailable));
    for (const auto& [nick, other] : room.occupants()) {
        if (nick == o.nick) continue;  // itself, or the same user's other resources
        handle_of(other)->deliver(Outgoing::addressed(p, other.full_jid));
    }
}

void RoomContext::leave(const std::string& full_jid, const PresenceChildren& children) {
    auto gone = room.remove(full_jid);
    if (!gone) return;
    service.note_left(full_jid, room.meta().node);
    // Everything said while they were in the room, they have seen.
    if (gone->subject) service.note_read(gone->subject->user, room.meta().id, last_seq());
    if (service.config_.compliance && gone->subject) {
        auto part = event("PART", {{"nick", gone->nick}, {"jid", full_jid}}, gone->subject->user);
        service.workers_.submit([part](store::Store& s) { s.record({part}); });
    }
    gone->presence = std::make_shared<PresenceChildren>(children);
    // The others see the nickname leave only when its last resource does.
    if (!room.by_nick(gone->nick)) broadcast_presence(*gone, true, {});
    auto self = muc::render_presence(*gone, nick_jid(gone->nick), children, {110}, true);
    self.set_attr("to", full_jid);
    handle_of(*gone)->deliver(Outgoing::element(self));
}

void RoomContext::apply_rules(chat::RoomRules rules,
                              std::shared_ptr<const chat::CategoryRules> category, int code,
                              const std::string& reason) {
    room.set_rules(std::move(rules), std::move(category));
    std::vector<std::string> unwelcome;
    for (const auto& [nick, o] : room.occupants())
        if (o.subject && !room.may(*o.subject, chat::Action::join)) unwelcome.push_back(o.full_jid);
    for (const auto& full_jid : unwelcome) {
        auto gone = room.remove(full_jid);
        service.note_left(full_jid, room.meta().node);
        auto p = muc::render_presence(*gone, nick_jid(gone->nick), {}, {code}, true);
        xml::Element* x = p.child("x", ns::muc_user);
        if (!reason.empty())
            x->child("item", ns::muc_user)
                ->add_child("reason", std::string(ns::muc_user))
                .add_text(reason);
        if (!large()) {
            auto prepared = PreparedStanza::from(p);
            for (const auto& [nick, other] : room.occupants())
                handle_of(other)->deliver(Outgoing::addressed(prepared, other.full_jid));
        }
        x->add_child("status", std::string(ns::muc_user)).set_attr("code", "110");
        p.set_attr("to", full_jid);
        handle_of(*gone)->deliver(Outgoing::element(p));
        spdlog::info("{} removed from {} ({})", full_jid, room.meta().node, code);
    }
}

}  // namespace perch::xmpp
