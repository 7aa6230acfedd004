#include "xmpp/muc_service.hpp"

#include <spdlog/spdlog.h>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_room.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

MucService::MucService(MucConfig config, Router& router, store::StoreWorkers& workers,
                       store::MessageWriter& writer, std::vector<util::ExecutorPtr> shards)
    : config_(std::move(config)), router_(router), workers_(workers), writer_(writer) {
    for (auto& e : shards) {
        auto s = std::make_unique<Shard>();
        s->executor = std::move(e);
        shards_.push_back(std::move(s));
    }
}

MucService::~MucService() = default;

void MucService::load_directory(store::Store& store) {
    std::lock_guard lock(directory_mutex_);
    for (auto& r : store.list_rooms()) directory_[r.node] = r;
}

void MucService::directory_put(const store::Room& room) {
    std::lock_guard lock(directory_mutex_);
    directory_[room.node] = room;
}

size_t MucService::room_count() const {
    std::lock_guard lock(directory_mutex_);
    return directory_.size();
}

MucService::Shard& MucService::shard_for(const std::string& node) {
    return *shards_[std::hash<std::string>{}(node) % shards_.size()];
}

void MucService::note_joined(const std::string& full_jid, const std::string& node) {
    std::lock_guard lock(occupancy_mutex_);
    auto& nodes = occupancy_[full_jid];
    if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
}

void MucService::note_left(const std::string& full_jid, const std::string& node) {
    std::lock_guard lock(occupancy_mutex_);
    auto it = occupancy_.find(full_jid);
    if (it == occupancy_.end()) return;
    std::erase(it->second, node);
    if (it->second.empty()) occupancy_.erase(it);
}

void MucService::handle(xml::Element stanza, const Jid& from, const Jid& to,
                        SessionHandlePtr sender) {
    const std::string& kind = stanza.name();
    std::string type = stanza.attr_or("type");
    if (to.local().empty()) {
        if (kind == "iq") return handle_service_iq(stanza, sender);
        if (type != "error" && !(kind == "presence"))
            sender->deliver(
                Outgoing::element(make_error(stanza, StanzaError::service_unavailable)));
        return;
    }
    if (type == "error") return;  // errors to rooms end here (XEP-0045 bounces are not kept)
    const std::string node = to.local();
    // Only a join (available presence to room/nick) may bring a room into being.
    bool is_join = kind == "presence" && type.empty() && !to.resource().empty();
    std::string create_for = is_join && config_.allow_user_rooms ? from.str() : std::string();
    Shard& shard = shard_for(node);
    shard.executor->post([this, &shard, node, create_for, stanza = std::move(stanza), from, to,
                          sender = std::move(sender)]() mutable {
        with_room(shard, node, create_for,
                  [this, &shard, stanza = std::move(stanza), from, to,
                   sender = std::move(sender)](chat::Room* room) mutable {
                      if (!room) {
                          spdlog::info("{} from {} to unknown room {}", stanza.name(), from.str(),
                                       to.bare_str());
                          if (stanza.name() != "presence" || stanza.attr_or("type").empty())
                              sender->deliver(Outgoing::element(
                                  make_error(stanza, StanzaError::item_not_found)));
                          return;
                      }
                      RoomContext ctx{*this, shard, *room};
                      ctx.dispatch(std::move(stanza), from, to, std::move(sender));
                  });
    });
}

