#include "pool/fanout.hpp"

#include <spdlog/spdlog.h>

namespace perch::pool {

Fanout::Fanout(chat::RoomEventSink& local, chat::Directory& directory, util::Shards& shards,
               const Membership& membership)
    : local_(local),
      directory_(directory),
      shards_(shards),
      membership_(membership),
      served_(shards.size()),
      shown_(shards.size()) {}

std::vector<uint32_t> Fanout::others() {
    std::vector<uint32_t> out;
    for (const auto& m : membership_.live())
        if (m.number != membership_.self().number) out.push_back(m.number);
    return out;
}

void Fanout::send_to(const std::vector<uint32_t>& servers, const Json& frame) {
    if (!links_) return;
    for (uint32_t s : servers)
        if (!links_->send(s, frame))
            spdlog::warn("pool: an event could not be sent to server {}", s);
}

void Fanout::room_event(const chat::RoomEvent& e) {
    PERCH_ASSERT_ON(shards_.of(e.room));
    local_.room_event(e);
    auto& audience = served_[shards_.index_of(e.room)][e.room];
    std::vector<uint32_t> to;
    auto everyone_with_occupants = [&] {
        for (const auto& [server, count] : audience.servers) to.push_back(server);
    };
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, chat::OccupantJoined>) {
                if (v.occupant.server != 0) ++audience.servers[v.occupant.server];
                everyone_with_occupants();
            } else if constexpr (std::is_same_v<T, chat::OccupantLeft>) {
                everyone_with_occupants();  // the leaver's server included: it forgets them
                if (v.occupant.server != 0) {
                    auto it = audience.servers.find(v.occupant.server);
                    if (it != audience.servers.end() && --it->second == 0)
                        audience.servers.erase(it);
                }
            } else if constexpr (std::is_same_v<T, chat::RoomChanged> ||
                                 std::is_same_v<T, chat::RoomDestroyed>) {
                to = others();  // every directory follows
            } else {
                everyone_with_occupants();
            }
        },
        e.what);
    if (std::holds_alternative<chat::RoomDestroyed>(e.what))
        served_[shards_.index_of(e.room)].erase(e.room);
    if (to.empty()) return;
    WireScope scope(membership_.self().number);
    Json frame = encode(e);
    frame["t"] = "ev";
    send_to(to, frame);
}

void Fanout::invitation(const chat::Invitation& inv) {
    local_.invitation(inv);
    Json frame = encode(inv);
    frame["t"] = "inv";
    send_to(others(), frame);
}

void Fanout::remote_event(chat::RoomEvent e) {
    std::string node = e.room;
    shards_.of(node).post([this, e = std::move(e)]() mutable {
        auto& shown = shown_[shards_.index_of(e.room)];
        if (auto* posted = std::get_if<chat::MessagePosted>(&e.what)) {
            auto& last = shown[e.room].last_seq;
            if (posted->message.seq <= last) return;  // already shown (a retry, a catch-up)
            if (last != 0 && posted->message.seq != last + 1)
                spdlog::warn("pool: room {} jumped from message {} to {}", e.room, last,
                             posted->message.seq);
            last = posted->message.seq;
        } else if (auto* changed = std::get_if<chat::RoomChanged>(&e.what)) {
            directory_.put_room(changed->meta, changed->rules);
        } else if (std::holds_alternative<chat::RoomDestroyed>(e.what)) {
            directory_.remove_room(e.room);
            shown.erase(e.room);
        }
        local_.room_event(e);
    });
}

void Fanout::remote_invitation(const chat::Invitation& inv) {
    local_.invitation(inv);
}

void Fanout::forget_room(const std::string& node) {
    PERCH_ASSERT_ON(shards_.of(node));
    served_[shards_.index_of(node)].erase(node);
}

}  // namespace perch::pool
