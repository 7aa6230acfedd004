#include "store/sql/pool.hpp"

#include <algorithm>
#include <string_view>

#include "store/sql/pg_array.hpp"
#include "util/time.hpp"

namespace perch::store::sql::pool {

namespace {

// The database's clock in milliseconds: every server of a pool judges leases by this one.
std::string now_ms(const Connection& db) {
    return db.dialect() == Dialect::postgres
               ? "(extract(epoch from clock_timestamp()) * 1000)::bigint"
               : "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)";
}

// The condition on a room row that a claim by server `?` may take it: no owner, this server,
// or an owner whose lease lapsed.
std::string claimable(const Connection& db) {
    return "(owner = '' OR owner = ? OR owner NOT IN (SELECT name FROM pool_members WHERE "
           "lease_until_ms > " +
           now_ms(db) + "))";
}

// PostgreSQL: each member's database session holds a lock of its own (session-level, keys
// kMemberLocks and the member's number, in this database: another pool's on the same cluster
// has locks of the same keys in its own) from its first renewal on that session. The lock
// goes when the session ends, at once when the process dies.
constexpr int kMemberLocks = 8011;
constexpr const char* kDatabaseStart = "extract(epoch from pg_postmaster_start_time())::text";

// Takes member `number`'s lock for this session unless it holds it already (session locks
// stack): the running database's start time when the session holds it, '' when another
// session does (a former incarnation's, ending). SQLite: ''.
std::string hold_member_lock(Connection& db, uint32_t number) {
    if (db.dialect() != Dialect::postgres) return {};
    auto& st = db.prepare(
        "SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_locks WHERE pid = pg_backend_pid() AND "
        "locktype = 'advisory' AND classid::bigint = " +
        std::to_string(kMemberLocks) +
        " AND objid::bigint = ? AND objsubid = 2 AND granted) THEN " + kDatabaseStart +
        " WHEN pg_try_advisory_lock(" + std::to_string(kMemberLocks) + ", ?::int) THEN " +
        kDatabaseStart + " ELSE '' END");
    st.bind(0, int64_t(number)).bind(1, int64_t(number));
    std::string on = st.step() ? st.text_at(0) : std::string();
    st.reset();
    return on;
}

}  // namespace

uint32_t join(Connection& db, const PoolMember& me, int64_t lease_ms) {
    // A name is taken over only when its lease has lapsed (or by the same incarnation): two
    // servers started under one name would otherwise serve the same rooms.
    std::string now = now_ms(db);
    auto& st = db.prepare(
        "INSERT INTO pool_members (name, peer_address, client_address, incarnation, web_url, "
        "lease_until_ms) VALUES (?, ?, ?, ?, ?, " +
        now +
        " + ?) ON CONFLICT (name) DO UPDATE SET peer_address = excluded.peer_address, "
        "client_address = excluded.client_address, incarnation = excluded.incarnation, "
        "web_url = excluded.web_url, renewed_on = '', "
        "lease_until_ms = excluded.lease_until_ms WHERE pool_members.lease_until_ms < " +
        now + " OR pool_members.incarnation = excluded.incarnation RETURNING number");
    st.bind(0, me.name)
        .bind(1, me.peer_address)
        .bind(2, me.client_address)
        .bind(3, me.incarnation)
        .bind(4, me.web_url)
        .bind(5, lease_ms);
    if (!st.step()) {
        st.reset();
        throw Conflict("another running server holds the pool name " + me.name);
    }
    auto number = uint32_t(st.int_at(0));
    st.reset();
    // What a former incarnation under this name claimed (killed, it let nothing go) is let go,
    // and fenced: held under the name of a live server, a room that hashes to another one now
    // could never be claimed there; a commit of the former incarnation is refused by the new
    // epoch.
    db.prepare("UPDATE rooms SET owner = '', epoch = epoch + 1 WHERE owner = ?")
        .bind(0, me.name)
        .run();
    return number;
}

std::vector<PoolMember> renew(Connection& db, const PoolMember& me, int64_t lease_ms) {
    std::string now = now_ms(db);
    std::string renewed_on = hold_member_lock(db, me.number);
    Transaction tx(db);
    db.prepare("UPDATE pool_members SET lease_until_ms = " + now +
               " + ?, renewed_on = ? WHERE name = ? AND incarnation = ? AND gone_incarnation <> "
               "incarnation")
        .bind(0, lease_ms)
        .bind(1, renewed_on)
        .bind(2, me.name)
        .bind(3, me.incarnation)
        .run();
    if (db.changes() == 0) {
        auto& gone = db.prepare(
            "SELECT 1 FROM pool_members WHERE name = ? AND incarnation = ? AND gone_incarnation = "
            "incarnation");
        gone.bind(0, me.name).bind(1, me.incarnation);
        bool taken_for_gone = gone.step();
        gone.reset();
        if (taken_for_gone)
            throw Conflict("the other servers took " + me.name +
                           " for gone while its lease had lapsed");
        throw Conflict("the pool name " + me.name + " was taken by another server");
    }
    auto& st = db.prepare(
        "SELECT number, name, peer_address, client_address, incarnation, web_url, "
        "CASE WHEN (NOT EXISTS (SELECT 1 FROM pool_slots) OR name IN (SELECT holder FROM "
        "pool_slots)) AND (NOT EXISTS (SELECT 1 FROM pool_active_list) OR name IN (SELECT "
        "server FROM pool_active_list)) THEN 1 ELSE 0 END FROM pool_members "
        "WHERE lease_until_ms > " +
        now + " ORDER BY number");
    std::vector<PoolMember> live;
    while (st.step())
        live.push_back({uint32_t(st.int_at(0)), st.text_at(1), st.text_at(2), st.text_at(3),
                        st.int_at(4), st.text_at(5), st.int_at(6) != 0});
    st.reset();
    tx.commit();
    return live;
}

bool end_if_gone(Connection& db, uint32_t number) {
    if (db.dialect() != Dialect::postgres) return false;
    std::string now = now_ms(db);
    db.prepare("UPDATE pool_members SET lease_until_ms = " + now +
               " WHERE number = ? AND lease_until_ms > " + now +
               " AND renewed_on <> '' AND "
               "renewed_on = " +
               kDatabaseStart +
               " AND NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
               "database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND "
               "classid::bigint = " +
               std::to_string(kMemberLocks) +
               " AND objid::bigint = ? AND objsubid = 2 AND granted)")
        .bind(0, int64_t(number))
        .bind(1, int64_t(number))
        .run();
    return db.changes() > 0;
}

void mark_gone(Connection& db, const PoolMember& m) {
    db.prepare(
          "UPDATE pool_members SET gone_incarnation = incarnation WHERE number = ? AND "
          "incarnation = ?")
        .bind(0, int64_t(m.number))
        .bind(1, m.incarnation)
        .run();
}

void leave(Connection& db, const PoolMember& me) {
    db.prepare("UPDATE pool_members SET lease_until_ms = 0 WHERE name = ? AND incarnation = ?")
        .bind(0, me.name)
        .bind(1, me.incarnation)
        .run();
}

std::vector<std::pair<PoolMember, bool>> members(Connection& db) {
    auto& st = db.prepare(
        "SELECT number, name, peer_address, client_address, incarnation, web_url, "
        "CASE WHEN lease_until_ms > " +
        now_ms(db) + " THEN 1 ELSE 0 END FROM pool_members ORDER BY number");
    std::vector<std::pair<PoolMember, bool>> out;
    while (st.step())
        out.push_back({{uint32_t(st.int_at(0)), st.text_at(1), st.text_at(2), st.text_at(3),
                        st.int_at(4), st.text_at(5)},
                       st.int_at(6) != 0});
    st.reset();
    return out;
}

int64_t publish_topology(Connection& db, const std::string& text, const std::string& by) {
    Transaction tx(db);
    auto& last = db.prepare("SELECT COALESCE(MAX(version), 0) FROM topology");
    int64_t version = (last.step() ? last.int_at(0) : 0) + 1;
    last.reset();
    db.prepare(
          "INSERT INTO topology (version, text, published_us, published_by) VALUES (?, ?, ?, ?)")
        .bind(0, version)
        .bind(1, text)
        .bind(2, util::now_us())
        .bind(3, by)
        .run();
    tx.commit();
    return version;
}

std::optional<PublishedTopology> published_topology(Connection& db) {
    auto& st = db.prepare(
        "SELECT version, text, published_us, published_by FROM topology ORDER BY version DESC "
        "LIMIT 1");
    std::optional<PublishedTopology> out;
    if (st.step())
        out = PublishedTopology{st.int_at(0), st.text_at(1), st.int_at(2), st.text_at(3)};
    st.reset();
    return out;
}

void sync_slots(Connection& db, const std::string& pool, const std::vector<std::string>& active) {
    Transaction tx(db);
    std::vector<std::string> gone;
    auto& st = db.prepare("SELECT slot FROM pool_slots WHERE pool = ?");
    st.bind(0, pool);
    while (st.step())
        if (std::find(active.begin(), active.end(), st.text_at(0)) == active.end())
            gone.push_back(st.text_at(0));
    st.reset();
    for (const auto& slot : gone)
        db.prepare("DELETE FROM pool_slots WHERE pool = ? AND slot = ?")
            .bind(0, pool)
            .bind(1, slot)
            .run();
    for (const auto& name : active)
        db.prepare(
              "INSERT INTO pool_slots (pool, slot, holder, since_us) VALUES (?, ?, ?, ?) "
              "ON CONFLICT (pool, slot) DO NOTHING")
            .bind(0, pool)
            .bind(1, name)
            .bind(2, name)
            .bind(3, util::now_us())
            .run();
    tx.commit();
}

std::vector<PoolSlot> slots(Connection& db) {
    auto& st =
        db.prepare("SELECT pool, slot, holder, since_us FROM pool_slots ORDER BY pool, slot");
    std::vector<PoolSlot> out;
    while (st.step()) out.push_back({st.text_at(0), st.text_at(1), st.text_at(2), st.int_at(3)});
    st.reset();
    return out;
}

std::optional<std::string> take_slot(Connection& db, const std::string& pool, const std::string& me,
                                     int64_t down_ms) {
    // The candidate first; then the change, only if the slot still has the holder seen (the
    // row's own value, checked again under its lock): two standbys cannot both take it.
    auto& st = db.prepare(
        "SELECT s.slot, s.holder FROM pool_slots s WHERE s.pool = ? AND NOT EXISTS (SELECT 1 "
        "FROM pool_slots mine WHERE mine.pool = s.pool AND mine.holder = ?) AND NOT EXISTS "
        "(SELECT 1 FROM pool_members m WHERE m.name = s.holder AND m.lease_until_ms > " +
        now_ms(db) + " - ?) AND s.since_us <= ? ORDER BY s.slot LIMIT 1");
    // A slot given out less than `down_ms` ago is not taken either: an active server slow to
    // start for the first time is not replaced at once, and a slot does not move back and forth.
    st.bind(0, pool).bind(1, me).bind(2, down_ms).bind(3, util::now_us() - down_ms * 1000);
    std::optional<std::pair<std::string, std::string>> found;
    if (st.step()) found.emplace(st.text_at(0), st.text_at(1));
    st.reset();
    if (!found || !assign_slot(db, pool, found->first, found->second, me)) return std::nullopt;
    return found->first;
}

void set_active_list(Connection& db, const std::string& pool,
                     const std::vector<std::string>& servers) {
    Transaction tx(db);
    db.prepare("DELETE FROM pool_active_list WHERE pool = ?").bind(0, pool).run();
    for (const auto& server : servers)
        db.prepare("INSERT INTO pool_active_list (pool, server) VALUES (?, ?)")
            .bind(0, pool)
            .bind(1, server)
            .run();
    tx.commit();
}

std::vector<std::string> active_list(Connection& db, const std::string& pool) {
    auto& st = db.prepare("SELECT server FROM pool_active_list WHERE pool = ? ORDER BY server");
    st.bind(0, pool);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text_at(0));
    st.reset();
    return out;
}