void MucService::with_room(Shard& shard, const std::string& node, const std::string& create_for,
                           std::function<void(chat::Room*)> then) {
    auto it = shard.rooms.find(node);
    if (it != shard.rooms.end()) {
        if (it->second.room) return then(it->second.room.get());
        it->second.waiting.push_back(std::move(then));  // a load is under way
        return;
    }
    shard.rooms[node].waiting.push_back(std::move(then));
    size_t cache = std::max<size_t>(config_.history_cache, size_t(config_.default_history));
    std::string category = config_.default_category;
    bool queued =
        workers_.submit([this, &shard, node, create_for, cache, category](store::Store& s) {
            std::optional<store::Room> meta;
            std::vector<store::Message> recent;
            std::string creator;
            try {
                meta = s.find_room(node);
                if (!meta && !create_for.empty()) {
                    auto cat = s.find_category(category);
                    store::Room r;
                    r.node = node;
                    r.name = node;
                    if (cat) {
                        r.category_id = cat->id;
                    } else {
                        store::Category c;
                        c.name = category;
                        r.category_id = s.add_category(c);
                    }
                    r.id = s.add_room(r);
                    meta = s.find_room(node);
                    creator = create_for;
                    spdlog::info("room {} created by {}", node, create_for);
                }
                if (meta) recent = s.recent_messages(meta->id, int(cache), 0);
            } catch (const std::exception& e) {
                spdlog::error("loading room {} failed: {}", node, e.what());
                meta.reset();
            }
            shard.executor->post([this, &shard, node, meta = std::move(meta),
                                  recent = std::move(recent), creator]() mutable {
                finish_load(shard, node, std::move(meta), std::move(recent), creator);
            });
        });
    if (!queued) finish_load(shard, node, std::nullopt, {}, {});
}

void MucService::finish_load(Shard& shard, const std::string& node, std::optional<store::Room> meta,
                             std::vector<store::Message> recent, const std::string& creator) {
    auto it = shard.rooms.find(node);
    if (it == shard.rooms.end()) return;
    auto waiting = std::move(it->second.waiting);
    if (!meta) {
        shard.rooms.erase(it);
        for (auto& w : waiting) w(nullptr);
        return;
    }
    directory_put(*meta);
    size_t cache = std::max<size_t>(config_.history_cache, size_t(config_.default_history));
    it->second.room = std::make_unique<chat::Room>(std::move(*meta), cache);
    it->second.room->seed_history(std::move(recent));
    it->second.creator = creator;
    chat::Room* room = it->second.room.get();
    for (auto& w : waiting) w(room);
}

void MucService::session_gone(const Jid& full) {
    std::vector<std::string> nodes;
    {
        std::lock_guard lock(occupancy_mutex_);
        auto it = occupancy_.find(full.str());
        if (it == occupancy_.end()) return;
        nodes = std::move(it->second);
        occupancy_.erase(it);
    }
    for (const auto& node : nodes) {
        Shard& shard = shard_for(node);
        shard.executor->post([this, &shard, node, full] {
            auto it = shard.rooms.find(node);
            if (it == shard.rooms.end() || !it->second.room) return;
            RoomContext ctx{*this, shard, *it->second.room};
            ctx.leave(full.str(), {});
        });
    }
}

void MucService::handle_service_iq(const xml::Element& iq, SessionHandlePtr sender) {
    std::string type = iq.attr_or("type");
    if (type != "get" && type != "set") return;
    const xml::Element* q = iq.first_element();
    if (type == "get" && q && q->is("query", ns::disco_info) && !q->attr("node")) {
        auto reply = make_iq_result(iq);
        auto& query = reply.add_child("query", std::string(ns::disco_info));
        auto& id = query.add_child("identity", std::string(ns::disco_info));
        id.set_attr("category", "conference");
        id.set_attr("type", "text");
        id.set_attr("name", "Chat rooms");
        for (auto f : {ns::disco_info, ns::disco_items, ns::muc, ns::sid, ns::occupant_id})
            query.add_child("feature", std::string(ns::disco_info)).set_attr("var", std::string(f));
        return sender->deliver(Outgoing::element(reply));
    }
    if (type == "get" && q && q->is("query", ns::disco_items) && !q->attr("node")) {
        auto reply = make_iq_result(iq);
        auto& query = reply.add_child("query", std::string(ns::disco_items));
        std::lock_guard lock(directory_mutex_);
        for (const auto& [node, room] : directory_) {
            if (room.privacy == store::Privacy::secret || room.disabled) continue;
            auto& item = query.add_child("item", std::string(ns::disco_items));
            item.set_attr("jid", node + "@" + config_.domain);
            item.set_attr("name", room.name);
        }
        return sender->deliver(Outgoing::element(reply));
    }
    if (q && q->is("ping", ns::ping)) return sender->deliver(Outgoing::element(make_iq_result(iq)));
    sender->deliver(Outgoing::element(make_error(iq, StanzaError::service_unavailable)));
}

}  // namespace perch::xmpp
