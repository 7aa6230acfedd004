// Managing rooms: settings, member lists, kicks, invitations, deletion, clearing history and
// creating rooms. Each change is checked on the room's shard, written with its compliance
// events on a store thread, and then applied to the room (occupants who may no longer stay
// leave) and published.
#include "chat/room_service_impl.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"

namespace perch::chat {

namespace {

constexpr size_t kMaxRoomName = 256;

std::string describe(const std::vector<std::pair<store::RoomList, Principal>>& entries) {
    std::string out;
    for (const auto& [list, p] : entries) {
        if (!out.empty()) out += ", ";
        out += store::to_string(p) + " (" + std::string(store::to_string(list)) + ")";
    }
    return out;
}

}  // namespace

void RoomService::configure(ConfigureCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) {
        const Subject* who = c.actor.who.get();
        if (auto refused = manager_refusal(room, who, "Only the room's managers may change it"))
            return reply(std::move(*refused));
        const auto& change = c.change;
        if (change.name && (change.name->empty() || util::utf8_length(*change.name) > kMaxRoomName))
            return reply(
                error(Fault::not_acceptable,
                      "A room name has 1 to " + std::to_string(kMaxRoomName) + " characters"));
        store::Room meta = room.meta();
        if (change.name) meta.name = *change.name;
        if (change.description) meta.description = *change.description;
        if (change.addin) meta.addin = *change.addin;
        if (change.privacy) meta.privacy = *change.privacy;
        if (change.type) meta.type = *change.type;
        if (change.invitations) meta.invitations = *change.invitations;
        if (change.disabled) meta.disabled = *change.disabled;
        if (change.occupants_change_subject)
            meta.occupants_change_subject = *change.occupants_change_subject;
        auto target = directory_.category(meta.category_id);
        bool moving = change.category && *change.category != room.category().name;
        if (moving) {
            auto found = directory_.category_named(*change.category);
            if (!found)
                return reply(
                    error(Fault::not_acceptable, "There is no category named " + *change.category));
            if (who && !who->administrator && !may_create_room(*who, *found->second))
                return reply(error(Fault::forbidden,
                                   "A room moves only into a category where you create rooms"));
            meta.category_id = found->first;
            target = found->second;
        }
        // Why those who must leave are leaving.
        const store::Room& before = room.meta();
        Departure why = Departure::affiliation_lost;
        std::string text;
        if (meta.disabled && !before.disabled) {
            why = Departure::members_only;
            text = "This room has been disabled";
        } else if (meta.privacy != store::Privacy::open && before.privacy == store::Privacy::open) {
            why = Departure::members_only;
            text = "This room is now for members only";
        } else if (moving) {
            text = "This room moved to a category you are not allowed in";
        }
        util::JsonFields details{
            {"name", meta.name},
            {"description", meta.description},
            {"privacy", std::string(store::to_string(meta.privacy))},
            {"type", std::string(store::to_string(meta.type))},
            {"invitations", meta.invitations ? "true" : "false"},
            {"disabled", meta.disabled ? "true" : "false"},
            {"occupants_change_subject", meta.occupants_change_subject ? "true" : "false"},
            {"addin", meta.addin},
            {"category", target->name}};
        // The event's details are completed on the store thread (who was dropped, if anybody).
        auto recorded =
            event(room, meta.disabled && !before.disabled ? "ROOMDISABLE" : "ROOMCHANGE", {},
                  c.actor.user());
        struct Outcome {
            std::optional<Error> refused;
            RoomRules rules;
            std::string dropped;
        };
        via_store(
            room.meta().node,
            [meta, moving, target, drop = change.drop_outsiders, details,
             recorded](store::Store& s) mutable {
                Outcome out;
                if (!meta.addin.empty()) {
                    auto addins = s.list_addins();
                    if (std::none_of(addins.begin(), addins.end(),
                                     [&](const auto& a) { return a.name == meta.addin; })) {
                        out.refused =
                            error(Fault::not_acceptable, "There is no add-in named " + meta.addin);
                        return out;
                    }
                }
                std::vector<std::pair<store::RoomList, Principal>> outside;
                if (moving) {
                    outside = outside_category(
                        s.room_principals(meta.id), *target, [&](const std::string& user) {
                            auto groups = s.groups_of(user);
                            return std::set<std::string>(groups.begin(), groups.end());
                        });
                    if (!outside.empty() && !drop) {
                        out.refused = error(
                            Fault::not_acceptable,
                            "Category " + target->name + " does not admit " + describe(outside) +
                                ". Nothing was changed; to move the room and remove them from "
                                "it, submit again with {urn:perch:room:0}drop-outsiders set");
                        return out;
                    }
                }
                out.dropped = describe(outside);
                if (!outside.empty()) details.emplace_back("dropped", out.dropped);
                recorded.content = util::json_object(details);
                s.with_events({recorded}, [&] {
                    s.update_room(meta);
                    for (const auto& [list, p] : outside)
                        s.set_room_principal(meta.id, list, p, false);
                });
                out.rules = room_rules(meta, s.room_principals(meta.id));
                return out;
            },
            [this, meta, moving, target, why, text, reply](Room& room, Outcome out) mutable {
                if (out.refused) return reply(std::move(*out.refused));
                if (moving)
                    spdlog::info("room {} moved to category {}{}", meta.node, target->name,
                                 out.dropped.empty() ? "" : ", dropping " + out.dropped);
                auto& m = room.meta();  // the subject may have moved on meanwhile
                m.name = meta.name;
                m.description = meta.description;
                m.addin = meta.addin;
                m.privacy = meta.privacy;
                m.type = meta.type;
                m.invitations = meta.invitations;
                m.disabled = meta.disabled;
                m.occupants_change_subject = meta.occupants_change_subject;
                m.category_id = meta.category_id;
                apply_rules(room, std::move(out.rules), target, why, text);
                room_changed(room);
                reply(Ok{});
            },
            reply);
    });
}

