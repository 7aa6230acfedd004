// Talking in rooms: posts (stored before anybody sees them), relayed traffic, private
// messages, the subject, and removing a message.
#include <algorithm>

#include "chat/room_service_impl.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"

namespace perch::chat {

namespace {

// What somebody who is not in the room is told: about a secret room, exactly what a room that
// does not exist answers, so that a message cannot tell whether it is there.
Error outsider_refusal(const Room& room) {
    if (room.meta().privacy == store::Privacy::secret)
        return error(Fault::not_found, "No such room");
    return error(Fault::not_occupant, "You are not an occupant of this room");
}

// The occupant behind `full_jid`, allowed to speak; else why not.
std::variant<const Occupant*, Error> speaker(const Room& room, const std::string& full_jid) {
    const Occupant* o = room.by_jid(full_jid);
    if (!o) {
        spdlog::info("message from {} to {} refused: not an occupant", full_jid, room.meta().node);
        return outsider_refusal(room);
    }
    if ((o->subject && !room.may(*o->subject, Action::post)) || o->role == Role::visitor) {
        spdlog::info("message from {} to {} refused: may not post", full_jid, room.meta().node);
        return error(Fault::forbidden, room.rules().type == store::RoomType::auditorium
                                           ? "Only presenters and managers speak in this auditorium"
                                           : "You may not post in this room");
    }
    return o;
}

}  // namespace

void RoomService::post(PostCommand c, Reply<Posted> reply) {
    std::string node = c.room;
    on_room<Posted>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Posted>& reply) mutable {
            auto who = speaker(room, c.full_jid);
            if (auto* e = std::get_if<Error>(&who)) return reply(std::move(*e));
            const Occupant& o = *std::get<const Occupant*>(who);
            if (config_.posts_allowed && !config_.posts_allowed())
                return reply(
                    error(Fault::busy,
                          "Posting is paused: the compliance record cannot be written. Try "
                          "again later"));
            if (auto budget = room.take_post(o.full_jid, config_.post_rate, util::steady_us());
                !budget.allowed) {
                posts_over_rate_.fetch_add(1, std::memory_order_relaxed);
                if (budget.first_refusal)
                    spdlog::info("posts from {} to {} refused: faster than {} a second", o.full_jid,
                                 room.meta().node, config_.post_rate.per_second);
                return reply(error(Fault::too_fast,
                                   fmt::format("You are posting faster than this room allows ({} "
                                               "messages a second); this one was not sent",
                                               config_.post_rate.per_second)));
            }
            bool story = c.kind == store::MessageKind::story;
            size_t limit =
                story ? config_.settings->max_story_chars() : config_.settings->max_message_chars();
            if (util::utf8_length(c.body) > limit) {
                spdlog::info("message from {} to {} refused: over {} characters", o.full_jid,
                             room.meta().node, limit);
                return reply(error(Fault::not_acceptable,
                                   std::string(story ? "Stories" : "Messages") +
                                       " are limited to " + std::to_string(limit) + " characters"));
            }
            // A retry of a message already stored (its acknowledgement was lost: a failover, a
            // dropped connection) is answered with the stored one, never stored twice. After a
            // commit whose outcome is unknown, the newest messages are read again first.
            if (!c.origin_id.empty() && room.recent_in_doubt()) {
                int64_t room_id = room.meta().id;
                int cache = int(room.history_cache());
                return via_store(
                    room.meta().node,
                    [room_id, cache](store::Store& s) {
                        return s.recent_messages(room_id, cache, 0);
                    },
                    [this, c, reply](Room& room, std::vector<store::Message> newest) mutable {
                        room.seed_history(std::move(newest));
                        post(std::move(c), std::move(reply));
                    },
                    [reply](Error e) {
                        if (e.fault == Fault::internal) e.text = "Message not stored";
                        reply(std::move(e));
                    });
            }
            if (!c.origin_id.empty()) {
                const auto& recent = room.recent();
                for (auto it = recent.rbegin(); it != recent.rend(); ++it)
                    if (it->origin_id == c.origin_id && it->sender == o.bare_jid() &&
                        it->body == c.body)
                        return reply(Posted{it->seq, it->stanza_id, *it});
            }
            store::NewMessage m;
            m.kind = c.kind;
            m.room_id = room.meta().id;
            m.stanza_id = util::ordered_id();  // in time order: the id index grows at its end
            m.origin_id = std::move(c.origin_id);
            m.sender = o.bare_jid();
            m.nick = o.nick;
            m.occupant_id = o.occupant_id;
            m.body = std::move(c.body);
            m.payload = std::move(c.payload);
            m.ts_us = util::now_us();
            if (c.files.empty()) return commit(room, std::move(m), reply);
            // A link to an uploaded file needs the category's file switch, and makes the file
            // readable by the room's readers: recorded before the message is.
            if (!room.category().file_upload)
                return reply(error(
                    Fault::not_allowed,
                    "Files cannot be posted in the rooms of category " + room.category().name));
            std::string user = o.subject ? o.subject->user : std::string();
            int64_t room_id = m.room_id;
            via_store(
                room.meta().node,
                [files = c.files, user, room_id](store::Store& s) -> std::optional<Error> {
                    for (const auto& id : files) {
                        auto file = s.find_file(id);
                        if (!file) return error(Fault::not_found, "No uploaded file has that link");
                        auto rooms = s.file_rooms(id);
                        if (file->owner != user &&
                            std::find(rooms.begin(), rooms.end(), room_id) == rooms.end())
                            return error(Fault::forbidden, "You may post only files you uploaded");
                    }
                    for (const auto& id : files) s.attach_file(id, room_id);
                    return std::nullopt;
                },
                [this, m = std::move(m), reply](Room& room, std::optional<Error> refused) mutable {
                    if (refused) return reply(std::move(*refused));
                    commit(room, std::move(m), reply);
                },
                [reply](Error e) {
                    if (e.fault == Fault::internal) e.text = "Message not stored";
                    reply(std::move(e));
                });
        });
}

