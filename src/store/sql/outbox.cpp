#include "store/sql/outbox.hpp"

#include <map>

#include "store/sql/pg_array.hpp"
#include "util/json.hpp"
#include "util/time.hpp"

namespace perch::store::sql::outbox {

std::vector<ComplianceEvent> chat_events(Connection& db, const std::vector<Message>& messages) {
    std::map<int64_t, std::pair<std::string, std::string>> where;  // room id: node, category
    for (const auto& m : messages) {
        if (where.count(m.room_id)) continue;
        auto& st = db.prepare(
            "SELECT r.node, c.name FROM rooms r JOIN categories c ON c.id = r.category_id WHERE "
            "r.id = ?");
        st.bind(0, m.room_id);
        if (st.step()) where[m.room_id] = {st.text_at(0), st.text_at(1)};
        st.reset();
    }
    std::vector<ComplianceEvent> out;
    out.reserve(messages.size());
    for (const auto& m : messages) out.push_back(chat_event(m, where[m.room_id]));
    return out;
}

ComplianceEvent chat_event(const Message& m, const std::pair<std::string, std::string>& where) {
    ComplianceEvent e;
    e.ts_us = m.ts_us;
    e.type = "CHAT";
    e.actor = m.sender.substr(0, m.sender.find('@'));
    e.room = where.first;
    e.category = where.second;
    e.content = util::json_object({{"id", m.stanza_id},
                                   {"seq", std::to_string(m.seq)},
                                   {"sender", m.sender},
                                   {"nick", m.nick},
                                   {"kind", m.kind == MessageKind::alert   ? "alert"
                                            : m.kind == MessageKind::story ? "story"
                                                                           : "normal"},
                                   {"body", m.body}});
    return e;
}

void insert(Connection& db, const std::vector<ComplianceEvent>& events) {
    if (events.empty()) return;
    if (db.dialect() == Dialect::postgres) {
        PgArray a[6];
        for (const auto& e : events) {
            a[0].add(e.ts_us ? e.ts_us : util::now_us()), a[1].add(e.type), a[2].add(e.actor);
            a[3].add(e.room), a[4].add(e.category);
            a[5].add(e.content.empty() ? std::string("{}") : e.content);
        }
        auto& st = db.prepare(
            "INSERT INTO compliance_outbox (ts_us, type, actor, room, category, content) SELECT "
            "ts_us, type, actor, room, category, content FROM unnest(?::bigint[], ?::text[], "
            "?::text[], ?::text[], ?::text[], ?::text[]) "
            "WITH ORDINALITY AS e(ts_us, type, actor, room, category, content, n) ORDER BY n");
        for (int i = 0; i < 6; ++i) st.bind(i, a[i].str());
        st.run();
        return;
    }
    auto& st = db.prepare(
        "INSERT INTO compliance_outbox (ts_us, type, actor, room, category, content) VALUES "
        "(?, ?, ?, ?, ?, ?)");
    for (const auto& e : events)
        st.bind(0, e.ts_us ? e.ts_us : util::now_us())
            .bind(1, e.type)
            .bind(2, e.actor)
            .bind(3, e.room)
            .bind(4, e.category)
            .bind(5, e.content.empty() ? std::string("{}") : e.content)
            .run();
}

std::vector<ComplianceEvent> oldest(Connection& db, int limit) {
    auto& st = db.prepare(
        "SELECT id, ts_us, type, actor, room, category, content FROM compliance_outbox ORDER "
        "BY id LIMIT ?");
    st.bind(0, int64_t(limit));
    std::vector<ComplianceEvent> out;
    while (st.step())
        out.push_back({st.int_at(0), st.int_at(1), st.text_at(2), st.text_at(3), st.text_at(4),
                       st.text_at(5), st.text_at(6)});
    return out;
}

void forget_up_to(Connection& db, int64_t id) {
    db.prepare("DELETE FROM compliance_outbox WHERE id <= ?").bind(0, id).run();
}

}  // namespace perch::store::sql::outbox
