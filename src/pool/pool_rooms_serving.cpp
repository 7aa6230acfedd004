#include "pool/pool_rooms.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

// The serving of the other servers' commands for rooms served here, and the frames that come
// from the links.
namespace perch::pool {

void to_json(Json& j, const PoolRooms::RoomQuery& q) {
    j = {{"room", q.room}, {"actor", q.actor}};
}
void from_json(const Json& j, PoolRooms::RoomQuery& q) {
    j.at("room").get_to(q.room);
    j.at("actor").get_to(q.actor);
}
void to_json(Json& j, const PoolRooms::AdoptCommand& c) {
    j = {{"room", c.room}, {"occupants", c.occupants}};
}
void from_json(const Json& j, PoolRooms::AdoptCommand& c) {
    j.at("room").get_to(c.room);
    j.at("occupants").get_to(c.occupants);
}

namespace {

// The actor of a command from server `from` is that server's client (a peer speaks only for
// its own sessions); commands that name only a full JID are checked against the occupant.
template <class C>
void speaking_for(C& c, uint32_t from) {
    if constexpr (requires { c.actor; }) {
        if (!c.actor.full_jid.empty()) c.actor.server = from;
    }
    if constexpr (requires { c.occupants; }) {
        for (auto& o : c.occupants) o.server = from;
    }
}

// The room a command is for, if it is for one.
template <class C>
std::optional<std::string> room_of(const C& c) {
    if constexpr (requires { c.room.node; })
        return c.room.node;
    else if constexpr (requires { std::string(c.room); })
        return std::string(c.room);
    else
        return std::nullopt;
}

}  // namespace

PoolRooms::PoolRooms(chat::RoomService& local, Fanout& fanout, const Membership& membership,
                     util::Shards& shards)
    : local_(local),
      fanout_(fanout),
      membership_(membership),
      shards_(shards),
      gates_(shards.size()) {
    serve("join", &PoolRooms::local_join,
          [this](uint32_t from, const std::string& room, chat::JoinResult& r) {
              // The asking server has occupants in the room already: it knows the others (they
              // reached it as events, in order, before this answer). Saves sending every occupant
              // with every join, which made a room's joins cost the square of its size.
              bool known =
                  std::any_of(r.others.begin(), r.others.end(),
                              [from](const chat::Occupant& o) { return o.server == from; });
              if (known) {
                  r.others.clear();
                  r.others_omitted = true;
              } else {
                  fanout_.listed(room, from);  // it knows them from this answer on
              }
          });
    serve("leave", &PoolRooms::local_leave);
    serve("post", &PoolRooms::local_post);
    serve("relay", &PoolRooms::local_relay);
    serve("private", &PoolRooms::local_private);
    serve("subject", &PoolRooms::local_subject);
    serve("configure", &PoolRooms::local_configure);
    serve("change_lists", &PoolRooms::local_lists_change);
    serve("kick", &PoolRooms::local_kick);
    serve("moderate", &PoolRooms::local_moderate);
    serve("invite", &PoolRooms::local_invite);
    serve("destroy", &PoolRooms::local_destroy);
    serve("clear_history", &PoolRooms::local_clear);
    serve("create", &PoolRooms::local_create);
    serve("archive", &PoolRooms::local_archive);
    serve("info", &PoolRooms::local_info);
    serve("occupants", &PoolRooms::local_occupants);
    serve("lists", &PoolRooms::local_lists);
    serve("adopt", &PoolRooms::local_adopt);
}

template <class C, class T>
void PoolRooms::serve(
    const char* op, void (PoolRooms::*here)(C, chat::Reply<T>),
    std::type_identity_t<std::function<void(uint32_t from, const std::string& room, T&)>> adjust) {
    handlers_[op] = [this, here, adjust](uint32_t from, uint64_t id, const Json& body) {
        C c;
        {
            WireScope scope(membership_.self().number);
            c = body.get<C>();
        }
        speaking_for(c, from);
        serve_one(from, id, std::move(c), here, adjust, std::nullopt);
    };
}

template <class C, class T>
void PoolRooms::serve_one(uint32_t from, uint64_t id, C c,
                          void (PoolRooms::*here)(C, chat::Reply<T>),
                          const std::function<void(uint32_t, const std::string&, T&)>& adjust,
                          std::optional<Clock::time_point> due) {
    std::optional<std::string> room = room_of(c);
    if (room) {
        // For a room that the sending server has seen move here and this one not yet (each
        // reads the live servers once a second): the command waits for this server's view,
        // briefly, rather than be refused busy. An adoption refused so would be tried again
        // after the sender's next commands to the room, which would find it not adopted.
        if (wait(Waiting::to_serve, from, *room, due, [&](Clock::time_point until) {
                return [this, from, id, c = std::move(c), here, adjust,
                        until](const std::optional<chat::Error>&) mutable {
                    serve_one(from, id, std::move(c), here, adjust, until);
                };
            }))
            return;
    }
    (this->*here)(std::move(c), [this, from, id, adjust,
                                 room = room.value_or(std::string())](chat::Result<T> result) {
        if (adjust && result.ok()) adjust(from, room, result.value());
        answer(from, id, result);
    });
}

template <class T>
void PoolRooms::answer(uint32_t to, uint64_t id, const chat::Result<T>& result) {
    Json frame = {{"t", "re"}, {"id", id}};
    {
        WireScope scope(membership_.self().number);
        if (result.ok())
            frame["value"] = result.value();
        else
            frame["error"] = encode(result.error());
    }
    if (links_ && !links_->send(to, frame)) {
        std::lock_guard lock(mutex_);
        ++unsent_answers_[to];
    }
}

void PoolRooms::frame(uint32_t from, const Json& f) {
    try {
        const std::string& type = f.at("t").get_ref<const std::string&>();
        if (type == "ev") {
            WireScope scope(membership_.self().number);
            fanout_.remote_event(decode_event(f));
        } else if (type == "cmd") {
            uint64_t id = f.at("id").get<uint64_t>();
            auto handler = handlers_.find(f.at("op").get<std::string>());
            if (handler == handlers_.end()) {
                answer<chat::Ok>(from, id,
                                 chat::error(chat::Fault::bad_request, "Unknown command"));
                return;
            }
            try {
                handler->second(from, id, f.at("body"));
            } catch (const Json::exception& e) {
                spdlog::error("pool: a malformed command from server {}: {}", from, e.what());
                answer<chat::Ok>(from, id,
                                 chat::error(chat::Fault::bad_request, "Malformed command"));
            }
        } else if (type == "re") {
            std::unique_lock lock(mutex_);
            auto id = f.at("id").get<uint64_t>();
            auto it = pending_.find(id);
            if (it == pending_.end()) {
                // Too late: it was refused already. What it did is undone where it must be.
                auto expired = expired_.find(id);
                if (expired == expired_.end()) return;
                Late late = std::move(expired->second.late);
                expired_.erase(expired);
                lock.unlock();
                if (f.contains("value")) late(f.at("value"));
                return;
            }
            Pending p = std::move(it->second);
            pending_.erase(it);
            lock.unlock();
            std::optional<chat::Error> error;
            if (auto e = f.find("error"); e != f.end()) error = decode_error(*e);
            Json value = f.contains("value") ? f.at("value") : Json();
            shards_.of(p.node).post([answer = std::move(p.answer), value = std::move(value),
                                     error = std::move(error),
                                     self = membership_.self().number]() mutable {
                WireScope scope(self);
                answer(&value, std::move(error));
            });
        } else if (type == "inv") {
            fanout_.remote_invitation(decode_invitation(f));
        } else if ((type == "um" || type == "ua" || type == "sl" || type == "sa") && users_) {
            users_->frame(from, f);
        } else {
            spdlog::warn("pool: server {} sent an unknown frame {}", from, type);
        }
    } catch (const Json::exception& e) {
        spdlog::error("pool: a malformed frame from server {}: {}", from, e.what());
    }
}

}  // namespace perch::pool