bool assign_slot(Connection& db, const std::string& pool, const std::string& slot,
                 const std::string& from, const std::string& holder) {
    db.prepare(
          "UPDATE pool_slots SET holder = ?, since_us = ? WHERE pool = ? AND slot = ? AND "
          "holder = ?")
        .bind(0, holder)
        .bind(1, util::now_us())
        .bind(2, pool)
        .bind(3, slot)
        .bind(4, from)
        .run();
    return db.changes() > 0;
}

std::optional<int64_t> claim_room(Connection& db, int64_t room_id, const std::string& server) {
    // The row lock this UPDATE takes orders it with every commit to the room (which updates
    // the same row's counter): a commit still running finishes under the old epoch, and any
    // later one sees the new epoch and is refused if it carries the old one.
    //
    // The claim does not wait for its own flush to disk (every room a server loads is claimed,
    // thousands at a start): whatever is committed under the new epoch is flushed later in the
    // same log, and flushing it flushes the claim first. A claim lost with a database crash
    // had nothing committed under it; the next commit is refused as stale and the room is
    // loaded, and claimed, again.
    const std::string update = "UPDATE rooms SET owner = ?, epoch = epoch + 1 WHERE id = ? AND " +
                               claimable(db) + " RETURNING epoch";
    auto claim = [&](Statement& st) {
        st.bind(0, server).bind(1, room_id).bind(2, server);
        std::optional<int64_t> epoch;
        if (st.step()) epoch = st.int_at(0);
        st.reset();
        return epoch;
    };
    if (db.dialect() == Dialect::postgres && !db.in_transaction()) {
        // One round trip, not four (BEGIN, SET LOCAL, UPDATE, COMMIT): the statement is its
        // own transaction, and set_config(…, true) holds until that transaction ends, its
        // commit included.
        return claim(db.prepare("WITH claimed AS (" + update +
                                ") SELECT epoch, set_config('synchronous_commit', 'off', true) "
                                "FROM claimed"));
    }
    // Inside another transaction, that one decides how it commits.
    Transaction tx(db);
    auto epoch = claim(db.prepare(update));
    tx.commit();
    return epoch;
}

