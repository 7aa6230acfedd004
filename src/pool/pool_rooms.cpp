#include "pool/pool_rooms.hpp"

#include <spdlog/spdlog.h>

namespace perch::pool {

template <class C, class T>
void PoolRooms::route(const std::string& node, const char* op, C c, chat::Reply<T> reply,
                      void (PoolRooms::*here)(C, chat::Reply<T>),
                      std::optional<Clock::time_point> due) {
    uint32_t owner = membership_.owner_of(node);
    bool here_now = owner == membership_.self().number || !links_;
    // No link to the room's server: it may be gone (its lease lapses within pool.lease_ms, and
    // the room moves) or its link is being made again. The command waits for either, behind
    // the room's commands that wait already, rather than be refused at once: a client that
    // joins in the seconds after a server's loss would see an error, and try again.
    if (!here_now && wait(Waiting::for_link, owner, node, due, [&](Clock::time_point until) {
            return [this, node, op, c = std::move(c), reply = std::move(reply), here,
                    until](std::optional<chat::Error> refused) mutable {
                if (!refused) return route(node, op, std::move(c), std::move(reply), here, until);
                if (reply) reply(std::move(*refused));
            };
        }))
        return;
    if (after_change(node, [&] {
            return [this, node, op, c = std::move(c), reply = std::move(reply), here,
                    due]() mutable { route(node, op, std::move(c), std::move(reply), here, due); };
        }))
        return;
    if (here_now) return (this->*here)(std::move(c), std::move(reply));
    forward(owner, node, op, c, std::move(reply));
}

namespace {
// The shard whose held commands run now, on this thread: they pass its gate.
thread_local std::optional<size_t> releasing_shard;
}  // namespace

void PoolRooms::changing() {
    std::lock_guard lock(mutex_);
    for (auto& gate : gates_) ++gate.parts;
}

void PoolRooms::changed_on(size_t shard) {
    // Posted, not done here: what this shard's work for the change posted to the shard runs
    // first (Fanout::servers_changed calls this at the end of its task).
    shards_.at(shard).post([this, shard] {
        std::unique_lock lock(mutex_);
        ChangeGate& gate = gates_[shard];
        if (gate.parts > 1) {
            --gate.parts;
            return;
        }
        // The last part: the held commands run in order, and those that other threads route
        // meanwhile are held behind them (the gate closes only when none is left).
        while (!gate.held.empty()) {
            auto held = std::move(gate.held);
            gate.held.clear();
            lock.unlock();
            releasing_shard = shard;
            for (auto& again : held) again();
            releasing_shard.reset();
            lock.lock();
        }
        gate.parts = 0;
        bool settled = !settling_locked();
        lock.unlock();
        if (settled && settled_) settled_();
    });
}

bool PoolRooms::settling_locked() const {
    return adoptions_.under_way > 0 ||
           std::any_of(gates_.begin(), gates_.end(), [](const auto& g) { return g.parts > 0; });
}

bool PoolRooms::settling() {
    std::lock_guard lock(mutex_);
    return settling_locked();
}

void PoolRooms::changed_everywhere() {
    for (size_t i = 0; i < shards_.size(); ++i) changed_on(i);
}

template <class MakeAgain>
bool PoolRooms::after_change(const std::string& node, MakeAgain&& make_again) {
    size_t shard = shards_.index_of(node);
    if (releasing_shard == shard) return false;
    std::lock_guard lock(mutex_);
    ChangeGate& gate = gates_[shard];
    if (gate.parts == 0) return false;
    gate.held.push_back(make_again());
    return true;
}

void PoolRooms::release_parked() {
    std::lock_guard releasing(release_mutex_);
    std::vector<Parked> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(parked_);  // held_ stays: the rooms' new commands wait behind these
    }
    auto now = Clock::now();
    std::vector<Parked> stay;
    std::unordered_set<std::string> blocked;  // a room's commands go on in order, or none
    std::map<uint32_t, bool> reachable;
    for (auto& p : batch) {
        if (blocked.contains(p.node)) {
            stay.push_back(std::move(p));
            continue;
        }
        bool ready;
        if (p.why == Waiting::to_serve) {
            ready = membership_.serves(p.node) || p.due <= now;  // due: the service answers
        } else {
            auto link = reachable.find(p.server);
            if (link == reachable.end())
                link = reachable.emplace(p.server, links_ && links_->linked(p.server)).first;
            ready = membership_.owner_of(p.node) != p.server || link->second;
        }
        if (ready) {
            p.go(std::nullopt);
        } else if (p.due <= now) {
            shards_.of(p.node).post([go = std::move(p.go)]() mutable {
                go(chat::error(chat::Fault::busy,
                               "The room's server cannot be reached now; try again"));
            });
        } else {
            blocked.insert(p.node);
            stay.push_back(std::move(p));
        }
    }
    std::lock_guard lock(mutex_);
    // Those parked meanwhile (again, or new behind the held rooms) come after those that stay.
    stay.insert(stay.end(), std::make_move_iterator(parked_.begin()),
                std::make_move_iterator(parked_.end()));
    parked_.swap(stay);
    held_.clear();
    for (const auto& p : parked_) held_.insert(p.node);
}

