// Room administration for the web API: the same rules and code paths as the XMPP owner form
// and member lists, entered without a stanza. Checks run on the room's shard, writes on a store
// thread, and the new rules go back to the shard (occupants who may no longer stay leave).
#include <spdlog/spdlog.h>

#include "xmpp/muc_room.hpp"
#include "xmpp/muc_service.hpp"

namespace perch::xmpp {

namespace {
using Refusal = MucService::Refusal;
}  // namespace

void MucService::with_managed_room(std::shared_ptr<const chat::Subject> who,
                                   const std::string& node, Done done,
                                   std::function<void(RoomContext&)> then) {
    Shard& shard = shard_for(node);
    shard.executor->post([this, &shard, who = std::move(who), node, done = std::move(done),
                          then = std::move(then)]() mutable {
        with_room(shard, node, {}, {}, [this, &shard, who, done, then](chat::Room* room) {
            if (!room) return done(Refusal{StanzaError::item_not_found, "No such room"});
            RoomContext ctx{*this, shard, *room, who};
            // A room one may not find answers like a room that does not exist.
            if (!ctx.may(chat::Action::find))
                return done(Refusal{StanzaError::item_not_found, "No such room"});
            if (!ctx.may(chat::Action::configure))
                return done(
                    Refusal{StanzaError::forbidden, "Only the room's managers may change it"});
            then(ctx);
        });
    });
}

void MucService::configure_room(std::shared_ptr<const chat::Subject> who, const std::string& node,
                                xml::Element form, Done done) {
    with_managed_room(std::move(who), node, done, [form = std::move(form), done](RoomContext& ctx) {
        ctx.configure(form, done);
    });
}

void MucService::change_room_list(std::shared_ptr<const chat::Subject> who, const std::string& node,
                                  store::RoomList list, store::Principal principal, bool add,
                                  Done done) {
    with_managed_room(who, node, done, [this, list, principal, add, done](RoomContext& ctx) {
        int64_t room_id = ctx.room.meta().id;
        std::string node = ctx.room.meta().node;
        Shard* shard = &ctx.shard;
        auto membership = ctx.event("MEMBERSHIP", {{"principal", store::to_string(principal)},
                                                   {"list", std::string(store::to_string(list))},
                                                   {"change", add ? "added" : "removed"}});
        bool queued = workers_.submit([=, this](store::Store& s) {
            try {
                s.with_events({membership},
                              [&] { s.set_room_principal(room_id, list, principal, add); });
                auto meta = s.find_room(node);
                auto rules = chat::room_rules(*meta, s.room_principals(room_id));
                spdlog::info("{} {} {} the {}s of {}", add ? "added" : "removed",
                             store::to_string(principal), add ? "to" : "from",
                             store::to_string(list), node);
                shard->executor->post([=, this] {
                    auto it = shard->rooms.find(node);
                    if (it != shard->rooms.end() && it->second.room) {
                        RoomContext room{*this, *shard, *it->second.room, {}};
                        room.apply_rules(rules, category_rules(meta->category_id), 321,
                                         "You are no longer a member of this room");
                    }
                    directory_put(*meta, rules);
                    done(std::nullopt);
                });
            } catch (const std::exception& e) {
                spdlog::error("changing the lists of {} failed: {}", node, e.what());
                done(Refusal{StanzaError::internal_server_error, "The change was not stored"});
            }
        });
        if (!queued) done(Refusal{StanzaError::resource_constraint, "Server busy, try again"});
    });
}

void MucService::create_room(std::shared_ptr<const chat::Subject> who, store::Room room,
                             const std::string& category, Done done) {
    auto found = category_named(category);
    if (!found || !(who->administrator || chat::in_category(*who, *found->second)))
        return done(Refusal{StanzaError::item_not_found, "No such category"});
    if (!who->administrator && !chat::may_create_room(*who, *found->second))
        return done(Refusal{StanzaError::forbidden,
                            "Only the creators of category " + category + " create rooms in it"});
    room.category_id = found->first;
    auto created = store::make_event("ROOMCREATE", who->user, room.node, category,
                                     {{"name", room.name},
                                      {"privacy", std::string(store::to_string(room.privacy))},
                                      {"type", std::string(store::to_string(room.type))},
                                      {"by", "web"}});
    bool queued = workers_.submit([this, who, room, done, created](store::Store& s) {
        try {
            store::Room r = room;
            s.with_events({created}, [&] {
                r.id = s.add_room(r);
                s.set_room_principal(r.id, store::RoomList::manager,
                                     store::Principal::user(who->user), true);
            });
            auto meta = s.find_room(r.node);
            directory_put(*meta, chat::room_rules(*meta, s.room_principals(r.id)));
            spdlog::info("room {} created by {} from the web", r.node, who->user);
            done(std::nullopt);
        } catch (const store::Conflict& e) {
            done(Refusal{StanzaError::conflict, "A room with that address or name exists"});
        } catch (const std::exception& e) {
            spdlog::error("creating room {} failed: {}", room.node, e.what());
            done(Refusal{StanzaError::internal_server_error, "The room was not created"});
        }
    });
    if (!queued) done(Refusal{StanzaError::resource_constraint, "Server busy, try again"});
}

std::vector<MucService::RoomView> MucService::rooms_for(const chat::Subject& who) const {
    std::vector<RoomView> out;
    std::lock_guard lock(directory_mutex_);
    for (const auto& [node, listing] : directory_) {
        auto category = categories_.find(listing.meta.category_id);
        if (category == categories_.end() ||
            !chat::may(who, *category->second, listing.rules, chat::Action::find))
            continue;
        RoomView v{listing.meta, listing.rules, category->second->name};
        v.manager = chat::is_manager(who, listing.rules);
        v.member = chat::is_member(who, listing.rules);
        v.presenter = chat::matches(who, listing.rules.presenters);
        out.push_back(std::move(v));
    }
    return out;
}

std::optional<MucService::RoomView> MucService::room_for(const chat::Subject& who,
                                                         const std::string& node) const {
    for (auto& v : rooms_for(who))
        if (v.meta.node == node) return v;
    return std::nullopt;
}

std::vector<MucService::CategoryView> MucService::categories_for(const chat::Subject& who) const {
    std::vector<CategoryView> out;
    std::lock_guard lock(directory_mutex_);
    for (const auto& [name, id] : category_ids_) {
        auto rules = categories_.find(id);
        if (rules == categories_.end() ||
            !(who.administrator || chat::in_category(who, *rules->second)))
            continue;
        out.push_back({name, who.administrator || chat::may_create_room(who, *rules->second)});
    }
    return out;
}

std::map<int64_t, std::string> MucService::searchable_rooms(const chat::Subject& who) const {
    std::map<int64_t, std::string> out;
    std::lock_guard lock(directory_mutex_);
    for (const auto& [node, listing] : directory_) {
        auto category = categories_.find(listing.meta.category_id);
        if (category != categories_.end() &&
            chat::may(who, *category->second, listing.rules, chat::Action::search))
            out[listing.meta.id] = node + "@" + config_.domain;
    }
    return out;
}

}  // namespace perch::xmpp
