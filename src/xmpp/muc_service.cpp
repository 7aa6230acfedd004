#include "xmpp/muc_service.hpp"

#include <spdlog/spdlog.h>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "xmpp/bookmarks.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_room.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {
// disco#items nodes of the chat service: the category list, and one node per category.
constexpr const char* kCategoriesNode = "categories";
constexpr const char* kCategoryNodePrefix = "category/";
}  // namespace

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
    for (auto& c : store.list_categories()) {
        categories_[c.id] = std::make_shared<const chat::CategoryRules>(
            chat::category_rules(c, store.category_principals(c.id)));
        category_ids_[c.name] = c.id;
    }
    for (auto& r : store.list_rooms())
        directory_[r.node] = {r, chat::room_rules(r, store.room_principals(r.id))};
}

void MucService::directory_put(const store::Room& room, const chat::RoomRules& rules) {
    std::lock_guard lock(directory_mutex_);
    directory_[room.node] = {room, rules};
}

std::shared_ptr<const chat::CategoryRules> MucService::category_rules(int64_t category_id) const {
    std::lock_guard lock(directory_mutex_);
    auto it = categories_.find(category_id);
    // A category unknown here (made after start) admits nobody until the server reloads it.
    return it != categories_.end() ? it->second : std::make_shared<const chat::CategoryRules>();
}

std::optional<std::pair<int64_t, std::shared_ptr<const chat::CategoryRules>>>
MucService::category_named(const std::string& name) const {
    std::lock_guard lock(directory_mutex_);
    auto id = category_ids_.find(name);
    if (id == category_ids_.end()) return std::nullopt;
    auto rules = categories_.find(id->second);
    if (rules == categories_.end()) return std::nullopt;
    return std::pair{id->second, rules->second};
}

std::vector<std::string> MucService::creatable_categories(const chat::Subject& who) const {
    std::lock_guard lock(directory_mutex_);
    std::vector<std::string> out;
    for (const auto& [name, id] : category_ids_) {
        auto rules = categories_.find(id);
        if (rules != categories_.end() &&
            (who.administrator || chat::may_create_room(who, *rules->second)))
            out.push_back(name);
    }
    return out;
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
                        SessionHandlePtr sender, std::shared_ptr<const chat::Subject> who) {
    if (!who) return;  // only authenticated sessions get here
    const std::string& kind = stanza.name();
    std::string type = stanza.attr_or("type");
    if (to.local().empty()) {
        if (kind == "iq") return handle_service_iq(stanza, sender, *who);
        if (type != "error" && !(kind == "presence"))
            sender->deliver(
                Outgoing::element(make_error(stanza, StanzaError::service_unavailable)));
        return;
    }
    if (type == "error") return;  // errors to rooms end here (XEP-0045 bounces are not kept)
    const std::string node = to.local();
    // Only a join (available presence to room/nick) may bring a room into being.
    bool is_join = kind == "presence" && type.empty() && !to.resource().empty();
    std::string create_for, create_in;
    if (is_join && config_.allow_user_rooms) {
        // Rooms come into being only for category creators: in the default category when they
        // create rooms there, else in the first one where they do (the owner's config form
        // moves the room to any other of theirs).
        auto mine = creatable_categories(*who);
        if (std::find(mine.begin(), mine.end(), config_.default_category) != mine.end())
            create_in = config_.default_category;
        else if (!mine.empty())
            create_in = mine.front();
        if (!create_in.empty()) create_for = from.str();
    }
    Shard& shard = shard_for(node);
    shard.executor->post([this, &shard, node, create_for, create_in, stanza = std::move(stanza),
                          from, to, sender = std::move(sender), who = std::move(who)]() mutable {
        with_room(shard, node, create_for, create_in,
                  [this, &shard, stanza = std::move(stanza), from, to, sender = std::move(sender),
                   who = std::move(who)](chat::Room* room) mutable {
                      if (!room) {
                          spdlog::info("{} from {} to unknown room {}", stanza.name(), from.str(),
                                       to.bare_str());
                          if (stanza.name() != "presence" || stanza.attr_or("type").empty())
                              sender->deliver(Outgoing::element(
                                  make_error(stanza, StanzaError::item_not_found)));
                          return;
                      }
                      RoomContext ctx{*this, shard, *room, std::move(who)};
                      ctx.dispatch(std::move(stanza), from, to, std::move(sender));
                  });
    });
}