void RoomService::change_lists(ListsCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) mutable {
            if (auto refused =
                    manager_refusal(room, c.actor.who.get(), "Only managers edit the member lists"))
                return reply(std::move(*refused));
            for (auto& ch : c.changes) {
                if (ch.nick.empty()) continue;
                const Occupant* o = room.by_nick(ch.nick);
                if (!o) return reply(error(Fault::not_found, "No such user here"));
                ch.principal = store::Principal::user(std::string(o->user()));
            }
            std::vector<store::ComplianceEvent> events;
            for (const auto& ch : c.changes)
                events.push_back(event(room, "MEMBERSHIP",
                                       {{"principal", store::to_string(ch.principal)},
                                        {"list", std::string(store::to_string(ch.list))},
                                        {"change", ch.present ? "added" : "removed"}},
                                       c.actor.user()));
            store::Room meta = room.meta();
            via_store(
                room.meta().node,
                [meta, events, changes = c.changes](store::Store& s) {
                    s.with_events(events, [&] {
                        for (const auto& ch : changes)
                            s.set_room_principal(meta.id, ch.list, ch.principal, ch.present);
                    });
                    return room_rules(meta, s.room_principals(meta.id));
                },
                [this, reply, changes = c.changes](Room& room, RoomRules rules) mutable {
                    for (const auto& ch : changes)
                        spdlog::info("{} {} {} the {}s of {}", ch.present ? "added" : "removed",
                                     store::to_string(ch.principal), ch.present ? "to" : "from",
                                     store::to_string(ch.list), room.meta().node);
                    bool ban = std::any_of(changes.begin(), changes.end(), [](const auto& ch) {
                        return ch.list == store::RoomList::denied && ch.present;
                    });
                    apply_rules(room, std::move(rules), room.category_ptr(),
                                ban ? Departure::banned : Departure::affiliation_lost,
                                ban ? "You have been banned from this room"
                                    : "You are no longer a member of this room");
                    room_changed(room);
                    reply(Ok{});
                },
                reply);
        });
}

