// Loading rooms: the first command of a room that is not loaded waits while the room is read
// from the store (and, in a pool, claimed). Loads asked for at about the same time are read
// together, on one store thread, ahead of other store work: when a pool moves thousands of
// rooms at once, their commands wait for a few statements rather than for a few per room,
// queued behind their users' logins.
#include "chat/room_service.hpp"
#include "chat/room_service_impl.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace perch::chat {

struct RoomService::Loaded {
    std::optional<Error> failed;
    std::optional<store::Room> meta;
    RoomRules rules;
    std::shared_ptr<const CategoryRules> category;  // read fresh with the room
    std::vector<store::Message> recent;
    std::string creator;
    int64_t epoch = 0;
    bool held_elsewhere = false;  // another live server holds its claim
};

void RoomService::with_room(const std::string& node, Loading then, const std::string& create_in,
                            const std::string& creator) {
    PERCH_ASSERT_ON(executor_of(node));
    auto& rooms = state_of(node).rooms;
    auto it = rooms.find(node);
    if (it != rooms.end()) {
        if (it->second.room) return then(it->second.room.get(), std::nullopt);
        it->second.waiting.push_back(std::move(then));  // a load is under way
        return;
    }
    rooms[node].waiting.push_back(std::move(then));
    load({node, create_in, creator, 0});
}

void RoomService::load(LoadRequest request) {
    bool start = false;
    {
        std::lock_guard lock(loads_.mutex);
        loads_.waiting.push_back(std::move(request));
        start = !std::exchange(loads_.loader_queued, true);
    }
    if (!start) return;  // the loader takes it with the others
    bool queued =
        jobs_.submit([this](store::Store& s) { run_loads(s); }, store::StoreJobs::Lane::first);
    if (queued) return;
    std::vector<LoadRequest> refused;
    {
        std::lock_guard lock(loads_.mutex);
        refused.swap(loads_.waiting);
        loads_.loader_queued = false;
    }
    for (auto& r : refused) {
        Loaded none;
        none.failed = busy();
        done_loading(std::move(r), std::move(none));
    }
}

struct RoomService::LoadTimes {
    using Clock = std::chrono::steady_clock;
    Clock::time_point began = Clock::now();
    size_t rooms = 0, batches = 0;
    double find = 0, claim = 0, read = 0, longest = 0;  // seconds

    // Adds the time since `since` to `to` and restarts it.
    static void lap(double& to, Clock::time_point& since) {
        auto now = Clock::now();
        to += std::chrono::duration<double>(now - since).count();
        since = now;
    }
    // A loader job that read many rooms, or took long (a pool moving rooms here), says where
    // its time went: the operator sees whether the store is what the rooms wait for.
    void log() const {
        double took = std::chrono::duration<double>(Clock::now() - began).count();
        if (rooms < 64 && took < 1.0) return;
        spdlog::info(
            "rooms: {} loaded in {} batches in {:.2f} s (finding {:.2f} s, claiming {:.2f} s, "
            "reading {:.2f} s; the longest batch {:.2f} s)",
            rooms, batches, took, find, claim, read, longest);
    }
};

void RoomService::run_loads(store::Store& s) {
    LoadTimes times;
    for (;;) {
        std::vector<LoadRequest> batch;
        {
            std::lock_guard lock(loads_.mutex);
            auto& waiting = loads_.waiting;
            if (waiting.empty()) {
                loads_.loader_queued = false;
                times.log();
                return;
            }
            size_t n = std::min(waiting.size(), kLoadBatch);
            batch.assign(std::make_move_iterator(waiting.begin()),
                         std::make_move_iterator(waiting.begin() + ptrdiff_t(n)));
            waiting.erase(waiting.begin(), waiting.begin() + ptrdiff_t(n));
        }
        auto started = LoadTimes::Clock::now();
        auto loaded = load_batch(s, batch, times);
        times.longest =
            std::max(times.longest,
                     std::chrono::duration<double>(LoadTimes::Clock::now() - started).count());
        times.rooms += batch.size();
        ++times.batches;
        for (size_t i = 0; i < batch.size(); ++i)
            done_loading(std::move(batch[i]), std::move(loaded[i]));
    }
}

namespace {

Error served_elsewhere() {
    return error(Fault::busy, "The room is served by another server; try again");
}

// Creates the room `node` in `category` for the join of `creator`, the creator its manager.
void create_room(store::Store& s, const std::string& node, const store::Category& category,
                 const std::string& creator) {
    store::Room r;
    r.node = node;
    r.name = node;
    r.category_id = category.id;
    std::string user = creator.substr(0, creator.find('@'));
    s.with_events({store::make_event(
                      "ROOMCREATE", user, node, category.name,
                      {{"name", node}, {"privacy", "open"}, {"type", "normal"}, {"by", "join"}})},
                  [&] {
                      r.id = s.add_room(r);
                      s.set_room_principal(r.id, store::RoomList::manager,
                                           store::Principal::user(user), true);
                  });
    spdlog::info("room {} created by {}", node, creator);
}

}  // namespace