void MucService::with_room(Shard& shard, const std::string& node, const std::string& create_for,
                           const std::string& category, std::function<void(chat::Room*)> then) {
    auto it = shard.rooms.find(node);
    if (it != shard.rooms.end()) {
        if (it->second.room) return then(it->second.room.get());
        it->second.waiting.push_back(std::move(then));  // a load is under way
        return;
    }
    shard.rooms[node].waiting.push_back(std::move(then));
    size_t cache = std::max<size_t>(config_.history_cache, size_t(config_.default_history));
    bool queued = workers_.submit([this, &shard, node, create_for, cache,
                                   category](store::Store& s) {
        Loaded loaded;
        try {
            loaded.meta = s.find_room(node);
            auto cat = create_for.empty() ? std::nullopt : s.find_category(category);
            if (!loaded.meta && cat) {
                store::Room r;
                r.node = node;
                r.name = node;
                r.category_id = cat->id;
                auto creator = Jid::parse(create_for);
                std::string user = creator ? creator->local() : std::string();
                s.with_events(
                    {store::make_event(
                        "ROOMCREATE", user, node, cat->name,
                        {{"name", node}, {"privacy", "open"}, {"type", "normal"}, {"by", "join"}})},
                    [&] {
                        r.id = s.add_room(r);
                        // The creator manages the room they made.
                        if (creator)
                            s.set_room_principal(r.id, store::RoomList::manager,
                                                 store::Principal::user(user), true);
                    });
                loaded.meta = s.find_room(node);
                loaded.creator = create_for;
                spdlog::info("room {} created by {}", node, create_for);
            }
            if (loaded.meta) {
                loaded.rules = chat::room_rules(*loaded.meta, s.room_principals(loaded.meta->id));
                for (const auto& c : s.list_categories())
                    if (c.id == loaded.meta->category_id)
                        loaded.category = std::make_shared<const chat::CategoryRules>(
                            chat::category_rules(c, s.category_principals(c.id)));
                loaded.recent = s.recent_messages(loaded.meta->id, int(cache), 0);
            }
        } catch (const std::exception& e) {
            spdlog::error("loading room {} failed: {}", node, e.what());
            loaded.meta.reset();
        }
        shard.executor->post([this, &shard, node, loaded = std::move(loaded)]() mutable {
            finish_load(shard, node, std::move(loaded));
        });
    });
    if (!queued) finish_load(shard, node, {});
}

void MucService::finish_load(Shard& shard, const std::string& node, Loaded loaded) {
    auto it = shard.rooms.find(node);
    if (it == shard.rooms.end()) return;
    auto waiting = std::move(it->second.waiting);
    if (!loaded.meta) {
        shard.rooms.erase(it);
        for (auto& w : waiting) w(nullptr);
        return;
    }
    directory_put(*loaded.meta, loaded.rules);
    if (loaded.category) {
        // The freshest word on the category, for this room and for discovery.
        std::lock_guard lock(directory_mutex_);
        categories_[loaded.meta->category_id] = loaded.category;
        category_ids_[loaded.category->name] = loaded.meta->category_id;
    }
    size_t cache = std::max<size_t>(config_.history_cache, size_t(config_.default_history));
    auto category = category_rules(loaded.meta->category_id);
    it->second.room = std::make_unique<chat::Room>(std::move(*loaded.meta), cache);
    it->second.room->set_rules(std::move(loaded.rules), std::move(category));
    it->second.room->seed_history(std::move(loaded.recent));
    it->second.creator = loaded.creator;
    chat::Room* room = it->second.room.get();
    for (auto& w : waiting) w(room);
}

void MucService::forget_before(int64_t before_us) {
    for (auto& shard : shards_) {
        Shard* s = shard.get();
        s->executor->post([s, before_us] {
            for (auto& [node, slot] : s->rooms)
                if (slot.room) slot.room->forget_before(before_us);
        });
    }
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
            RoomContext ctx{*this, shard, *it->second.room, {}};
            ctx.leave(full.str(), {});
        });
    }
}

void MucService::handle_service_iq(const xml::Element& iq, SessionHandlePtr sender,
                                   const chat::Subject& who) {
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
        for (auto f : {ns::disco_info, ns::disco_items, ns::muc, ns::sid, ns::occupant_id, ns::mam,
                       ns::following})
            query.add_child("feature", std::string(ns::disco_info)).set_attr("var", std::string(f));
        return sender->deliver(Outgoing::element(reply));
    }
    if (type == "get" && q && q->is("query", ns::disco_items)) {
        const std::string* node = q->attr("node");
        if (!node) return sender->deliver(Outgoing::element(list_rooms(iq, who, nullptr)));
        if (*node == kCategoriesNode) {
            // The categories this user is allowed in, each a node listing its rooms.
            auto reply = make_iq_result(iq);
            auto& query = reply.add_child("query", std::string(ns::disco_items));
            query.set_attr("node", *node);
            for (const auto& category : categories_for(who)) {
                auto& item = query.add_child("item", std::string(ns::disco_items));
                item.set_attr("jid", config_.domain);
                item.set_attr("node", std::string(kCategoryNodePrefix) + category.name);
                item.set_attr("name", category.name);
            }
            return sender->deliver(Outgoing::element(reply));
        }
        if (node->starts_with(kCategoryNodePrefix)) {
            std::string name = node->substr(std::string_view(kCategoryNodePrefix).size());
            return sender->deliver(Outgoing::element(list_rooms(iq, who, &name)));
        }
        return sender->deliver(Outgoing::element(make_error(iq, StanzaError::item_not_found)));
    }
    if (q && q->is("ping", ns::ping)) return sender->deliver(Outgoing::element(make_iq_result(iq)));
    if (q && q->is("query", ns::mam)) {
        if (type == "get") {
            auto r = make_iq_result(iq);
            r.add_child("query", std::string(ns::mam)).add(mam::query_form(true));
            return sender->deliver(Outgoing::element(r));
        }
        return search_all_rooms(iq, *q, std::move(sender), who);
    }
    if (q && type == "get" && q->is("following", ns::following))
        return on_following(iq, std::move(sender), who);
    if (q && type == "set" && q->is("read", ns::following))
        return on_mark_read(iq, *q, std::move(sender), who);
    sender->deliver(Outgoing::element(make_error(iq, StanzaError::service_unavailable)));
}