void RoomService::kick(KickCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) {
        if (auto refused = manager_refusal(room, c.actor.who.get(), "Only managers kick occupants"))
            return reply(std::move(*refused));
        std::vector<std::string> resources;
        auto [first, last] = room.occupants().equal_range(c.nick);
        for (auto o = first; o != last; ++o) {
            // A manager is not kicked (XEP-0045 8.2: owners and admins may not be).
            if (o->second.affiliation == Affiliation::owner)
                return reply(error(Fault::not_allowed, "Managers cannot be kicked"));
            resources.push_back(o->second.full_jid);
        }
        if (resources.empty()) return reply(error(Fault::not_found, "No such occupant"));
        for (const auto& full_jid : resources)
            remove_occupant(room, full_jid, Departure::kicked, c.reason, {});
        reply(Ok{});
    });
}

void RoomService::invite(InviteCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) {
        const Subject* who = c.actor.who.get();
        if (who && !room.may(*who, Action::invite)) {
            spdlog::info("invitation from {} to {} refused", c.actor.full_jid, room.meta().node);
            return reply(error(Fault::forbidden, "Invitations are not allowed in this room"));
        }
        Invitation invitation{room.meta().node, c.actor.full_jid, c.invitee, c.reason};
        // A manager's invitation to a members-only room makes the invitee a member (XEP-0045
        // 7.8.2), before the invitation goes out.
        Subject invitee{c.invitee, {}, false, true};
        bool admit = room.rules().privacy != store::Privacy::open && who &&
                     room.may(*who, Action::configure) && !is_member(invitee, room.rules());
        spdlog::info("{} invited {} to {}{}", c.actor.full_jid, c.invitee, room.meta().node,
                     admit ? " as a member" : "");
        if (!admit) {
            sink_.invitation(invitation);
            return reply(Ok{});
        }
        auto membership = event(room, "MEMBERSHIP",
                                {{"list", "member"},
                                 {"principal", "user:" + c.invitee},
                                 {"change", "added"},
                                 {"by", "invitation"}},
                                c.actor.user());
        store::Room meta = room.meta();
        via_store(
            meta.node,
            [meta, membership, user = c.invitee](store::Store& s) {
                s.with_events({membership}, [&] {
                    s.set_room_principal(meta.id, store::RoomList::member,
                                         store::Principal::user(user), true);
                });
                return room_rules(meta, s.room_principals(meta.id));
            },
            [this, reply, invitation](Room& room, RoomRules rules) mutable {
                room.set_rules(std::move(rules), room.category_ptr());
                room_changed(room);
                sink_.invitation(invitation);  // only once the invitee may enter
                reply(Ok{});
            },
            reply);
    });
}

void RoomService::destroy(DestroyCommand c, Reply<Ok> reply) {
    std::string node = c.room;
    on_room<Ok>(node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<Ok>& reply) {
        const Subject* who = c.actor.who.get();
        if (who && !who->administrator) {
            if (!room.may(*who, Action::find))
                return reply(error(Fault::not_found, "No such room"));
            return reply(
                error(Fault::forbidden, "Managers cannot delete a room; they can disable it"));
        }
        auto deleted = event(room, "ROOMDELETE", {{"reason", c.reason}}, c.actor.user());
        int64_t room_id = room.meta().id;
        via_store(
            room.meta().node,
            [room_id, deleted](store::Store& s) {
                s.with_events({deleted}, [&] { s.delete_room(room_id); });
                return Ok{};
            },
            [this, reply, reason = c.reason](Room& room, Ok) mutable {
                std::vector<std::string> everybody;
                for (const auto& [nick, o] : room.occupants()) everybody.push_back(o.full_jid);
                for (const auto& full_jid : everybody)
                    remove_occupant(room, full_jid, Departure::destroyed, reason, {});
                std::string node = room.meta().node;
                publish(room, RoomDestroyed{reason});
                directory_.remove_room(node);
                state_of(node).rooms.erase(node);  // `room` is gone from here on
                spdlog::info("room {} deleted", node);
                reply(Ok{});
            },
            reply);
    });
}

