#include "compliance/log.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "store/postgres/db.hpp"
#include "store/sqlite/db.hpp"
#include "util/crypto.hpp"
#include "util/time.hpp"

namespace perch::compliance {

using store::sql::Transaction;

namespace {
const std::string kGenesis(64, '0');

constexpr const char* kSchema = R"sql(
    CREATE TABLE IF NOT EXISTS events (
        seq           INTEGER PRIMARY KEY,
        outbox_id     INTEGER NOT NULL UNIQUE,
        ts_us         INTEGER NOT NULL,
        type          TEXT NOT NULL,
        actor         TEXT NOT NULL,
        room          TEXT NOT NULL,
        category      TEXT NOT NULL,
        content       TEXT NOT NULL,
        prev_hash     TEXT NOT NULL,
        hash          TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS events_room ON events (room, seq);
    CREATE INDEX IF NOT EXISTS events_actor ON events (actor, seq);
    CREATE TABLE IF NOT EXISTS anchor (
        one           INTEGER PRIMARY KEY CHECK (one = 1),
        seq           INTEGER NOT NULL,
        hash          TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS cursors (
        adapter       TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS checkpoints (
        signature     TEXT PRIMARY KEY,
        seq           INTEGER NOT NULL,
        hash          TEXT NOT NULL,
        ts_us         INTEGER NOT NULL,
        key_id        TEXT NOT NULL
    );
)sql";

LoggedEvent read_row(store::sql::Statement& st) {
    LoggedEvent e;
    e.seq = st.int_at(0);
    e.outbox_id = st.int_at(1);
    e.event.id = e.outbox_id;
    e.event.ts_us = st.int_at(2);
    e.event.type = st.text_at(3);
    e.event.actor = st.text_at(4);
    e.event.room = st.text_at(5);
    e.event.category = st.text_at(6);
    e.event.content = st.text_at(7);
    e.prev_hash = st.text_at(8);
    e.hash = st.text_at(9);
    return e;
}
}  // namespace

std::string chain_hash(const std::string& prev_hash, int64_t seq, const store::ComplianceEvent& e) {
    // Fields joined by a separator no field can hold unescaped (content is JSON, names are
    // usernames and room nodes).
    std::string data = prev_hash;
    for (const std::string& field : {std::to_string(seq), std::to_string(e.ts_us), e.type, e.actor,
                                     e.room, e.category, e.content}) {
        data += '\x1f';
        data += field;
    }
    return util::hex(util::digest(util::Hash::sha256, data));
}

namespace {
std::unique_ptr<store::sql::Connection> open_database(const std::string& path,
                                                      const std::string& url) {
    if (!url.empty()) {
        // The same tables; PostgreSQL's INTEGER is 32 bits, so every one becomes BIGINT.
        std::string schema = kSchema;
        for (size_t at = 0; (at = schema.find("INTEGER", at)) != std::string::npos;)
            schema.replace(at, 7, "BIGINT");
        auto db = std::make_unique<store::postgres::Connection>(url);
        db->exec(schema);
        return db;
    }
    auto db = std::make_unique<store::sqlite::Connection>(path);
    db->exec("PRAGMA journal_mode = WAL");
    db->exec("PRAGMA synchronous = FULL");
    db->exec(kSchema);
    return db;
}
}  // namespace

Log::Log(const std::string& path, const std::string& url)
    : connection_(open_database(path, url)), db_(*connection_) {}

int64_t Log::last_outbox_id() {
    auto& st = db_.prepare("SELECT coalesce(max(outbox_id), 0) FROM events");
    int64_t v = st.step() ? st.int_at(0) : 0;
    st.reset();
    return v;
}

int64_t Log::last_seq() {
    auto& st = db_.prepare("SELECT coalesce(max(seq), 0) FROM events");
    int64_t v = st.step() ? st.int_at(0) : 0;
    st.reset();
    return v;
}

int64_t Log::append(const std::vector<store::ComplianceEvent>& events) {
    Transaction tx(db_);
    int64_t taken = last_outbox_id();
    auto& last = db_.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1");
    int64_t seq = 0;
    std::string prev = kGenesis;
    if (last.step()) {
        seq = last.int_at(0);
        prev = last.text_at(1);
    } else if (auto a = anchor()) {
        std::tie(seq, prev) = *a;
    }
    last.reset();
    auto& insert = db_.prepare(
        "INSERT INTO events (seq, outbox_id, ts_us, type, actor, room, category, content, "
        "prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& e : events) {
        if (e.id <= taken) continue;  // moved before a crash, not yet forgotten by the outbox
        ++seq;
        std::string hash = chain_hash(prev, seq, e);
        insert.bind(0, seq)
            .bind(1, e.id)
            .bind(2, e.ts_us)
            .bind(3, e.type)
            .bind(4, e.actor)
            .bind(5, e.room)
            .bind(6, e.category)
            .bind(7, e.content)
            .bind(8, prev)
            .bind(9, hash)
            .run();
        prev = std::move(hash);
        taken = e.id;
    }
    tx.commit();
    return taken;
}

std::vector<LoggedEvent> Log::read(const Selection& s) {
    std::string sql =
        "SELECT seq, outbox_id, ts_us, type, actor, room, category, content, prev_hash, hash "
        "FROM events WHERE seq > ? AND ts_us >= ? AND ts_us <= ?";
    if (!s.room.empty()) sql += " AND room = ?";
    if (!s.user.empty()) sql += " AND actor = ?";
    sql += " ORDER BY seq";
    if (s.limit > 0) sql += " LIMIT " + std::to_string(s.limit);
    auto& st = db_.prepare(sql);
    st.bind(0, s.after_seq);
    st.bind(1, s.start_us.value_or(INT64_MIN));
    st.bind(2, s.end_us.value_or(INT64_MAX));
    int next = 3;
    if (!s.room.empty()) st.bind(next++, s.room);
    if (!s.user.empty()) st.bind(next++, s.user);
    std::vector<LoggedEvent> out;
    while (st.step()) out.push_back(read_row(st));
    return out;
}

VerifyResult Log::verify(const std::vector<Checkpoint>& given,
                         const std::vector<CheckpointKey>& keys) {
    VerifyResult r;
    // Each checkpoint once (the database's and the exported files' are mostly the same), by
    // the event it names.
    std::map<std::string, const Checkpoint*> unique;
    for (const auto& c : given) unique.emplace(c.signature, &c);
    std::multimap<int64_t, const Checkpoint*> at_seq;
    for (const auto& entry : unique) {
        const Checkpoint* c = entry.second;
        auto broken = [&](std::string why) {
            r.ok = false;
            r.broken_at = c->seq;
            r.reason = std::move(why);
        };
        auto key = std::find_if(keys.begin(), keys.end(),
                                [&](const CheckpointKey& k) { return k.key_id() == c->key_id; });
        if (key == keys.end())
            broken("the checkpoint signed at " + util::format_timestamp(c->ts_us) +
                   " is signed by a key not given (key id " + c->key_id + ")");
        else if (!key->verifies(*c))
            broken("the checkpoint signed at " + util::format_timestamp(c->ts_us) +
                   " does not verify: it was forged or changed");
        if (!r.ok) return r;
        at_seq.emplace(c->seq, c);
    }
    auto& st = db_.prepare(
        "SELECT seq, outbox_id, ts_us, type, actor, room, category, content, prev_hash, hash "
        "FROM events ORDER BY seq");
    std::string prev = kGenesis;
    int64_t expected = 1;
    // Holds the chain's hash at `seq` against the checkpoints of that event.
    auto hold = [&](int64_t seq, const std::string& hash) {
        for (auto [it, end] = at_seq.equal_range(seq); it != end && r.ok; ++it) {
            if (it->second->hash == hash) {
                ++r.checkpoints;
                continue;
            }
            r.ok = false;
            r.broken_at = seq;
            r.reason = "its hash is not the one signed at " +
                       util::format_timestamp(it->second->ts_us) +
                       ": the chain was rewritten up to here (and rehashed)";
        }
        return r.ok;
    };
    if (auto a = anchor()) {  // events before it were purged by retention
        expected = a->first + 1;
        prev = a->second;
        for (auto it = at_seq.begin(); it != at_seq.end() && it->first < a->first; ++it)
            ++r.checkpoints_purged;
        if (!hold(a->first, a->second)) return r;
    }
    while (st.step()) {
        auto e = read_row(st);
        ++r.checked;
        auto broken = [&](std::string why) {
            r.ok = false;
            r.broken_at = e.seq;
            r.reason = std::move(why);
        };
        if (e.seq != expected) {
            broken("event " + std::to_string(expected) + " is missing (next is " +
                   std::to_string(e.seq) + ")");
            r.broken_at = expected;
        } else if (e.prev_hash != prev)
            broken(
                "its link to the event before does not match (an event was removed or "
                "inserted before it)");
        else if (chain_hash(prev, e.seq, e.event) != e.hash)
            broken("its content does not match its hash (it was changed)");
        if (!r.ok) {
            st.reset();
            return r;
        }
        prev = e.hash;
        ++expected;
        if (!hold(e.seq, e.hash)) {
            st.reset();
            return r;
        }
    }
    if (!at_seq.empty() && at_seq.rbegin()->first > expected - 1) {
        const auto& last = *at_seq.rbegin()->second;
        r.ok = false;
        r.broken_at = expected;
        r.reason = "events from here on are missing (a checkpoint was signed at event " +
                   std::to_string(last.seq) + ", " + util::format_timestamp(last.ts_us) + ")";
        return r;
    }
    // Events cut off at the end leave no broken link; an export that went further shows it.
    auto& cursors = db_.prepare("SELECT coalesce(max(seq), 0) FROM cursors");
    int64_t exported = cursors.step() ? cursors.int_at(0) : 0;
    cursors.reset();
    if (exported > expected - 1) {
        r.ok = false;
        r.broken_at = expected;
        r.reason =
            "events from here on are missing (export went up to " + std::to_string(exported) + ")";
    }
    return r;
}

std::optional<std::pair<int64_t, std::string>> Log::head() {
    auto& last = db_.prepare("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1");
    std::optional<std::pair<int64_t, std::string>> out;
    if (last.step()) out.emplace(last.int_at(0), last.text_at(1));
    last.reset();
    if (!out) out = anchor();
    return out;
}

std::optional<Checkpoint> Log::checkpoint(const CheckpointKey& key) {
    auto h = head();
    if (!h) return std::nullopt;
    Checkpoint c = key.sign(h->first, h->second, util::now_us());
    db_.prepare(
           "INSERT INTO checkpoints (signature, seq, hash, ts_us, key_id) VALUES (?, ?, ?, ?, ?)")
        .bind(0, c.signature)
        .bind(1, c.seq)
        .bind(2, c.hash)
        .bind(3, c.ts_us)
        .bind(4, c.key_id)
        .run();
    return c;
}

std::vector<Checkpoint> Log::checkpoints() {
    auto& st = db_.prepare("SELECT seq, hash, ts_us, key_id, signature FROM checkpoints");
    std::vector<Checkpoint> out;
    while (st.step())
        out.push_back({st.int_at(0), st.text_at(1), st.int_at(2), st.text_at(3), st.text_at(4)});
    return out;
}

std::optional<std::pair<int64_t, std::string>> Log::anchor() {
    auto& st = db_.prepare("SELECT seq, hash FROM anchor WHERE one = 1");
    std::optional<std::pair<int64_t, std::string>> out;
    if (st.step()) out = std::pair{st.int_at(0), st.text_at(1)};
    st.reset();
    return out;
}

int64_t Log::purge(int64_t before_us, int64_t up_to_seq) {
    Transaction tx(db_);
    auto& last = db_.prepare(
        "SELECT seq, hash FROM events WHERE ts_us < ? AND seq <= ? ORDER BY seq DESC LIMIT 1");
    last.bind(0, before_us).bind(1, up_to_seq);
    if (!last.step()) {
        last.reset();
        return 0;
    }
    int64_t seq = last.int_at(0);
    std::string hash = last.text_at(1);
    last.reset();
    db_.prepare(
           "INSERT INTO anchor (one, seq, hash) VALUES (1, ?, ?) ON CONFLICT (one) DO UPDATE SET "
           "seq = excluded.seq, hash = excluded.hash")
        .bind(0, seq)
        .bind(1, hash)
        .run();
    db_.prepare("DELETE FROM events WHERE seq <= ?").bind(0, seq).run();
    int64_t n = db_.changes();
    tx.commit();
    return n;
}

int64_t Log::cursor(const std::string& adapter) {
    auto& st = db_.prepare("SELECT seq FROM cursors WHERE adapter = ?");
    st.bind(0, adapter);
    int64_t v = st.step() ? st.int_at(0) : 0;
    st.reset();
    return v;
}

void Log::set_cursor(const std::string& adapter, int64_t seq) {
    db_.prepare(
           "INSERT INTO cursors (adapter, seq) VALUES (?, ?) ON CONFLICT (adapter) DO UPDATE SET "
           "seq = excluded.seq")
        .bind(0, adapter)
        .bind(1, seq)
        .run();
}

}  // namespace perch::compliance
