// Occupants coming and going: joins (with their history), status changes, new nicknames,
// leaves, and removals when a room's rules change.
#include "chat/room_service_impl.hpp"

namespace perch::chat {

namespace {
constexpr const char* kLookAlike =
    "That nickname reads like another one in this room (letters that look the same, or case): "
    "choose another";
}  // namespace

std::optional<Error> RoomService::join_refusal(const Room& room, const Subject* who) const {
    if (!who || room.may(*who, Action::join)) return std::nullopt;
    if (!who->chat_enabled && !who->administrator)
        return error(Fault::forbidden, "Persistent chat is disabled for your account");
    // Outside the category, or a secret room one is not a member of: the room is not there.
    if (!room.may(*who, Action::find)) return error(Fault::not_found);
    if (!who->administrator && is_banned(*who, room.rules()))
        return error(Fault::forbidden, "You are banned from this room");
    if (room.rules().disabled) return error(Fault::forbidden, "This room is disabled");
    return error(Fault::members_only, "This room is for members only");
}

void RoomService::join(JoinCommand c, Reply<JoinResult> reply) {
    // Only a join by one of a category's creators may bring a room into being: in the default
    // category when they create rooms there, else in the first one where they do (the
    // settings move the room to any other of theirs).
    std::string create_in;
    if (config_.allow_user_rooms && c.actor.who) {
        auto mine = directory_.creatable_categories(*c.actor.who);
        if (std::find(mine.begin(), mine.end(), config_.default_category) != mine.end())
            create_in = config_.default_category;
        else if (!mine.empty())
            create_in = mine.front();
    }
    std::string node = c.room;
    std::string creator = create_in.empty() ? std::string() : c.actor.full_jid;
    executor_of(node).post([this, node, create_in, creator, c = std::move(c),
                            reply = std::move(reply)]() mutable {
        with_room(
            node,
            [this, c = std::move(c), reply = std::move(reply)](
                Room* room, std::optional<Error> failed) mutable {
                if (failed) return reply(std::move(*failed));
                if (!room) {
                    spdlog::info("presence from {} to unknown room {}", c.actor.full_jid, c.room);
                    return reply(error(Fault::not_found));
                }
                present(*room, std::move(c), reply);
            },
            create_in, creator);
    });
}

void RoomService::present(Room& room, JoinCommand c, Reply<JoinResult>& reply) {
    const Occupant* current = room.by_jid(c.actor.full_jid);
    if (current && current->nick == c.nick && !c.join_element) {
        // A status change: kept, and shown to the others and to the occupant.
        Occupant updated = *current;
        updated.presence = std::move(c.presence);
        const Occupant& o = room.add(std::move(updated));
        publish(room, PresenceChanged{o, !large(room)});
        JoinResult r;
        r.joined = false;
        r.self = o;
        r.last_seq = room.meta().last_seq;
        return reply(std::move(r));
    }
    if (current && current->nick != c.nick) return change_nick(room, *current, c, reply);

    if (auto refused = join_refusal(room, c.actor.who.get())) {
        spdlog::info("join of {} to {} refused ({})", c.actor.full_jid, room.meta().node,
                     to_string(refused->fault));
        return reply(std::move(*refused));
    }
    switch (room.check_join(c.nick, c.actor.full_jid)) {
        case JoinRefusal::nick_conflict:
            spdlog::info("join of {} to {} as '{}' refused: nick in use", c.actor.full_jid,
                         room.meta().node, c.nick);
            return reply(error(Fault::conflict, "That nickname is already in use in this room"));
        case JoinRefusal::nick_look_alike:
            spdlog::info("join of {} to {} as '{}' refused: reads like another nick",
                         c.actor.full_jid, room.meta().node, c.nick);
            return reply(error(Fault::conflict, kLookAlike));
        case JoinRefusal::room_disabled:
            return reply(error(Fault::forbidden, "This room is disabled"));
        case JoinRefusal::nick_missing:
            return reply(error(Fault::bad_address, "A nickname is required"));
        case JoinRefusal::none:
            break;
    }
    const Subject* who = c.actor.who.get();
    bool covered = room.cache_covers(c.history, config_.settings->default_history());
    bool record = config_.compliance && who;
    if (covered && !record) return admit(room, c, reply, nullptr);

    // More history than the cache holds: read it first, then admit on the shard with the
    // fresh read merged with whatever arrived meanwhile. With compliance on, the join (and the
    // history it shows) is on record before the joiner is in.
    std::vector<store::ComplianceEvent> events;
    if (record) {
        events.push_back(
            event(room, "JOIN", {{"nick", c.nick}, {"jid", c.actor.full_jid}}, who->user));
        int shown = c.history.max_stanzas.value_or(config_.settings->default_history());
        if (room.may(*who, Action::read_history) && shown > 0)
            events.push_back(event(room, "BACKCHAT",
                                   {{"on", "join"}, {"max", std::to_string(shown)}}, who->user));
    }
    int limit = c.history.max_stanzas.value_or(config_.settings->default_history());
    int64_t since = c.history.since_us.value_or(0);
    int64_t room_id = room.meta().id;
    via_store(
        room.meta().node,
        [covered, record, events, room_id, limit, since](store::Store& s) {
            std::vector<store::Message> fetched;
            if (!covered) {
                try {
                    fetched = s.recent_messages(room_id, limit, since);
                } catch (const std::exception& e) {
                    spdlog::error("history read for room {} failed: {}", room_id, e.what());
                }
            }
            if (record) s.record(events);  // a failure refuses the join
            return fetched;
        },
        [this, c, reply, covered](Room& room, std::vector<store::Message> fetched) mutable {
            // The rules may have changed meanwhile, and the nickname been taken.
            if (auto refused = join_refusal(room, c.actor.who.get())) return reply(*refused);
            if (room.check_join(c.nick, c.actor.full_jid) != JoinRefusal::none)
                return reply(
                    error(Fault::conflict, "That nickname is already in use in this room"));
            admit(room, c, reply, covered ? nullptr : &fetched);
        },
        [reply, full_jid = c.actor.full_jid](Error e) {
            if (e.fault == Fault::internal) e.text = "The join could not be recorded";
            spdlog::error("join of {} not completed: {}", full_jid, e.text);
            reply(std::move(e));
        });
}

void RoomService::admit(Room& room, const JoinCommand& c, Reply<JoinResult>& reply,
                        const std::vector<store::Message>* fetched) {
    auto& rooms = state_of(room.meta().node).rooms;
    auto slot = rooms.find(room.meta().node);
    bool created = slot != rooms.end() && slot->second.creator == c.actor.full_jid;
    if (created) slot->second.creator.clear();

    const Subject* who = c.actor.who.get();
    Occupant o;
    o.nick = c.nick;
    o.full_jid = c.actor.full_jid;
    o.occupant_id = occupant_id(room, o.bare_jid());
    o.presence = c.presence;
    o.subject = c.actor.who;
    o.server = c.actor.server;
    // XEP-0045 roles from ours: managers own and moderate, presenters and members are members,
    // and in an auditorium everybody else only listens.
    const auto& rules = room.rules();
    if (created || (who && (who->administrator || is_manager(*who, rules)))) {
        o.affiliation = Affiliation::owner;
        o.role = Role::moderator;
    } else if (who && is_member(*who, rules)) {
        o.affiliation = Affiliation::member;
        o.role = Role::participant;
    } else {
        o.role = rules.type == store::RoomType::auditorium ? Role::visitor : Role::participant;
    }
    if (rules.type == store::RoomType::auditorium && o.role == Role::participant && who &&
        !matches(*who, rules.presenters))
        o.role = Role::visitor;
    const Occupant& me = room.add(std::move(o));
    if (who) marks_.note(who->user, room.meta().id, room.meta().last_seq);

    JoinResult r;
    r.created = created;
    r.large = large(room);
    r.self = me;
    r.last_seq = room.meta().last_seq;
    if (!r.large) {
        std::string_view listed;  // one presence per nickname, whatever its resources
        for (const auto& [nick, other] : room.occupants()) {
            if (nick == me.nick || nick == listed) continue;
            listed = nick;
            r.others.push_back(other);
        }
    }
    if (!who || room.may(*who, Action::read_history)) {
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
        for (const auto* m :
             Room::select_history(candidates, c.history, config_.settings->default_history()))
            r.history.push_back(*m);
    }
    r.subject = room.meta().subject;
    r.subject_nick = room.meta().subject_nick;
    spdlog::debug("{} joined {} as {}", me.full_jid, room.meta().node, me.nick);
    publish(room, OccupantJoined{me, !r.large});
    reply(std::move(r));
}

void RoomService::change_nick(Room& room, const Occupant& current, const JoinCommand& c,
                              Reply<JoinResult>& reply) {
    // XEP-0045 7.6: the old nickname leaves and the new one arrives; the occupant id stays.
    if (room.by_nick(c.nick))
        return reply(error(Fault::conflict, "That nickname is already in use in this room"));
    if (room.check_join(c.nick, c.actor.full_jid) == JoinRefusal::nick_look_alike)
        return reply(error(Fault::conflict, kLookAlike));
    Occupant o = current;
    std::string old_nick = o.nick;
    o.nick = c.nick;
    o.presence = c.presence;
    const Occupant& now = room.add(std::move(o));
    spdlog::debug("{} in {} is now {} (was {})", now.full_jid, room.meta().node, now.nick,
                  old_nick);
    publish(room, NickChanged{now, old_nick, !large(room)});
    JoinResult r;
    r.joined = false;
    r.self = now;
    r.last_seq = room.meta().last_seq;
    reply(std::move(r));
}

void RoomService::leave(LeaveCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    executor_of(node).post([this, c = std::move(c), reply = std::move(reply)] {
        // A room that is not loaded has nobody in it.
        if (Room* room = loaded(c.room))
            remove_occupant(*room, c.full_jid, Departure::left, {}, c.presence);
        if (reply) reply(Ok{});
    });
}

void RoomService::remove_occupant(Room& room, const std::string& full_jid, Departure why,
                                  const std::string& text, const std::string& presence) {
    auto gone = room.remove(full_jid);
    if (!gone) return;
    // Everything said while they were in the room, they have seen.
    if (gone->subject) marks_.note(gone->subject->user, room.meta().id, room.meta().last_seq);
    if (config_.compliance && gone->subject)
        record_later(
            {event(room, "PART", {{"nick", gone->nick}, {"jid", full_jid}}, gone->subject->user)});
    // One line per removal, except when a server left the pool: that is told once, and its
    // tens of thousands of occupancies would flood the log while the pool recovers.
    if (why == Departure::server_lost)
        spdlog::debug("{} removed from {} ({})", full_jid, room.meta().node, text);
    else if (why != Departure::left)
        spdlog::info("{} removed from {} ({})", full_jid, room.meta().node, text);
    // The others see the nickname leave only when its last resource does.
    bool announce = !room.by_nick(gone->nick) && !large(room);
    publish(room, OccupantLeft{std::move(*gone), why, text, presence, announce});
}

void RoomService::apply_rules(Room& room, RoomRules rules,
                              std::shared_ptr<const CategoryRules> category, Departure why,
                              const std::string& text) {
    room.set_rules(std::move(rules), std::move(category));
    std::vector<std::pair<std::string, bool>> unwelcome;  // full JID, banned
    for (const auto& [nick, o] : room.occupants())
        if (o.subject && !room.may(*o.subject, Action::join))
            unwelcome.emplace_back(o.full_jid, is_banned(*o.subject, room.rules()));
    // Whatever the change, one now on the room's denied list goes as banned (XEP-0045 301).
    for (const auto& [full_jid, banned] : unwelcome)
        remove_occupant(room, full_jid, banned ? Departure::banned : why,
                        banned ? "You are banned from this room" : text, {});
}

}  // namespace perch::chat