void RoomService::clear_history(ClearHistoryCommand c, Reply<int64_t> reply) {
    std::string node = c.room;
    on_room<int64_t>(
        node, std::move(reply), [this, c = std::move(c)](Room& room, Reply<int64_t>& reply) {
            if (auto refused =
                    manager_refusal(room, c.actor.who.get(), "Only managers clear a room"))
                return reply(std::move(*refused));
            auto cleared =
                event(room, "CLEARHISTORY",
                      {{"before", util::format_timestamp(c.before_us)},
                       {"by", c.actor.user().empty() ? "administration" : c.actor.user()}},
                      c.actor.user());
            int64_t room_id = room.meta().id;
            via_store(
                room.meta().node,
                [room_id, cleared, before = c.before_us](store::Store& s) {
                    int64_t n = 0;
                    s.with_events({cleared}, [&] { n = s.clear_history(room_id, before); });
                    return n;
                },
                [reply, before = c.before_us](Room& room, int64_t n) mutable {
                    room.forget_before(before);
                    spdlog::info("{} messages of {} cleared", n, room.meta().node);
                    reply(n);
                },
                reply);
        });
}

void RoomService::create(CreateCommand c, Reply<Ok> reply) {
    const Subject* who = c.actor.who.get();
    auto found = directory_.category_named(c.category);
    if (!found || (who && !(who->administrator || in_category(*who, *found->second))))
        return reply(error(Fault::not_found, "No such category"));
    if (who && !who->administrator && !may_create_room(*who, *found->second))
        return reply(error(Fault::forbidden,
                           "Only the creators of category " + c.category + " create rooms in it"));
    if (c.room.name.empty()) c.room.name = c.room.node;
    if (util::utf8_length(c.room.name) > kMaxRoomName)
        return reply(error(Fault::bad_request, "A room name has at most 256 characters"));
    c.room.category_id = found->first;
    auto created = store::make_event("ROOMCREATE", c.actor.user(), c.room.node, c.category,
                                     {{"name", c.room.name},
                                      {"privacy", std::string(store::to_string(c.room.privacy))},
                                      {"type", std::string(store::to_string(c.room.type))},
                                      {"by", c.actor.full_jid.empty() ? "web" : "client"}});
    bool queued = jobs_.submit([this, c, reply, created](store::Store& s) {
        try {
            store::Room r = c.room;
            s.with_events({created}, [&] {
                r.id = s.add_room(r);
                if (c.creator_manages && !c.actor.user().empty())
                    s.set_room_principal(r.id, store::RoomList::manager,
                                         store::Principal::user(c.actor.user()), true);
            });
            auto meta = s.find_room(r.node);
            auto rules = room_rules(*meta, s.room_principals(r.id));
            directory_.put_room(*meta, rules);
            spdlog::info("room {} created by {}", r.node, c.actor.user());
            // The other servers of a pool learn of it as of any change to a room.
            executor_of(r.node).post([this, meta = *meta, rules, category = c.category] {
                sink_.room_event(RoomEvent{meta.node, RoomChanged{meta, rules, category}});
            });
            reply(Ok{});
        } catch (const store::Conflict&) {
            reply(error(Fault::conflict, "A room with that address or name exists"));
        } catch (const std::exception& e) {
            spdlog::error("creating room {} failed: {}", c.room.node, e.what());
            reply(error(Fault::internal, "The room was not created"));
        }
    });
    if (!queued) reply(busy());
}

namespace {
struct Fresh {
    std::optional<store::Room> meta;
    RoomRules rules;
    std::shared_ptr<const CategoryRules> category;
    std::vector<store::Message> recent;
};

Fresh read_room(store::Store& s, const std::string& node, int cache) {
    Fresh f;
    f.meta = s.find_room(node);
    if (!f.meta) return f;
    f.rules = room_rules(*f.meta, s.room_principals(f.meta->id));
    for (const auto& c : s.list_categories())
        if (c.id == f.meta->category_id)
            f.category = std::make_shared<const CategoryRules>(
                category_rules(c, s.category_principals(c.id)));
    f.recent = s.recent_messages(f.meta->id, cache, 0);
    return f;
}
}  // namespace