std::map<int64_t, int64_t> claim_rooms(Connection& db, const std::vector<int64_t>& room_ids,
                                       const std::string& server) {
    std::map<int64_t, int64_t> epochs;
    if (db.dialect() != Dialect::postgres || db.in_transaction()) {
        for (int64_t id : room_ids)
            if (auto epoch = claim_room(db, id, server)) epochs[id] = *epoch;
        return epochs;
    }
    // One statement for the rooms no commit holds right now. It takes their row locks without
    // waiting (SKIP LOCKED): waiting for several in turn could close a circle with a commit
    // taking the same rooms' locks in another order (the room's former server, still
    // committing while it learns of the change). The rooms skipped are claimed one by one
    // after, each waiting for its commit as claim_room does.
    std::string free = claimable(db);
    PgArray ids;
    for (int64_t id : room_ids) ids.add(id);
    auto& st = db.prepare(
        "WITH free AS (SELECT id FROM rooms WHERE id = ANY(?::bigint[]) AND " + free +
        " FOR UPDATE OF rooms SKIP LOCKED), claimed AS (UPDATE rooms AS r SET owner = ?, epoch "
        "= r.epoch + 1 FROM free WHERE r.id = free.id RETURNING r.id, r.epoch) SELECT id, "
        "epoch, set_config('synchronous_commit', 'off', true) FROM claimed");
    st.bind(0, ids.str()).bind(1, server).bind(2, server);
    while (st.step()) epochs[st.int_at(0)] = st.int_at(1);
    st.reset();
    if (epochs.size() == room_ids.size()) return epochs;
    // Which of the rest were skipped for a lock, not held by another live server.
    PgArray rest;
    for (int64_t id : room_ids)
        if (!epochs.count(id)) rest.add(id);
    auto& skipped = db.prepare("SELECT id FROM rooms WHERE id = ANY(?::bigint[]) AND " + free);
    skipped.bind(0, rest.str()).bind(1, server);
    std::vector<int64_t> again;
    while (skipped.step()) again.push_back(skipped.int_at(0));
    skipped.reset();
    for (int64_t id : again)
        if (auto epoch = claim_room(db, id, server)) epochs[id] = *epoch;
    return epochs;
}