std::vector<RoomService::Loaded> RoomService::load_batch(store::Store& s,
                                                         const std::vector<LoadRequest>& batch,
                                                         LoadTimes& times) {
    auto since = LoadTimes::Clock::now();
    int history = int(history_cache_size());
    std::vector<Loaded> out(batch.size());
    std::vector<size_t> asked;  // the requests still to read
    for (size_t i = 0; i < batch.size(); ++i) {
        if (config_.serves && !config_.serves(batch[i].node))
            // The pool changed since the command was sent here: nothing is claimed.
            out[i].failed = served_elsewhere();
        else
            asked.push_back(i);
    }
    try {
        // Find them; create those a join may create.
        std::vector<std::string> nodes;
        nodes.reserve(asked.size());
        for (size_t i : asked) nodes.push_back(batch[i].node);
        std::unordered_map<std::string, store::Room> found;
        for (auto& r : s.find_rooms(nodes)) found.emplace(r.node, std::move(r));
        for (size_t i : asked) {
            const auto& request = batch[i];
            if (auto it = found.find(request.node); it != found.end()) {
                out[i].meta = std::move(it->second);
            } else if (!request.create_in.empty()) {
                if (auto category = s.find_category(request.create_in)) {
                    try {
                        create_room(s, request.node, *category, request.creator);
                        out[i].creator = request.creator;
                    } catch (const store::Conflict&) {
                        // Created meanwhile by another join (another server of the pool).
                    }
                    out[i].meta = s.find_room(request.node);
                }
            }
        }
        LoadTimes::lap(times.find, since);
        // Claim them (a pool): the rooms another live server holds wait or are refused.
        std::vector<int64_t> ids;
        for (size_t i : asked)
            if (out[i].meta) ids.push_back(out[i].meta->id);
        if (config_.claim && !ids.empty()) {
            auto epochs = config_.claim(s, ids);
            ids.clear();
            for (size_t i : asked) {
                if (!out[i].meta) continue;
                if (auto it = epochs.find(out[i].meta->id); it != epochs.end()) {
                    out[i].epoch = it->second;
                    ids.push_back(it->first);
                } else {
                    out[i].meta.reset();
                    out[i].held_elsewhere = true;
                    out[i].failed = served_elsewhere();
                }
            }
        }
        LoadTimes::lap(times.claim, since);
        // Read what serving them needs, after the claim: nothing the former server commits
        // can be missed. The categories' rules are read fresh with them.
        std::unordered_map<int64_t, store::ServedRoom> served;
        for (auto& r : s.rooms_to_serve(ids, history)) served.emplace(r.room.id, std::move(r));
        std::map<int64_t, std::shared_ptr<const CategoryRules>> categories;
        for (const auto& [id, r] : served) categories.emplace(r.room.category_id, nullptr);
        if (!categories.empty())
            for (const auto& c : s.list_categories())
                if (auto it = categories.find(c.id); it != categories.end())
                    it->second = std::make_shared<const CategoryRules>(
                        category_rules(c, s.category_principals(c.id)));
        for (size_t i : asked) {
            auto& loaded = out[i];
            if (!loaded.meta) continue;
            auto it = served.find(loaded.meta->id);
            if (it == served.end()) {  // deleted meanwhile
                loaded.meta.reset();
                continue;
            }
            auto& r = it->second;
            loaded.rules = room_rules(r.room, r.principals);
            loaded.category = categories[r.room.category_id];
            loaded.recent = std::move(r.recent);
            loaded.meta = std::move(r.room);
        }
        LoadTimes::lap(times.read, since);
    } catch (const std::exception& e) {
        spdlog::error("loading {} rooms failed: {}", asked.size(), e.what());
        for (size_t i : asked) {
            out[i] = Loaded{};
            out[i].failed = error(Fault::internal, "The room could not be loaded");
        }
    }
    return out;
}

void RoomService::done_loading(LoadRequest request, Loaded loaded) {
    std::string node = request.node;
    executor_of(node).post(
        [this, request = std::move(request), loaded = std::move(loaded)]() mutable {
            if (loaded.held_elsewhere && request.attempt + 1 < kClaimAttempts && config_.after) {
                // A room moving here (the pool changed) whose former server has not let it go
                // yet: it does within moments, after it learns of the change too. The commands
                // wait meanwhile rather than being refused.
                config_.after(kClaimPause, [this, request = std::move(request)]() mutable {
                    std::string node = request.node;
                    executor_of(node).post([this, request = std::move(request)]() mutable {
                        ++request.attempt;
                        load(std::move(request));
                    });
                });
                return;
            }
            finish_load(request.node, std::move(loaded));
        });
}

void RoomService::finish_load(const std::string& node, Loaded loaded) {
    auto& rooms = state_of(node).rooms;
    auto it = rooms.find(node);
    if (it == rooms.end()) return;
    auto waiting = std::move(it->second.waiting);
    if (loaded.meta && config_.serves && !config_.serves(node)) {
        // Claimed while the pool changed: the change let go of the rooms loaded then, not of
        // this one, still loading; let go of it now, or its new server could not claim it.
        if (config_.release) {
            bool queued =
                jobs_.submit([release = config_.release, id = loaded.meta->id,
                              epoch = loaded.epoch](store::Store& s) { release(s, id, epoch); });
            if (!queued) spdlog::warn("room {} not released: the store is busy", node);
        }
        loaded.meta.reset();
        loaded.failed = served_elsewhere();
    }
    if (!loaded.meta) {
        rooms.erase(it);
        for (auto& w : waiting) w(nullptr, loaded.failed);
        return;
    }
    // The freshest word on the category, for this room and for discovery.
    if (loaded.category) directory_.put_category(loaded.meta->category_id, loaded.category);
    directory_.put_room(*loaded.meta, loaded.rules);
    auto category = directory_.category(loaded.meta->category_id);
    auto& slot = it->second;
    slot.room = std::make_unique<Room>(std::move(*loaded.meta), history_cache_size());
    slot.room->set_rules(std::move(loaded.rules), std::move(category));
    slot.room->seed_history(std::move(loaded.recent));
    slot.creator = loaded.creator;
    slot.room->set_epoch(loaded.epoch);
    if (!loaded.creator.empty()) room_changed(*slot.room);  // created: discovery everywhere
    for (auto& w : waiting) w(slot.room.get(), std::nullopt);
}

}  // namespace perch::chat