template <class C, class T>
void PoolRooms::forward(uint32_t server, const std::string& node, const char* op, const C& c,
                        chat::Reply<T> reply, Late late, Again again) {
    Json frame = {{"t", "cmd"}, {"op", op}};
    {
        WireScope scope(membership_.self().number);
        frame["body"] = c;
    }
    uint64_t id;
    {
        std::lock_guard lock(mutex_);
        id = next_id_++;
        Answer answer = [reply = std::move(reply)](const Json* value,
                                                   std::optional<chat::Error> error) {
            if (!reply) return;  // a command whose caller wants no answer (a session's leave)
            if (error) return reply(std::move(*error));
            std::optional<T> decoded;
            try {
                decoded = value->get<T>();
            } catch (const std::exception& e) {
                spdlog::error("pool: a malformed answer: {}", e.what());
                return reply(
                    chat::error(chat::Fault::internal, "The room's server answered badly"));
            }
            reply(std::move(*decoded));
        };
        auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(membership_.config().command_timeout_ms);
        pending_.emplace(
            id, Pending{server, node, std::move(answer), std::move(late), std::move(again)});
        deadlines_.emplace_back(deadline, id);
    }
    frame["id"] = id;
    if (!links_->send(server, frame)) {
        std::unique_lock lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;  // answered meanwhile (the link failed it)
        Pending p = std::move(it->second);
        pending_.erase(it);
        lock.unlock();
        fail(std::move(p),
             chat::error(chat::Fault::busy, "The room's server cannot be reached now; try again"));
    }
}

void PoolRooms::adopt(const std::string& node, std::vector<chat::Occupant> mine, uint32_t server,
                      int attempt) {
    constexpr int kAttempts = 30;  // about 30 s, a lease lapsing and a room let go included
    auto done = [this, node, mine, server, attempt](chat::Result<int64_t> last_seq) mutable {
        if (last_seq.ok()) {
            int64_t id = 0;
            if (auto listing = fanout_.directory().room(node)) id = listing->meta.id;
            fanout_.caught_up(node, id, last_seq.value());
            if (server == membership_.self().number) fanout_.moved_here(node);
            spdlog::debug("pool: {} occupants of {} adopted by server {}", mine.size(), node,
                          server);
            return adoption_ended(mine.size(), true);
        }
        if (last_seq.error().fault == chat::Fault::busy && attempt + 1 < kAttempts) {
            std::lock_guard lock(mutex_);
            ++adoptions_.retried;
            retries_.push_back({node, std::move(mine), server, attempt + 1,
                                std::chrono::steady_clock::now() + std::chrono::seconds(1)});
            return;
        }
        spdlog::error("pool: occupants of {} not adopted by server {}: {}", node, server,
                      last_seq.error().text);
        adoption_ended(0, false);
    };
    if (attempt == 0) {
        std::lock_guard lock(mutex_);
        if (adoptions_.under_way == 0)
            adoptions_ = {0, 0, 0, 0, 0, std::chrono::steady_clock::now()};
        ++adoptions_.under_way;
    }
    send_adoption(node, std::move(mine), server, std::move(done), std::nullopt);
}

