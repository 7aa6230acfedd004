#include "store/sql/direct.hpp"

#include <algorithm>

namespace perch::store::sql::direct {
namespace {

constexpr const char* kColumns =
    "id, owner, peer, outgoing, stanza_id, ts_us, body, stanza, archived, pending";

DirectMessage read(Statement& st) {
    DirectMessage m;
    m.id = st.int_at(0);
    m.owner = st.text_at(1);
    m.peer = st.text_at(2);
    m.outgoing = st.int_at(3) != 0;
    m.stanza_id = st.text_at(4);
    m.ts_us = st.int_at(5);
    m.body = st.text_at(6);
    m.stanza = st.text_at(7);
    m.archived = st.int_at(8) != 0;
    m.pending = st.int_at(9) != 0;
    return m;
}

std::vector<DirectMessage> read_all(Statement& st) {
    std::vector<DirectMessage> out;
    while (st.step()) out.push_back(read(st));
    return out;
}

void insert(Connection& db, const DirectMessage& m) {
    db.prepare(
          "INSERT INTO direct_messages (owner, peer, outgoing, stanza_id, ts_us, body, stanza, "
          "archived, pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(0, m.owner)
        .bind(1, m.peer)
        .bind(2, int64_t(m.outgoing))
        .bind(3, m.stanza_id)
        .bind(4, m.ts_us)
        .bind(5, m.body)
        .bind(6, m.stanza)
        .bind(7, int64_t(m.archived))
        .bind(8, int64_t(m.pending))
        .run();
}
}  // namespace

void add(Connection& db, const std::vector<DirectMessage>& copies) {
    Transaction tx(db);
    for (const auto& m : copies)
        if (m.archived || m.pending) insert(db, m);
    tx.commit();
}

void keep_undelivered(Connection& db, const std::vector<DirectMessage>& copies) {
    Transaction tx(db);
    for (const auto& m : copies) {
        db.prepare("UPDATE direct_messages SET pending = 1 WHERE owner = ? AND stanza_id = ?")
            .bind(0, m.owner)
            .bind(1, m.stanza_id)
            .run();
        if (db.changes() > 0) continue;
        auto copy = m;
        copy.archived = false;
        copy.pending = true;
        insert(db, copy);
    }
    tx.commit();
}

int64_t count_pending(Connection& db, std::string_view owner) {
    auto& st = db.prepare("SELECT count(*) FROM direct_messages WHERE owner = ? AND pending = 1");
    st.bind(0, owner);
    int64_t n = st.step() ? st.int_at(0) : 0;
    st.reset();
    return n;
}

std::vector<DirectMessage> take_pending(Connection& db, std::string_view owner, int limit) {
    Transaction tx(db);
    auto& st = db.prepare(std::string("SELECT ") + kColumns +
                          " FROM direct_messages WHERE owner = ? AND pending = 1 ORDER BY ts_us, "
                          "id LIMIT ?");
    st.bind(0, owner).bind(1, int64_t(limit));
    auto out = read_all(st);
    if (!out.empty()) {
        const auto& last = out.back();
        for (const char* sql :
             {"DELETE FROM direct_messages WHERE owner = ? AND pending = 1 AND archived = 0 AND "
              "(ts_us, id) <= (?, ?)",
              "UPDATE direct_messages SET pending = 0 WHERE owner = ? AND pending = 1 AND "
              "(ts_us, id) <= (?, ?)"})
            db.prepare(sql).bind(0, owner).bind(1, last.ts_us).bind(2, last.id).run();
    }
    tx.commit();
    return out;
}

DirectPage query(Connection& db, std::string_view owner, const ArchiveQuery& q) {
    // Filters shared by the page and the count, bound in this order.
    std::string where = " FROM direct_messages WHERE owner = ? AND archived = 1";
    std::vector<std::string> texts;
    std::vector<int64_t> numbers;  // after the texts
    if (!q.with_sender.empty()) where += " AND peer = ?", texts.push_back(q.with_sender);
    if (!q.ids.empty()) {
        where += " AND stanza_id IN (";
        for (size_t i = 0; i < q.ids.size(); ++i) {
            where += i ? ", ?" : "?";
            texts.push_back(q.ids[i]);
        }
        where += ")";
    }
    if (q.start_us) where += " AND ts_us >= ?", numbers.push_back(*q.start_us);
    if (q.end_us) where += " AND ts_us <= ?", numbers.push_back(*q.end_us);
    auto bind_filters = [&](Statement& st) {
        int at = 0;
        st.bind(at++, owner);
        for (const auto& t : texts) st.bind(at++, t);
        for (int64_t n : numbers) st.bind(at++, n);
        return at;
    };
    // Where a message stands: (time routed, storage order). Time first: a reply routed after
    // the message it answers may be stored before it when their senders' writes race.
    auto position_of = [&](const std::string& stanza_id) {
        auto& st =
            db.prepare("SELECT ts_us, id FROM direct_messages WHERE owner = ? AND stanza_id = ?");
        st.bind(0, owner).bind(1, stanza_id);
        if (!st.step()) {
            st.reset();
            throw UnknownId("no message " + stanza_id + " here");
        }
        std::pair<int64_t, int64_t> at{st.int_at(0), st.int_at(1)};
        st.reset();
        return at;
    };
    std::string page_where = where;
    std::vector<int64_t> bounds;
    for (const auto& [bound, op] : {std::pair{q.after_id, ">"}, std::pair{q.before_id, "<"}}) {
        if (!bound) continue;
        auto at = position_of(*bound);
        page_where += std::string(" AND (ts_us, id) ") + op + " (?, ?)";
        bounds.push_back(at.first);
        bounds.push_back(at.second);
    }
    bool backwards = q.before_id.has_value() || (q.last_page && !q.after_id);
    int max = std::max(0, q.max);

    DirectPage page;
    auto st = db.statement(std::string("SELECT ") + kColumns + page_where +
                           (backwards ? " ORDER BY ts_us DESC, id DESC" : " ORDER BY ts_us, id") +
                           " LIMIT ?");
    int next = bind_filters(*st);
    for (int64_t b : bounds) st->bind(next++, b);
    st->bind(next, int64_t(max) + 1);
    page.messages = read_all(*st);
    page.complete = page.messages.size() <= size_t(max);
    if (!page.complete) page.messages.pop_back();
    if (backwards) std::reverse(page.messages.begin(), page.messages.end());

    int64_t limit = std::max<int64_t>(0, q.count_limit);
    auto count_upto = [&](const DirectMessage* below) {
        auto c = db.statement("SELECT count(*) FROM (SELECT 1" + where +
                              (below ? " AND (ts_us, id) < (?, ?)" : "") + " LIMIT ?) AS capped");
        int at = bind_filters(*c);
        if (below) {
            c->bind(at++, below->ts_us);
            c->bind(at++, below->id);
        }
        c->bind(at, limit + 1);
        return c->step() ? c->int_at(0) : 0;
    };
    int64_t counted = count_upto(nullptr);
    page.count_exact = counted <= limit;
    page.count = std::min(counted, limit);
    if (!page.messages.empty()) {
        int64_t before = count_upto(&page.messages.front());
        if (before <= limit) page.first_index = before;
    }
    return page;
}

std::vector<DirectMessage> in_order(Connection& db, int64_t after, int limit) {
    auto& st = db.prepare(std::string("SELECT ") + kColumns +
                          " FROM direct_messages WHERE id > ? ORDER BY id LIMIT ?");
    st.bind(0, after).bind(1, int64_t(limit));
    return read_all(st);
}

int64_t purge_before(Connection& db, int64_t before_us) {
    db.prepare("DELETE FROM direct_messages WHERE ts_us < ? AND pending = 0")
        .bind(0, before_us)
        .run();
    return db.changes();
}

std::vector<std::string> blocked(Connection& db, std::string_view username) {
    auto& st = db.prepare("SELECT jid FROM blocked_jids WHERE username = ? ORDER BY jid");
    st.bind(0, username);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text_at(0));
    return out;
}

void set_blocked(Connection& db, std::string_view username, const std::vector<std::string>& jids,
                 bool block) {
    Transaction tx(db);
    auto& st = db.prepare(block ? "INSERT INTO blocked_jids (username, jid) VALUES (?, ?) ON "
                                  "CONFLICT DO NOTHING"
                                : "DELETE FROM blocked_jids WHERE username = ? AND jid = ?");
    for (const auto& j : jids) st.bind(0, username).bind(1, j).run();
    tx.commit();
}

void unblock_all(Connection& db, std::string_view username) {
    db.prepare("DELETE FROM blocked_jids WHERE username = ?").bind(0, username).run();
}

std::vector<std::pair<std::string, std::string>> all_blocked(Connection& db) {
    auto& st = db.prepare("SELECT username, jid FROM blocked_jids ORDER BY username, jid");
    std::vector<std::pair<std::string, std::string>> out;
    while (st.step()) out.emplace_back(st.text_at(0), st.text_at(1));
    return out;
}

std::optional<std::string> vcard(Connection& db, std::string_view username) {
    auto& st = db.prepare("SELECT xml FROM vcards WHERE username = ?");
    st.bind(0, username);
    std::optional<std::string> out;
    if (st.step()) out = st.text_at(0);
    st.reset();
    return out;
}

void set_vcard(Connection& db, std::string_view username, const std::string& xml) {
    db.prepare(
          "INSERT INTO vcards (username, xml) VALUES (?, ?) ON CONFLICT (username) DO UPDATE SET "
          "xml = excluded.xml")
        .bind(0, username)
        .bind(1, xml)
        .run();
}

}  // namespace perch::store::sql::direct
