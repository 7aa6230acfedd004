// The room service's core: room shards, loading (and creating by joining), the compliance
// events of room changes, and publishing events.
#include "chat/room_service.hpp"

#include <mutex>

#include "chat/room_service_impl.hpp"
#include "util/base64.hpp"
#include "util/crypto.hpp"

namespace perch::chat {

std::string_view to_string(Fault f) {
    switch (f) {
        case Fault::bad_request:
            return "bad-request";
        case Fault::bad_address:
            return "bad-address";
        case Fault::not_found:
            return "not-found";
        case Fault::forbidden:
            return "forbidden";
        case Fault::members_only:
            return "members-only";
        case Fault::not_allowed:
            return "not-allowed";
        case Fault::not_acceptable:
            return "not-acceptable";
        case Fault::conflict:
            return "conflict";
        case Fault::not_occupant:
            return "not-occupant";
        case Fault::busy:
            return "busy";
        case Fault::too_fast:
            return "too-fast";
        case Fault::internal:
            return "internal";
    }
    return "?";
}

const std::string& Actor::user() const {
    static const std::string none;
    return who ? who->user : none;
}

RoomService::RoomService(RoomServiceConfig config, Directory& directory, util::Shards& shards,
                         store::StoreJobs& jobs, store::MessageCommits& commits,
                         RoomEventSink& sink)
    : config_(std::move(config)),
      directory_(directory),
      shards_(shards),
      jobs_(jobs),
      commits_(commits),
      sink_(sink),
      state_(shards.size()),
      marks_(jobs) {}

RoomService::~RoomService() = default;

Room* RoomService::loaded(const std::string& node) {
    PERCH_ASSERT_ON(executor_of(node));
    auto& rooms = state_of(node).rooms;
    auto it = rooms.find(node);
    return it == rooms.end() ? nullptr : it->second.room.get();
}

std::string RoomService::occupant_id(const Room& room, std::string_view bare_jid) const {
    std::string mac = util::hmac(util::Hash::sha256, config_.occupant_id_secret,
                                 room.meta().node + '\0' + std::string(bare_jid));
    return util::base64_encode(mac.substr(0, 18));
}

store::ComplianceEvent RoomService::event(const Room& room, std::string type,
                                          const util::JsonFields& details,
                                          std::string actor) const {
    return store::make_event(std::move(type), std::move(actor), room.meta().node,
                             room.category().name, details);
}

void RoomService::publish(const Room& room, RoomEvent::Value what) {
    PERCH_ASSERT_ON(executor_of(room.meta().node));
    sink_.room_event(RoomEvent{room.meta().node, std::move(what)});
}

void RoomService::record_later(std::vector<store::ComplianceEvent> events) {
    bool queued = jobs_.submit(
        [events = std::move(events)](store::Store& s) mutable { s.record(std::move(events)); });
    if (!queued) spdlog::error("compliance events dropped: the store queue is full");
}

void RoomService::room_changed(const Room& room) {
    directory_.put_room(room.meta(), room.rules());
    publish(room, RoomChanged{room.meta(), room.rules(), room.category().name});
}

void RoomService::note_read(const std::string& user, int64_t room_id, int64_t seq) {
    marks_.note(user, room_id, seq);
}

void RoomService::unload(const std::string& node, std::function<void(Released)> released) {
    executor_of(node).post([this, node, released = std::move(released)] {
        auto& rooms = state_of(node).rooms;
        auto it = rooms.find(node);
        if (it == rooms.end() || !it->second.room) return;  // not here, or still loading
        const Room& room = *it->second.room;
        Released was{room.meta().id, room.epoch(), room.meta().last_seq, {}};
        for (const auto& [nick, o] : room.occupants()) was.occupants.push_back(o);
        rooms.erase(it);
        spdlog::info("room {} is served by another server now", node);
        if (released) released(std::move(was));
    });
}

void RoomService::adopt(const std::string& node, std::vector<Occupant> occupants,
                        Reply<int64_t> reply) {
    on_room<int64_t>(
        node, std::move(reply),
        [this, occupants = std::move(occupants)](Room& room, Reply<int64_t>& reply) mutable {
            for (auto& o : occupants) {
                if (room.by_jid(o.full_jid)) continue;  // rejoined by itself meanwhile
                if (room.check_join(o.nick, o.full_jid) == JoinRefusal::nick_conflict) {
                    spdlog::warn("{} not adopted into {}: the nickname {} was taken", o.full_jid,
                                 room.meta().node, o.nick);
                    continue;
                }
                const Occupant& in = room.add(std::move(o));
                publish(room, OccupantJoined{in, false, true});
            }
            reply(room.meta().last_seq);
        });
}

void RoomService::drop_server(uint32_t server) {
    // Who is gone is read at once; their leaving (events, presences to everybody) goes in
    // slices, so that the commands that come in meanwhile — the adoptions of the rooms that
    // moved here first — run between them. An occupant is known by its join (its subject,
    // made anew by each command from another server): one who joined again meanwhile through
    // a restarted server of the same number stays.
    struct Gone {
        std::string node, full_jid;
        const Subject* joined_as;
    };
    for (size_t i = 0; i < shards_.size(); ++i) {
        shards_.at(i).post([this, i, server] {
            std::vector<Gone> gone;
            for (auto& [node, slot] : state_[i].rooms) {
                if (!slot.room) continue;
                for (const auto& [nick, o] : slot.room->occupants())
                    if (o.server == server) gone.push_back({node, o.full_jid, o.subject.get()});
            }
            util::run_in_slices(shards_.at(i), std::move(gone), [this, server](const Gone& g) {
                Room* room = loaded(g.node);
                const Occupant* o = room ? room->by_jid(g.full_jid) : nullptr;
                if (!o || o->server != server || o->subject.get() != g.joined_as) return;
                remove_occupant(*room, g.full_jid, Departure::server_lost,
                                "Their server is no longer in the pool", {});
            });
        });
    }
}

void RoomService::loaded_rooms(std::function<void(std::vector<std::string>)> done) {
    struct Gather {
        std::mutex mutex;
        std::vector<std::string> nodes;
        size_t left;
        std::function<void(std::vector<std::string>)> done;
    };
    auto g = std::make_shared<Gather>();
    g->left = shards_.size();
    g->done = std::move(done);
    for (size_t i = 0; i < shards_.size(); ++i) {
        shards_.at(i).post([this, i, g] {
            std::vector<std::string> here;
            for (const auto& [node, slot] : state_[i].rooms)
                if (slot.room) here.push_back(node);
            std::unique_lock lock(g->mutex);
            g->nodes.insert(g->nodes.end(), here.begin(), here.end());
            if (--g->left == 0) {
                auto nodes = std::move(g->nodes);
                lock.unlock();
                g->done(std::move(nodes));
            }
        });
    }
}

void RoomService::forget_before(int64_t before_us) {
    for (size_t i = 0; i < shards_.size(); ++i) {
        shards_.at(i).post([this, i, before_us] {
            for (auto& [node, slot] : state_[i].rooms)
                if (slot.room) slot.room->forget_before(before_us);
        });
    }
}

}  // namespace perch::chat