void PoolRooms::send_adoption(const std::string& node, std::vector<chat::Occupant> mine,
                              uint32_t server, chat::Reply<int64_t> done,
                              std::optional<Clock::time_point> due) {
    if (server == membership_.self().number || !links_)
        return local_.adopt(node, std::move(mine), std::move(done));
    // No link to the room's new server yet (it has just joined; the link is being made): the
    // adoption waits for it as a command does, and the room's later commands wait behind it —
    // sent first, a post would reach the room before its sender was in it again.
    if (wait(Waiting::for_link, server, node, due, [&](Clock::time_point until) {
            return [this, node, mine, done, until](std::optional<chat::Error> refused) mutable {
                if (refused) return done(std::move(*refused));
                // To whichever server serves the room now (the pool may have changed again).
                send_adoption(node, std::move(mine), membership_.owner_of(node), std::move(done),
                              until);
            };
        }))
        return;
    forward(server, node, "adopt", AdoptCommand{node, std::move(mine)}, std::move(done));
}

void PoolRooms::adoption_ended(size_t occupants, bool adopted) {
    std::unique_lock lock(mutex_);
    Adoptions& a = adoptions_;
    ++(adopted ? a.rooms : a.failed);
    a.occupants += int64_t(occupants);
    if (--a.under_way > 0) return;
    Adoptions done = a;
    bool settled = !settling_locked();
    lock.unlock();
    if (settled && settled_) settled_();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - done.first;
    spdlog::info(
        "pool: this server's {} occupants of {} rooms adopted by the rooms' servers in "
        "{:.1f} s{}{}",
        done.occupants, done.rooms, took.count(),
        done.retried
            ? fmt::format("; {} answered busy and asked again a second later", done.retried)
            : std::string(),
        done.failed ? fmt::format(" ({} rooms not: see the errors above)", done.failed)
                    : std::string());
}

void PoolRooms::fail(Pending p, chat::Error e) {
    shards_.of(p.node).post([answer = std::move(p.answer), e = std::move(e)]() mutable {
        answer(nullptr, std::move(e));
    });
}

void PoolRooms::link_lost(uint32_t number) {
    if (users_) users_->link_lost(number);
    std::vector<Pending> lost;
    {
        std::lock_guard lock(mutex_);
        for (auto it = pending_.begin(); it != pending_.end();) {
            if (it->second.server == number) {
                lost.push_back(std::move(it->second));
                it = pending_.erase(it);
            } else {
                ++it;
            }
        }
        std::erase_if(expired_, [&](const auto& e) { return e.second.server == number; });
    }
    for (auto& p : lost) {
        if (p.again) {
            // Routed anew: it waits for the room to move (the server is gone) or for the link
            // to come back, as a new command would.
            shards_.of(p.node).post(std::move(p.again));
            continue;
        }
        fail(std::move(p), chat::error(chat::Fault::busy,
                                       "The room's server went away before answering; try again"));
    }
}