xml::Element MucService::list_rooms(const xml::Element& iq, const chat::Subject& who,
                                    const std::string* category) const {
    auto reply = make_iq_result(iq);
    auto& query = reply.add_child("query", std::string(ns::disco_items));
    if (const std::string* node = iq.first_element()->attr("node")) query.set_attr("node", *node);
    std::lock_guard lock(directory_mutex_);
    // Only the rooms this user may find: never a secret room to a non-member.
    for (const auto& [node, listing] : directory_) {
        auto rules = categories_.find(listing.meta.category_id);
        if (rules == categories_.end() || (category && rules->second->name != *category) ||
            !chat::may(who, *rules->second, listing.rules, chat::Action::find))
            continue;
        auto& item = query.add_child("item", std::string(ns::disco_items));
        item.set_attr("jid", node + "@" + config_.domain);
        item.set_attr("name", listing.meta.name);
    }
    return reply;
}

void MucService::search_all_rooms(const xml::Element& iq, const xml::Element& query,
                                  SessionHandlePtr sender, const chat::Subject& who) {
    auto parsed = mam::parse_query(query, config_.domain);
    if (auto* err = std::get_if<mam::QueryError>(&parsed))
        return sender->deliver(Outgoing::element(make_error(iq, err->condition, err->text)));
    auto q = std::get<store::ArchiveQuery>(std::move(parsed));
    // The rooms this user may search, and their addresses for the results.
    auto addresses = std::make_shared<std::map<int64_t, std::string>>(searchable_rooms(who));
    for (const auto& [id, jid] : *addresses) q.room_ids.push_back(id);
    if (q.room_ids.empty()) {
        store::ArchivePage none;
        none.complete = true;
        return sender->deliver(Outgoing::element(mam::render_fin(iq, none)));
    }
    std::optional<store::ComplianceEvent> viewed;
    if (config_.compliance)
        viewed =
            store::make_event("BACKCHAT", who.user, {}, {},
                              {{"on", "search"}, {"text", q.text}, {"max", std::to_string(q.max)}});
    bool queued = workers_.submit(
        [q = std::move(q), iq, sender, addresses, service = config_.domain,
         followed = mam::followed_only(query), user = who.user, viewed,
         query_id = query.attr_or("queryid")](store::Store& s) mutable {
            try {
                if (viewed) s.record({*viewed});
                if (followed) {
                    // The activity feed: only the rooms the user follows (has bookmarked).
                    std::set<std::string> bookmarked;
                    if (auto items = s.pep_items(user, bookmarks::kNode))
                        for (const auto& [room_jid, payload] : *items) bookmarked.insert(room_jid);
                    std::erase_if(q.room_ids,
                                  [&](int64_t id) { return !bookmarked.count(addresses->at(id)); });
                    if (q.room_ids.empty()) {
                        store::ArchivePage none;
                        none.complete = true;
                        return sender->deliver(Outgoing::element(mam::render_fin(iq, none)));
                    }
                }
                auto page = s.query_archive(q);
                std::string to = iq.attr_or("from");
                for (const auto& m : page.messages)
                    sender->deliver(
                        mam::render_result(m, addresses->at(m.room_id), to, query_id, service));
                sender->deliver(Outgoing::element(mam::render_fin(iq, page)));
            } catch (const store::UnknownId& e) {
                sender->deliver(
                    Outgoing::element(make_error(iq, StanzaError::item_not_found, e.what())));
            } catch (const std::exception& e) {
                spdlog::error("search across rooms failed: {}", e.what());
                sender->deliver(
                    Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
            }
        },
        store::StoreWorkers::Lane::slow);
    if (!queued)
        sender->deliver(Outgoing::element(make_error(iq, StanzaError::resource_constraint)));
}

}  // namespace perch::xmpp
