// Reading rooms: archive pages, searches across rooms, what discovery shows of a room, its
// occupants and its member lists.
#include <set>

#include "chat/room_service_impl.hpp"

namespace perch::chat {

void RoomService::archive(ArchiveCommand c, Reply<store::ArchivePage> reply) {
    std::string node = c.room;
    on_room<store::ArchivePage>(
        node, std::move(reply),
        [this, c = std::move(c)](Room& room, Reply<store::ArchivePage>& reply) mutable {
            const Subject* who = c.actor.who.get();
            if (who && !room.may(*who, Action::find)) return reply(error(Fault::not_found));
            if (who && !room.may(*who, Action::read_history))
                return reply(error(Fault::forbidden, "You may not read this room's history"));
            c.query.room_id = room.meta().id;
            std::optional<store::ComplianceEvent> viewed;
            if (config_.compliance)
                viewed = event(room, "BACKCHAT",
                               {{"on", "archive"},
                                {"text", c.query.text},
                                {"max", std::to_string(c.query.max)}},
                               c.actor.user());
            auto lane =
                c.query.text.empty() ? store::StoreJobs::Lane::quick : store::StoreJobs::Lane::slow;
            // The page goes straight from the store thread to the caller: nothing in the room
            // changes.
            bool queued = jobs_.submit(
                [this, q = std::move(c.query), viewed, reply,
                 node = room.meta().node](store::Store& s) {
                    try {
                        if (viewed) s.record({*viewed});  // on record before anything is shown
                        auto started = std::chrono::steady_clock::now();
                        auto page = s.query_archive(q);
                        archive_seconds_.observe_since(started);
                        reply(std::move(page));
                    } catch (const store::UnknownId& e) {
                        reply(error(Fault::not_found, e.what()));
                    } catch (const std::exception& e) {
                        spdlog::error("archive query on {} failed: {}", node, e.what());
                        reply(error(Fault::internal, "The archive could not be read"));
                    }
                },
                lane);
            if (!queued) reply(busy());
        });
}

void RoomService::search(SearchCommand c, Reply<SearchResult> reply) {
    const Subject* who = c.actor.who.get();
    if (!who) return reply(error(Fault::forbidden));
    // The rooms this user may search, and their nodes for the results.
    auto rooms = directory_.searchable_rooms(*who);
    c.query.room_ids.clear();
    for (const auto& [id, node] : rooms) c.query.room_ids.push_back(id);
    if (c.query.room_ids.empty()) {
        SearchResult none;
        none.page.complete = true;
        return reply(std::move(none));
    }
    std::optional<store::ComplianceEvent> viewed;
    if (config_.compliance)
        viewed = store::make_event(
            "BACKCHAT", who->user, {}, {},
            {{"on", "search"}, {"text", c.query.text}, {"max", std::to_string(c.query.max)}});
    bool queued = jobs_.submit(
        [this, c = std::move(c), rooms = std::move(rooms), viewed, reply](store::Store& s) mutable {
            try {
                if (viewed) s.record({*viewed});
                SearchResult result;
                if (c.followed_only) {
                    // The activity feed: only the rooms the user follows.
                    std::set<std::string> followed;
                    if (config_.followed_rooms)
                        for (auto& node : config_.followed_rooms(s, c.actor.user()))
                            followed.insert(std::move(node));
                    std::erase_if(c.query.room_ids,
                                  [&](int64_t id) { return !followed.count(rooms.at(id)); });
                    if (c.query.room_ids.empty()) {
                        result.page.complete = true;
                        return reply(std::move(result));
                    }
                }
                auto started = std::chrono::steady_clock::now();
                result.page = s.query_archive(c.query);
                search_seconds_.observe_since(started);
                for (const auto& m : result.page.messages)
                    result.rooms[m.room_id] = rooms.at(m.room_id);
                reply(std::move(result));
            } catch (const store::UnknownId& e) {
                reply(error(Fault::not_found, e.what()));
            } catch (const std::exception& e) {
                spdlog::error("search across rooms failed: {}", e.what());
                reply(error(Fault::internal, std::string("Search failed: ") + e.what()));
            }
        },
        store::StoreJobs::Lane::slow);
    if (!queued) reply(busy());
}

void RoomService::info(std::string room_node, Actor actor, Reply<RoomInfo> reply) {
    on_room<RoomInfo>(room_node, std::move(reply),
                      [this, actor = std::move(actor)](Room& room, Reply<RoomInfo>& reply) {
                          const Subject* who = actor.who.get();
                          // A room one may not find answers like a room that does not exist.
                          if (who && !room.may(*who, Action::find))
                              return reply(error(Fault::not_found));
                          RoomInfo info;
                          info.meta = room.meta();
                          info.rules = room.rules();
                          info.category = room.category().name;
                          info.addin_url = directory_.addin_url(room.meta().addin);
                          info.occupants = room.occupant_count();
                          info.may_configure = !who || room.may(*who, Action::configure);
                          if (info.may_configure) {
                              std::set<std::string> choices{info.category};
                              if (who)
                                  for (auto& name : directory_.creatable_categories(*who))
                                      choices.insert(name);
                              info.move_targets.assign(choices.begin(), choices.end());
                          }
                          reply(std::move(info));
                      });
}

void RoomService::occupants(std::string room_node, Actor actor,
                            Reply<std::vector<std::string>> reply) {
    on_room<std::vector<std::string>>(
        room_node, std::move(reply),
        [actor = std::move(actor)](Room& room, Reply<std::vector<std::string>>& reply) {
            if (actor.who && !room.may(*actor.who, Action::find))
                return reply(error(Fault::not_found));
            std::vector<std::string> nicks;
            // The list names who is there: for occupants only.
            if (room.by_jid(actor.full_jid)) {
                for (const auto& [nick, o] : room.occupants())
                    if (nicks.empty() || nicks.back() != nick) nicks.push_back(nick);
            }
            reply(std::move(nicks));
        });
}

void RoomService::lists(std::string room_node, Actor actor,
                        Reply<std::vector<std::pair<store::RoomList, store::Principal>>> reply) {
    using Lists = std::vector<std::pair<store::RoomList, store::Principal>>;
    on_room<Lists>(
        room_node, std::move(reply),
        [this, actor = std::move(actor)](Room& room, Reply<Lists>& reply) {
            const Subject* who = actor.who.get();
            if (who && !room.may(*who, Action::find))
                return reply(error(Fault::not_found, "No such room"));
            if (who && !room.may(*who, Action::configure))
                return reply(error(Fault::forbidden, "Only managers see the member lists"));
            // Read fresh from the store: the lists are the store's, the room keeps rules only.
            bool queued = jobs_.submit([id = room.meta().id, reply](store::Store& s) {
                try {
                    reply(s.room_principals(id));
                } catch (const std::exception& e) {
                    reply(error(Fault::internal, e.what()));
                }
            });
            if (!queued) reply(busy());
        });
}

void RoomService::mark_read(std::string room_node, Actor actor, Reply<Ok> reply) {
    if (!actor.who || !directory_.room_for(*actor.who, room_node, Action::read_history))
        return reply(error(Fault::not_found, "No room you may read has that JID"));
    bool queued = jobs_.submit([room_node, user = actor.user(), reply](store::Store& s) {
        try {
            if (auto now = s.find_room(room_node)) s.mark_read({{user, now->id, now->last_seq}});
            reply(Ok{});
        } catch (const std::exception& e) {
            spdlog::error("marking {} read for {} failed: {}", room_node, user, e.what());
            reply(error(Fault::internal, "The mark was not stored"));
        }
    });
    if (!queued) reply(busy());
}

void RoomService::following(Actor actor, Reply<std::vector<Followed>> reply) {
    // Unread counts stop here: "500 or more" is as useful as an exact figure and costs less.
    constexpr int64_t kUnreadCap = 500;
    if (!actor.who) return reply(error(Fault::forbidden));
    bool queued = jobs_.submit([this, actor, reply](store::Store& s) {
        try {
            std::vector<Followed> rooms;
            if (config_.followed_rooms)
                for (const auto& node : config_.followed_rooms(s, actor.user()))
                    if (auto room = directory_.room_for(*actor.who, node, Action::read_history))
                        rooms.push_back({std::move(room->meta), 0, false, std::nullopt});
            std::vector<int64_t> ids;
            ids.reserve(rooms.size());
            for (const auto& r : rooms) ids.push_back(r.meta.id);
            auto activity = s.room_activity(actor.user(), ids, kUnreadCap);
            for (size_t i = 0; i < rooms.size(); ++i) {
                rooms[i].unread = activity[i].unread;
                rooms[i].more = activity[i].unread >= kUnreadCap;
                rooms[i].newest = std::move(activity[i].newest);
            }
            reply(std::move(rooms));
        } catch (const std::exception& e) {
            spdlog::error("unread counts for {} failed: {}", actor.user(), e.what());
            reply(error(Fault::internal, "The counts could not be read"));
        }
    });
    if (!queued) reply(busy());
}

}  // namespace perch::chat