void RoomService::commit(Room& room, store::NewMessage m, const Reply<Posted>& reply) {
    std::string node = room.meta().node;
    m.epoch = room.epoch();
    std::string key;
    if (!m.origin_id.empty()) {
        key = node + '\0' + m.sender + '\0' + m.origin_id;
        auto& in_flight = state_of(node).in_flight;
        if (auto it = in_flight.find(key); it == in_flight.end())
            in_flight[key].body = m.body;
        else if (it->second.body == m.body)
            return it->second.retries.push_back(reply);
        else
            key.clear();  // another text under the same id: a post of its own, not tracked
    }
    // The retries of this post get its outcome too (no echo of their own: the sender sees the
    // room's copy, which carries the same id).
    auto answer = [this, node, key, reply](Result<Posted> outcome) {
        if (!key.empty()) {
            auto& in_flight = state_of(node).in_flight;
            if (auto it = in_flight.find(key); it != in_flight.end()) {
                for (auto& retry : it->second.retries) retry(outcome);
                in_flight.erase(it);
            }
        }
        reply(std::move(outcome));
    };
    // Nobody sees the message before it is on disk: the completion comes back to the shard,
    // and only then is it published; a failed commit is reported and nothing is shown.
    bool queued = commits_.submit(
        std::move(m),
        [this, node, reply = answer](std::optional<store::Message> stored, std::string err) {
            executor_of(node).post([this, node, reply, stored = std::move(stored), err]() mutable {
                if (!stored) {
                    spdlog::warn("post to {} not stored: {}", node, err);
                    // In a pool the room may have been claimed by another server: serving it
                    // here any longer would be serving it stale.
                    Room* room = loaded(node);
                    if (room && room->epoch() != 0) {
                        state_of(node).rooms.erase(node);
                        return reply(error(Fault::busy, "The room is moving; try again"));
                    }
                    if (room) room->doubt_recent();
                    return reply(error(Fault::internal, "Message not stored"));
                }
                Posted posted{stored->seq, stored->stanza_id, std::nullopt};
                if (Room* room = loaded(node)) {
                    room->remember(*stored);
                    messages_posted_.fetch_add(1, std::memory_order_relaxed);
                    publish(*room, MessagePosted{std::move(*stored)});
                }
                reply(std::move(posted));
            });
        });
    if (!queued) answer(busy());
}

void RoomService::relay(RelayCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<
        Ok>(node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) mutable {
        auto who = speaker(room, c.full_jid);
        if (auto* e = std::get_if<Error>(&who)) return reply(std::move(*e));
        const Occupant& o = *std::get<const Occupant*>(who);
        publish(room, MessageRelayed{o.nick, o.occupant_id, std::move(c.id), std::move(c.payload)});
        reply(Ok{});
    });
}