void PoolRooms::expire() {
    release_parked();
    auto now = std::chrono::steady_clock::now();
    std::vector<Pending> late;
    std::vector<Retry> due;
    std::map<uint32_t, int64_t> unsent;
    {
        std::lock_guard lock(mutex_);
        unsent.swap(unsent_answers_);
        for (auto it = retries_.begin(); it != retries_.end();) {
            if (it->due <= now) {
                due.push_back(std::move(*it));
                it = retries_.erase(it);
            } else {
                ++it;
            }
        }
        // Oldest first, so that only what is due is looked at (thousands may be pending
        // under a burst); those answered meanwhile are no longer in pending_.
        while (!deadlines_.empty() && deadlines_.front().first < now) {
            auto it = pending_.find(deadlines_.front().second);
            deadlines_.pop_front();
            if (it == pending_.end()) continue;
            if (it->second.late) {
                expired_.emplace(it->first, Expired{it->second.server, std::move(it->second.late)});
                forget_.emplace_back(now + std::chrono::minutes(10), it->first);
            }
            late.push_back(std::move(it->second));
            pending_.erase(it);
        }
        while (!forget_.empty() && forget_.front().first < now) {
            expired_.erase(forget_.front().second);
            forget_.pop_front();
        }
    }
    for (auto [server, count] : unsent)
        spdlog::warn(
            "pool: {} answers to commands of server {} could not be sent (no link to "
            "it; it refuses them as busy)",
            count, server);
    for (auto& p : late)
        fail(std::move(p),
             chat::error(chat::Fault::busy, "The room's server did not answer in time"));
    for (auto& r : due) {
        // To whichever server serves the room now (the pool may have changed again).
        std::string node = r.node;
        shards_.of(node).post([this, r = std::move(r)]() mutable {
            adopt(r.node, std::move(r.mine), membership_.owner_of(r.node), r.attempt);
        });
    }
}

void PoolRooms::join(chat::JoinCommand c, chat::Reply<chat::JoinResult> reply) {
    join_from(std::move(c), std::move(reply), std::nullopt);
}