void release_room(Connection& db, int64_t room_id, const std::string& server, int64_t epoch) {
    db.prepare("UPDATE rooms SET owner = '' WHERE id = ? AND owner = ? AND epoch = ?")
        .bind(0, room_id)
        .bind(1, server)
        .bind(2, epoch)
        .run();
}

bool lead(Connection& db, const std::string& role, bool& held) {
    if (db.dialect() != Dialect::postgres) return held = true;
    // The key: the role's name hashed by PostgreSQL itself, the same on every server.
    auto& st =
        db.prepare("SELECT CASE WHEN pg_try_advisory_lock(hashtext(?::text)) THEN 1 ELSE 0 END");
    st.bind(0, role);
    bool got = st.step() && st.int_at(0) != 0;
    st.reset();
    if (got && held) {
        // Session locks stack: give back the one just taken, keep the first.
        auto& un = db.prepare("SELECT pg_advisory_unlock(hashtext(?::text))");
        un.bind(0, role);
        un.step();
        un.reset();
    }
    held = got;
    return got;
}

void note_change(Connection& db, std::string_view kind, std::string_view name) {
    db.prepare("INSERT INTO change_notices (kind, name, at_us) VALUES (?, ?, ?)")
        .bind(0, kind)
        .bind(1, name)
        .bind(2, util::now_us())
        .run();
}

std::vector<ChangeNotice> changes_after(Connection& db, int64_t id, int limit) {
    auto& st =
        db.prepare("SELECT id, kind, name FROM change_notices WHERE id > ? ORDER BY id LIMIT ?");
    st.bind(0, id).bind(1, int64_t(limit));
    std::vector<ChangeNotice> out;
    while (st.step()) out.push_back({st.int_at(0), st.text_at(1), st.text_at(2)});
    st.reset();
    return out;
}

int64_t last_change(Connection& db) {
    auto& st = db.prepare("SELECT COALESCE(MAX(id), 0) FROM change_notices");
    int64_t last = st.step() ? st.int_at(0) : 0;
    st.reset();
    return last;
}

}  // namespace perch::store::sql::pool