void RoomService::send_private(PrivateCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) mutable {
            const Occupant* o = room.by_jid(c.full_jid);
            if (!o) return reply(outsider_refusal(room));
            if (!room.by_nick(c.to_nick)) return reply(error(Fault::not_found, "No such occupant"));
            publish(room,
                    PrivateMessage{o->nick, o->occupant_id, std::move(c.to_nick), std::move(c.type),
                                   std::move(c.id), std::move(c.payload), c.full_jid});
            reply(Ok{});
        });
}

void RoomService::set_subject(SubjectCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) mutable {
            auto who = speaker(room, c.full_jid);
            if (auto* e = std::get_if<Error>(&who)) return reply(std::move(*e));
            const Occupant& o = *std::get<const Occupant*>(who);
            bool manager = !o.subject || room.may(*o.subject, Action::configure);
            if (!manager && !room.meta().occupants_change_subject) {
                spdlog::info("subject of {} by {} refused: not a manager", room.meta().node,
                             c.full_jid);
                return reply(
                    error(Fault::forbidden, "Only the room's managers change its subject"));
            }
            if (util::utf8_length(c.subject) > config_.settings->max_message_chars())
                return reply(error(Fault::not_acceptable,
                                   "A subject has at most " +
                                       std::to_string(config_.settings->max_message_chars()) +
                                       " characters"));
            // Stored with its compliance event before anybody sees it, like a message.
            auto recorded = event(room, "SUBJECT", {{"subject", c.subject}, {"nick", o.nick}},
                                  o.subject ? o.subject->user : std::string());
            int64_t id = room.meta().id;
            via_store(
                room.meta().node,
                [id, subject = c.subject, nick = o.nick, recorded](store::Store& s) {
                    s.with_events({recorded}, [&] { s.set_room_subject(id, subject, nick); });
                    return Ok{};
                },
                [this, subject = c.subject, nick = o.nick, reply](Room& room, Ok) mutable {
                    room.meta().subject = subject;
                    room.meta().subject_nick = nick;
                    directory_.put_room(room.meta(), room.rules());
                    publish(room, SubjectChanged{subject, nick});
                    reply(Ok{});
                },
                reply);
        });
}

void RoomService::moderate(ModerateCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) mutable {
            if (auto refused =
                    manager_refusal(room, c.actor.who.get(), "Only managers remove messages"))
                return reply(std::move(*refused));
            if (c.stanza_id.empty()) return reply(error(Fault::bad_request, "Name the message"));
            const Occupant* me = c.actor.full_jid.empty() ? nullptr : room.by_jid(c.actor.full_jid);
            std::string by_nick = me ? me->nick : std::string();
            std::string notice = !c.replacement.empty()
                                     ? c.replacement
                                     : "This message was removed by a moderator" +
                                           (c.reason.empty() ? "" : ": " + c.reason);
            // The archive keeps a tombstone in place of the text.
            std::string tombstone = config_.tombstone ? config_.tombstone(room.meta().node, by_nick,
                                                                          c.reason, util::now_us())
                                                      : std::string();
            auto removal =
                event(room, "MODERATE",
                      {{"id", c.stanza_id}, {"reason", c.reason}, {"by", by_nick}}, c.actor.user());
            int64_t room_id = room.meta().id;
            via_store(
                room.meta().node,
                [room_id, removal, id = c.stanza_id, notice, tombstone](store::Store& s) {
                    std::optional<store::Message> changed;
                    try {
                        s.with_events({removal}, [&] {
                            changed = s.remove_message(room_id, id, notice, tombstone);
                            if (!changed) throw store::UnknownId("no such message");
                        });
                    } catch (const store::UnknownId&) {
                        changed.reset();
                    }
                    return changed;
                },
                [this, reply, by_nick, reason = c.reason, id = c.stanza_id](
                    Room& room, std::optional<store::Message> changed) mutable {
                    if (!changed) return reply(error(Fault::not_found, "No such message"));
                    room.replace_cached(*changed);
                    spdlog::info("message {} in {} removed by {}", id, room.meta().node,
                                 by_nick.empty() ? "an administrator" : by_nick);
                    publish(room, MessageRetracted{std::move(*changed), by_nick, reason});
                    reply(Ok{});
                },
                reply);
        });
}

}  // namespace perch::chat