void PoolRooms::join_from(chat::JoinCommand c, chat::Reply<chat::JoinResult> reply,
                          std::optional<Clock::time_point> due, bool sent_before) {
    std::string node = c.room;
    uint32_t owner = membership_.owner_of(node);
    bool here_now = owner == membership_.self().number || !links_;
    if (!here_now && wait(Waiting::for_link, owner, node, due, [&](Clock::time_point until) {
            return [this, c = std::move(c), reply = std::move(reply), until,
                    sent_before](std::optional<chat::Error> refused) mutable {
                if (!refused) return join_from(std::move(c), std::move(reply), until, sent_before);
                if (reply) reply(std::move(*refused));
            };
        }))
        return;
    if (after_change(node, [&] {
            return [this, c = std::move(c), reply = std::move(reply), due, sent_before]() mutable {
                join_from(std::move(c), std::move(reply), due, sent_before);
            };
        }))
        return;
    if (here_now) return local_join(std::move(c), std::move(reply));
    // A join refused here for its lateness and done there after all: the client was told it
    // is not in the room, so it leaves (no ghost occupant on the others' lists).
    chat::LeaveCommand undo{c.room, c.actor.full_jid, {}};
    // Either its answer or, once, a lost link takes the reply.
    auto shared = std::make_shared<chat::Reply<chat::JoinResult>>(std::move(reply));
    auto answered = [this, node, shared](chat::Result<chat::JoinResult> r) {
        if (r.ok()) fanout_.joined(node, r.value());
        (*shared)(std::move(r));
    };
    // Lost with its link, it is sent again: its server died (the room moves, and the new server
    // knows nothing of it) or the link is made again (and joining twice is joining once).
    Again again;
    if (!sent_before)
        again = [this, c, shared] { join_from(c, std::move(*shared), std::nullopt, true); };
    forward(
        owner, node, "join", c, chat::Reply<chat::JoinResult>(std::move(answered)),
        [this, owner, undo](const Json& value) {
            if (!value.value("joined", false)) return;
            spdlog::info("pool: a join of {} to {} answered too late is undone", undo.full_jid,
                         undo.room);
            forward(owner, undo.room, "leave", undo, chat::Reply<chat::Ok>());
        },
        std::move(again));
}
void PoolRooms::leave(chat::LeaveCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "leave", std::move(c), std::move(reply), &PoolRooms::local_leave);
}
void PoolRooms::post(chat::PostCommand c, chat::Reply<chat::Posted> reply) {
    std::string node = c.room;
    route(node, "post", std::move(c), std::move(reply), &PoolRooms::local_post);
}
void PoolRooms::relay(chat::RelayCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "relay", std::move(c), std::move(reply), &PoolRooms::local_relay);
}
void PoolRooms::send_private(chat::PrivateCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "private", std::move(c), std::move(reply), &PoolRooms::local_private);
}
void PoolRooms::set_subject(chat::SubjectCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "subject", std::move(c), std::move(reply), &PoolRooms::local_subject);
}
void PoolRooms::configure(chat::ConfigureCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "configure", std::move(c), std::move(reply), &PoolRooms::local_configure);
}
void PoolRooms::change_lists(chat::ListsCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "change_lists", std::move(c), std::move(reply), &PoolRooms::local_lists_change);
}
void PoolRooms::kick(chat::KickCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "kick", std::move(c), std::move(reply), &PoolRooms::local_kick);
}
void PoolRooms::moderate(chat::ModerateCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "moderate", std::move(c), std::move(reply), &PoolRooms::local_moderate);
}
void PoolRooms::invite(chat::InviteCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "invite", std::move(c), std::move(reply), &PoolRooms::local_invite);
}
void PoolRooms::destroy(chat::DestroyCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room;
    route(node, "destroy", std::move(c), std::move(reply), &PoolRooms::local_destroy);
}
void PoolRooms::clear_history(chat::ClearHistoryCommand c, chat::Reply<int64_t> reply) {
    std::string node = c.room;
    route(node, "clear_history", std::move(c), std::move(reply), &PoolRooms::local_clear);
}
void PoolRooms::create(chat::CreateCommand c, chat::Reply<chat::Ok> reply) {
    std::string node = c.room.node;
    route(node, "create", std::move(c), std::move(reply), &PoolRooms::local_create);
}
void PoolRooms::archive(chat::ArchiveCommand c, chat::Reply<store::ArchivePage> reply) {
    std::string node = c.room;
    route(node, "archive", std::move(c), std::move(reply), &PoolRooms::local_archive);
}
void PoolRooms::info(std::string room, chat::Actor actor, chat::Reply<chat::RoomInfo> reply) {
    std::string node = room;
    route(node, "info", RoomQuery{std::move(room), std::move(actor)}, std::move(reply),
          &PoolRooms::local_info);
}
void PoolRooms::occupants(std::string room, chat::Actor actor,
                          chat::Reply<std::vector<std::string>> reply) {
    std::string node = room;
    route(node, "occupants", RoomQuery{std::move(room), std::move(actor)}, std::move(reply),
          &PoolRooms::local_occupants);
}
void PoolRooms::lists(
    std::string room, chat::Actor actor,
    chat::Reply<std::vector<std::pair<store::RoomList, store::Principal>>> reply) {
    std::string node = room;
    route(node, "lists", RoomQuery{std::move(room), std::move(actor)}, std::move(reply),
          &PoolRooms::local_lists);
}

// Queries of the shared database that need no room state: answered here.
void PoolRooms::search(chat::SearchCommand c, chat::Reply<chat::SearchResult> reply) {
    local_.search(std::move(c), std::move(reply));
}
void PoolRooms::mark_read(std::string room, chat::Actor actor, chat::Reply<chat::Ok> reply) {
    local_.mark_read(std::move(room), std::move(actor), std::move(reply));
}
void PoolRooms::following(chat::Actor actor, chat::Reply<std::vector<chat::Followed>> reply) {
    local_.following(std::move(actor), std::move(reply));
}

}  // namespace perch::pool
