#pragma once
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/authz.hpp"
#include "store/types.hpp"
#include "util/token_bucket.hpp"

namespace perch::chat {

enum class Role { visitor, participant, moderator };
enum class Affiliation { none, member, admin, owner };
std::string_view to_string(Role r);
std::string_view to_string(Affiliation a);

// Who is in a room under which nickname, from which session.
struct Occupant {
    std::string nick;
    std::string full_jid;
    std::string occupant_id;  // XEP-0421, stable per user and room
    Role role = Role::participant;
    Affiliation affiliation = Affiliation::none;
    // What of the occupant's presence the room passes on (show, status, capabilities), as the
    // client adapter serialized it; the room keeps it without reading it.
    std::string presence;
    // Who they are as the rules see them (groups, policy), shared with their session; kept so
    // that a change of the rules can tell who may stay.
    std::shared_ptr<const Subject> subject;
    // The server of the pool whose client this is (its number in the pool); 0 for this one.
    uint32_t server = 0;
    // Posts under the room service's rate limit (kept here, by the room's own server), and
    // whether the last was refused for it.
    util::TokenBucket posts;
    bool over_rate = false;

    std::string_view bare_jid() const {
        return std::string_view(full_jid).substr(0, full_jid.find('/'));
    }
    std::string_view user() const { return bare_jid().substr(0, bare_jid().find('@')); }
};

// What a joining client asked for (XEP-0045 7.2.15), with the room's default applied.
struct HistoryRequest {
    std::optional<int> max_stanzas;
    std::optional<int> max_chars;
    std::optional<int64_t> since_us;
};

// nick_look_alike: another occupant's nickname reads the same (chat/nicknames.hpp).
enum class JoinRefusal { none, nick_conflict, nick_look_alike, room_disabled, nick_missing };

// The state of one room, owned by one shard: plain logic with no I/O, so every rule is unit
// testable. History kept here is a cache of the newest messages; the store has all of them.
class Room {
  public:
    Room(store::Room meta, size_t history_cache);

    const store::Room& meta() const { return meta_; }
    // In a pool: the epoch of this server's claim, which its commits carry (0 otherwise).
    int64_t epoch() const { return epoch_; }
    void set_epoch(int64_t epoch) { epoch_ = epoch; }
    store::Room& meta() { return meta_; }

    // Who may do what here: the room's own lists and its category's (shared, immutable).
    const RoomRules& rules() const { return rules_; }
    const CategoryRules& category() const { return *category_; }
    const std::shared_ptr<const CategoryRules>& category_ptr() const { return category_; }
    void set_rules(RoomRules rules, std::shared_ptr<const CategoryRules> category) {
        rules_ = std::move(rules);
        category_ = std::move(category);
    }
    bool may(const Subject& who, Action action) const {
        return chat::may(who, *category_, rules_, action);
    }

    // Occupants by nickname. One user may be in the room from several resources under the same
    // nickname (XEP-0045 multi-session nick): one entry per resource, side by side.
    const Occupant* by_nick(const std::string& nick) const;
    const Occupant* by_jid(const std::string& full_jid) const;
    const std::multimap<std::string, Occupant>& occupants() const { return occupants_; }
    size_t occupant_count() const { return occupants_.size(); }

    JoinRefusal check_join(const std::string& nick, const std::string& full_jid) const;
    // Adds an occupant; a rejoin replaces the previous entry but keeps its post budget.
    const Occupant& add(Occupant o);
    // Spends one of the occupant's posts under `rate` (true), or says they post faster.
    struct PostBudget {
        bool allowed = true;
        bool first_refusal = false;  // the first refusal since the last allowed post
    };
    PostBudget take_post(const std::string& full_jid, const util::Rate& rate, int64_t now_us);
    // The user's subject changed: every occupant who is `user` takes `who`. False when none is.
    bool set_subject(std::string_view user, const std::shared_ptr<const Subject>& who);
    // Removes by full JID; returns the occupant that left.
    std::optional<Occupant> remove(const std::string& full_jid);

    // History cache: the newest messages in order; one already cached (seeded from the store
    // while its commit's answer was on its way) is not cached again.
    void remember(store::Message m);
    void seed_history(std::vector<store::Message> newest_oldest_first);
    // A message changed in the store (moderated): the cached copy follows, if there is one.
    void replace_cached(const store::Message& m);
    // Forgets cached messages older than `before_us` (history cleared).
    void forget_before(int64_t before_us);
    const std::deque<store::Message>& recent() const { return recent_; }
    size_t history_cache() const { return history_cache_; }
    // A commit's outcome is unknown (its answer was an error, but the database may have it):
    // the cache may lack a stored message, and a retry is checked against the store's newest
    // messages (seed_history) before it is stored.
    void doubt_recent() { recent_in_doubt_ = true; }
    bool recent_in_doubt() const { return recent_in_doubt_; }
    // True when the cache alone can answer `req`, with `default_max` for an absent maxstanzas.
    bool cache_covers(const HistoryRequest& req, int default_max) const;
    // Applies a history request to messages given oldest first (the cache, or a store read
    // merged with it) and returns the ones to send, oldest first.
    static std::vector<const store::Message*> select_history(
        const std::vector<const store::Message*>& candidates, const HistoryRequest& req,
        int default_max);

  private:
    store::Room meta_;
    RoomRules rules_;
    std::shared_ptr<const CategoryRules> category_ = std::make_shared<CategoryRules>();
    std::multimap<std::string, Occupant> occupants_;  // by nick
    std::map<std::string, std::string> nick_by_jid_;
    // Which nickname holds each look-alike skeleton (chat/nicknames.hpp).
    std::unordered_map<std::string, std::string> nick_by_skeleton_;
    std::deque<store::Message> recent_;
    bool recent_in_doubt_ = false;
    size_t history_cache_;
    int64_t epoch_ = 0;
};

}  // namespace perch::chat
