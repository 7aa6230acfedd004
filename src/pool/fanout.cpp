#include "pool/fanout.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace perch::pool {

namespace {
// A gap larger than this is not replayed to clients (they read the archive instead).
constexpr int64_t kMaxReplay = 1000;
}  // namespace

Fanout::Fanout(chat::RoomEventSink& local, chat::Directory& directory, util::Shards& shards,
               const Membership& membership, store::StoreJobs& jobs,
               std::shared_ptr<const chat::LiveSettings> settings)
    : local_(local),
      directory_(directory),
      shards_(shards),
      membership_(membership),
      jobs_(jobs),
      settings_(std::move(settings)),
      served_(shards.size()),
      followed_(shards.size()) {}

std::vector<uint32_t> Fanout::others() {
    std::vector<uint32_t> out;
    for (const auto& m : membership_.live())
        if (m.number != membership_.self().number) out.push_back(m.number);
    return out;
}

void Fanout::send_to(const std::vector<uint32_t>& servers, const Json& frame) {
    if (!links_) return;
    for (uint32_t s : links_->send_each(servers, frame))
        spdlog::debug("pool: an event could not be sent to server {} (it catches up)", s);
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
                if (!v.adopted) return everyone_with_occupants();
                // An adopted occupant is known to every server that followed the room before
                // it moved here: a moved room's thousands of adoptions cross no link again,
                // but to a server that has learnt the occupants from this one since.
                for (const auto& [server, count] : audience.servers)
                    if (server != v.occupant.server && audience.listed.contains(server))
                        to.push_back(server);
            } else if constexpr (std::is_same_v<T, chat::OccupantLeft>) {
                everyone_with_occupants();  // the leaver's server included: it forgets them
                if (v.occupant.server != 0) {
                    auto it = audience.servers.find(v.occupant.server);
                    if (it != audience.servers.end() && --it->second == 0)
                        audience.servers.erase(it);
                }
            } else if constexpr (std::is_same_v<T, chat::RoomChanged> ||
                                 std::is_same_v<T, chat::RoomDestroyed> ||
                                 std::is_same_v<T, chat::SubjectChanged>) {
                to = others();  // every directory follows (room lists show the subject)
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

void Fanout::listed(const std::string& node, uint32_t server) {
    PERCH_ASSERT_ON(shards_.of(node));
    served_[shards_.index_of(node)][node].listed.insert(server);
}

void Fanout::invitation(const chat::Invitation& inv) {
    local_.invitation(inv);
    Json frame = encode(inv);
    frame["t"] = "inv";
    send_to(others(), frame);
}

Fanout::Followed* Fanout::followed(const std::string& node) {
    auto& rooms = followed_[shards_.index_of(node)];
    auto it = rooms.find(node);
    return it == rooms.end() ? nullptr : &it->second;
}

void Fanout::remote_event(chat::RoomEvent e) {
    std::string node = e.room;
    shards_.of(node).post([this, e = std::move(e)]() mutable {
        std::string node = e.room;
        auto& rooms = followed_[shards_.index_of(node)];
        Followed& f = rooms[node];
        show(f, std::move(e));
        // Nobody of this server is in the room any more: its events stop coming.
        bool mine = std::any_of(f.occupants.begin(), f.occupants.end(),
                                [](const auto& o) { return o.second.server == 0; });
        if (!mine && !f.fetching && f.held.empty()) rooms.erase(node);
    });
}

void Fanout::remember(Followed& f, const chat::RoomEvent& e) {
    auto keep = [&](chat::Occupant o) {
        if (o.server != 0) o.subject.reset();  // its rules matter only where it is connected
        std::string jid = o.full_jid;
        f.occupants.insert_or_assign(std::move(jid), std::move(o));
    };
    if (auto* joined = std::get_if<chat::OccupantJoined>(&e.what)) keep(joined->occupant);
    if (auto* changed = std::get_if<chat::PresenceChanged>(&e.what)) keep(changed->occupant);
    if (auto* nick = std::get_if<chat::NickChanged>(&e.what)) keep(nick->occupant);
    if (auto* left = std::get_if<chat::OccupantLeft>(&e.what))
        f.occupants.erase(left->occupant.full_jid);
    if (std::holds_alternative<chat::RoomDestroyed>(e.what)) f.occupants.clear();
}

void Fanout::show(Followed& f, chat::RoomEvent e) {
    if (f.fetching) {
        f.held.push_back(std::move(e));
        return;
    }
    if (auto* posted = std::get_if<chat::MessagePosted>(&e.what)) {
        int64_t seq = posted->message.seq;
        f.room_id = posted->message.room_id;
        if (seq <= f.last_seq) return;  // shown already (a catch-up overtook it)
        if (f.seq_known && seq > f.last_seq + 1) {
            std::string node = e.room;
            f.held.push_back(std::move(e));
            return fill_gap(node, f, seq - 1);
        }
        f.last_seq = seq;
        f.seq_known = true;
    } else if (auto* changed = std::get_if<chat::RoomChanged>(&e.what)) {
        directory_.put_room(changed->meta, changed->rules);
    } else if (auto* subject = std::get_if<chat::SubjectChanged>(&e.what)) {
        if (auto listing = directory_.room(e.room)) {
            listing->meta.subject = subject->subject;
            listing->meta.subject_nick = subject->nick;
            directory_.put_room(listing->meta, listing->rules);
        }
    } else if (std::holds_alternative<chat::RoomDestroyed>(e.what)) {
        directory_.remove_room(e.room);
    }
    remember(f, e);
    local_.room_event(e);
}

void Fanout::fill_gap(const std::string& node, Followed& f, int64_t up_to) {
    f.fetching = true;
    if (f.room_id == 0)
        if (auto listing = directory_.room(node)) f.room_id = listing->meta.id;
    int64_t from = std::max(f.last_seq, up_to - kMaxReplay);
    int64_t room_id = f.room_id;
    auto done = [this, node, up_to](std::vector<store::Message> missed) {
        Followed* f = followed(node);
        if (!f) return;
        f->fetching = false;
        for (auto& m : missed) {
            if (m.seq <= f->last_seq) continue;
            f->last_seq = m.seq;
            local_.room_event(chat::RoomEvent{node, chat::MessagePosted{std::move(m)}});
        }
        // What could not be read (refused, removed, or more than the replay limit) is
        // skipped: the clients have the archive for it.
        f->last_seq = std::max(f->last_seq, up_to);
        f->seq_known = true;
        auto held = std::move(f->held);
        f->held.clear();
        for (auto& e : held) show(*f, std::move(e));
        if (f->served_here && !f->fetching) followed_[shards_.index_of(node)].erase(node);
    };
    spdlog::info("pool: room {}: catching up on messages {} to {}", node, from + 1, up_to);
    bool queued = jobs_.submit([this, node, room_id, from, up_to, done](store::Store& s) {
        std::vector<store::Message> missed;
        try {
            missed = s.messages_between(room_id, from, up_to, int(up_to - from));
        } catch (const std::exception& e) {
            spdlog::error("pool: room {}: catching up failed: {}", node, e.what());
        }
        shards_.of(node).post(
            [done, missed = std::move(missed)]() mutable { done(std::move(missed)); });
    });
    if (!queued) {
        spdlog::warn("pool: room {}: catching up skipped, the store is busy", node);
        shards_.of(node).post([done] { done({}); });
    }
}

void Fanout::remote_invitation(const chat::Invitation& inv) {
    local_.invitation(inv);
}

void Fanout::moved_away(const std::string& node, std::vector<chat::Occupant> occupants,
                        int64_t last_seq) {
    PERCH_ASSERT_ON(shards_.of(node));
    served_[shards_.index_of(node)].erase(node);
    Followed f;
    f.last_seq = last_seq;  // an empty room's 0 too: a post its next server takes first is read
    f.seq_known = true;
    if (auto listing = directory_.room(node)) f.room_id = listing->meta.id;
    for (auto& o : occupants) {
        std::string jid = o.full_jid;
        f.occupants.emplace(std::move(jid), std::move(o));
    }
    followed_[shards_.index_of(node)].insert_or_assign(node, std::move(f));
}

void Fanout::moved_here(const std::string& node) {
    PERCH_ASSERT_ON(shards_.of(node));
    Followed* f = followed(node);
    if (!f) return;
    if (f->fetching)
        f->served_here = true;  // forgotten once what it missed has been shown
    else
        followed_[shards_.index_of(node)].erase(node);
}

void Fanout::caught_up(const std::string& node, int64_t room_id, int64_t last_seq) {
    PERCH_ASSERT_ON(shards_.of(node));
    Followed* f = followed(node);
    if (!f) return;
    if (room_id) f->room_id = room_id;
    if (!f->seq_known) {
        f->last_seq = last_seq;  // nothing known here yet: from now on
        f->seq_known = true;
    } else if (last_seq > f->last_seq && !f->fetching)
        fill_gap(node, *f, last_seq);
}

void Fanout::joined(const std::string& node, chat::JoinResult& result) {
    PERCH_ASSERT_ON(shards_.of(node));
    Followed* f = followed(node);
    if (f) f->large = result.large;
    if (f && !f->seq_known) {
        // Joined when the room was at last_seq: what comes after is shown, and a post the
        // room's next server takes before this server's adoption is read after it.
        f->last_seq = std::max(f->last_seq, result.last_seq);
        f->seq_known = true;
    }
    if (result.large) return;
    if (!result.others_omitted) {
        if (!f) return;  // left already (the events of the join came before this answer)
        for (const auto& o : result.others) {
            if (f->occupants.contains(o.full_jid)) continue;  // newer news came meanwhile
            chat::Occupant known = o;
            if (known.server != 0) known.subject.reset();
            f->occupants.emplace(known.full_jid, std::move(known));
        }
        return;
    }
    // One per nickname other than the joiner's, as the room's server lists them.
    std::map<std::string, const chat::Occupant*> by_nick;
    if (!f)
        spdlog::warn("pool: room {}: joined without a list of its occupants", node);
    else
        for (const auto& [jid, o] : f->occupants)
            if (o.nick != result.self.nick) by_nick.try_emplace(o.nick, &o);
    result.others.clear();
    for (const auto& [nick, o] : by_nick) result.others.push_back(*o);
    result.others_omitted = false;
}

void Fanout::servers_changed(const std::vector<store::PoolMember>& before,
                             const std::vector<store::PoolMember>& now, const Adopt& adopt,
                             const std::function<void(size_t shard)>& done) {
    for (size_t i = 0; i < shards_.size(); ++i) {
        shards_.at(i).post([this, i, before, now, adopt, done] {
            // The adoptions first: the rooms are served again with their occupants before
            // anybody is shown who left (thousands of presences, in slices after). Who left
            // is known here at once, so a join of theirs seen meanwhile counts.
            std::vector<chat::RoomEvent> left;
            for (auto& [node, f] : followed_[i]) {
                uint32_t was = Membership::owner_among(before, node);
                uint32_t is = Membership::owner_among(now, node);
                if (was == is) continue;
                const store::PoolMember* old = nullptr;
                for (const auto& m : before)
                    if (m.number == was) old = &m;
                bool alive =
                    old && std::any_of(now.begin(), now.end(), [&](const auto& m) {
                        return m.number == old->number && m.incarnation == old->incarnation;
                    });
                // Its server went, and nobody else will say its own occupants left.
                if (!alive) ghosts_leave(f, node, was, left);
                std::vector<chat::Occupant> mine;
                for (const auto& [jid, o] : f.occupants)
                    if (o.server == 0) mine.push_back(o);
                if (!mine.empty()) adopt(node, std::move(mine), is);
            }
            if (done) done(i);
            util::run_in_slices(shards_.at(i), std::move(left), [this, i](chat::RoomEvent& e) {
                // Not shown for one who joined again meanwhile (a restarted server's client).
                const auto& o = std::get<chat::OccupantLeft>(e.what).occupant;
                auto it = followed_[i].find(e.room);
                if (it != followed_[i].end() && it->second.occupants.contains(o.full_jid)) return;
                local_.room_event(e);
            });
        });
    }
}

void Fanout::ghosts_leave(Followed& f, const std::string& node, uint32_t server,
                          std::vector<chat::RoomEvent>& left) {
    std::vector<std::string> ghosts;
    for (const auto& [jid, o] : f.occupants)
        if (o.server == server) ghosts.push_back(jid);
    if (ghosts.empty()) return;
    // Shown as the room's server would have: not in a large room, and not while the nickname
    // has another resource in the room.
    bool large = f.large || f.occupants.size() > settings_->participant_update_limit();
    // How many occupants hold each nickname, counted once: a scan of the room per ghost made a
    // large room's loss cost the square of its size (the living servers of the capacity model
    // spent a third of their time there).
    std::unordered_map<std::string, size_t> nicks;
    if (!large)
        for (const auto& [jid, o] : f.occupants) ++nicks[o.nick];
    for (const auto& jid : ghosts) {
        auto found = f.occupants.find(jid);
        auto o = std::move(found->second);
        f.occupants.erase(found);
        bool stays = !large && --nicks[o.nick] > 0;
        left.push_back(chat::RoomEvent{
            node, chat::OccupantLeft{std::move(o), chat::Departure::server_lost,
                                     "Their server is gone", "", !large && !stays}});
    }
}

}  // namespace perch::pool