void RoomService::reload(const std::string& node) {
    int cache = int(history_cache_size());
    executor_of(node).post([this, node, cache] {
        if (!loaded(node)) {
            bool queued = jobs_.submit([this, node](store::Store& s) {
                // A room served elsewhere: its listing also follows that server's events (a
                // new subject), which may come while this reads. What was read is put only if
                // none came; else it is read again, after them (their commits came first).
                for (int attempt = 0; attempt < 3; ++attempt) {
                    uint64_t stamp = directory_.stamp(node);
                    Fresh f = read_room(s, node, 0);
                    if (!f.meta) return directory_.remove_room(node);
                    if (f.category) directory_.put_category(f.meta->category_id, f.category);
                    if (directory_.put_room_if(*f.meta, f.rules, stamp)) return;
                }
                spdlog::warn("room {} not reloaded: it kept changing meanwhile", node);
            });
            if (!queued) spdlog::warn("room {} not reloaded: the store is busy", node);
            return;
        }
        via_store(
            node, [node, cache](store::Store& s) { return read_room(s, node, cache); },
            [this](Room& room, Fresh f) {
                if (!f.meta) return;  // deleted meanwhile: its deletion says so
                if (f.category) directory_.put_category(f.meta->category_id, f.category);
                room.meta() = std::move(*f.meta);
                room.seed_history(std::move(f.recent));
                spdlog::info("room {} reloaded after a change from outside", room.meta().node);
                apply_rules(room, std::move(f.rules), directory_.category(room.meta().category_id),
                            Departure::affiliation_lost, "Changed by an administrator");
                room_changed(room);
            },
            [node](const Error& e) { spdlog::warn("room {} not reloaded: {}", node, e.text); });
    });
}

std::shared_ptr<const Subject> subject_of(store::Store& s, const store::User& user) {
    auto subject = std::make_shared<Subject>();
    subject->user = user.username;
    for (auto& g : s.groups_of(user.username)) subject->groups.insert(std::move(g));
    subject->administrator = user.administrator;
    subject->chat_enabled = chat_enabled(s.policy_for(user.username));
    return subject;
}

void RoomService::refresh_subjects(const std::optional<std::set<std::string>>& users) {
    for (size_t i = 0; i < shards_.size(); ++i)
        shards_.at(i).post([this, i, users] {
            std::set<std::string> here;
            for (const auto& [node, slot] : state_[i].rooms)
                if (slot.room)
                    for (const auto& [nick, o] : slot.room->occupants())
                        if (!users || users->count(std::string(o.user())))
                            here.insert(std::string(o.user()));
            if (here.empty()) return;
            bool queued = jobs_.submit([this, i, here = std::move(here)](store::Store& s) {
                std::map<std::string, std::shared_ptr<const Subject>> fresh;
                for (const auto& name : here)
                    if (auto user = s.find_user(name)) fresh[name] = subject_of(s, *user);
                shards_.at(i).post([this, i, fresh = std::move(fresh)] {
                    for (auto& [node, slot] : state_[i].rooms) {
                        if (!slot.room) continue;
                        Room& room = *slot.room;
                        bool changed = false;
                        for (const auto& [name, who] : fresh)
                            changed |= room.set_subject(name, who);
                        if (changed)
                            apply_rules(room, room.rules(), room.category_ptr(),
                                        Departure::affiliation_lost,
                                        "An administrator changed who may be in this room");
                    }
                });
            });
            if (!queued)
                spdlog::warn("occupants' groups and policy not read again: the store is busy");
        });
}

void RoomService::reload_category(const std::string& name) {
    bool queued = jobs_.submit([this, name](store::Store& s) { reload_category(s, name); });
    if (!queued) spdlog::warn("category {} not reloaded: the store is busy", name);
}

void RoomService::reload_category(store::Store& s, const std::string& name) {
    auto category = s.find_category(name);
    if (!category) return directory_.remove_category(name);  // deleted (it held no room)
    int64_t id = category->id;
    directory_.put_category(id, std::make_shared<const CategoryRules>(
                                    category_rules(*category, s.category_principals(id))));
    for (size_t i = 0; i < shards_.size(); ++i)
        shards_.at(i).post([this, i, id] {
            for (const auto& [node, slot] : state_[i].rooms)
                if (slot.room && slot.room->meta().category_id == id) reload(node);
        });
}

}  // namespace perch::chat
