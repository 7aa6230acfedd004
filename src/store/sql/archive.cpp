#include "store/sql/archive.hpp"

#include <algorithm>
#include <variant>

#include "store/search_query.hpp"
#include "store/sql/rows.hpp"

namespace perch::store::sql {

ArchivePage query_archive(Connection& db, const ArchiveQuery& q) {
    // Filters shared by the page, the count and the index: built once, bound in order.
    // Pages follow the global insertion order (`id`), which within one room is the order
    // of its sequence numbers, so one room and many rooms page alike.
    std::vector<std::variant<int64_t, std::string>> args;
    std::string rooms;
    if (q.room_ids.empty()) {
        rooms = "room_id = ?";
        args.emplace_back(q.room_id);
    } else {
        rooms = "room_id IN (";
        for (size_t i = 0; i < q.room_ids.size(); ++i) {
            rooms += i ? ", ?" : "?";
            args.emplace_back(q.room_ids[i]);
        }
        rooms += ")";
    }
    std::string where = " WHERE " + rooms;
    size_t room_args = args.size();
    if (q.start_us) where += " AND ts_us >= ?", args.emplace_back(*q.start_us);
    if (q.end_us) where += " AND ts_us <= ?", args.emplace_back(*q.end_us);
    if (!q.with_nick.empty()) where += " AND nick = ?", args.emplace_back(q.with_nick);
    if (!q.with_sender.empty()) where += " AND sender = ?", args.emplace_back(q.with_sender);
    if (auto terms = parse_search(q.text); !terms.empty()) {
        bool postgres = db.dialect() == Dialect::postgres;
        if (postgres) {
            // Each term a phrase query over the same words the index holds (see the
            // PostgreSQL schema's perch_search_words), joined by && or ||.
            where += " AND words @@ (";
            for (size_t i = 0; i < terms.size(); ++i) {
                if (i) where += q.any_word ? " || " : " && ";
                where += "phraseto_tsquery('simple', perch_search_words(?))";
                std::string words;
                for (size_t w = 0; w < terms[i].words.size(); ++w)
                    words += (w ? " " : "") + terms[i].words[w];
                args.emplace_back(std::move(words));
            }
            where += ")";
        } else {
            // A few rooms narrow the index search itself; many would make a huge expression,
            // and then the word's matches are filtered by room afterwards.
            constexpr size_t kRoomsInIndexQuery = 64;
            std::vector<int64_t> in_rooms = q.room_ids;
            if (in_rooms.empty()) in_rooms.push_back(q.room_id);
            if (in_rooms.size() > kRoomsInIndexQuery) in_rooms.clear();
            where += " AND id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)";
            args.emplace_back(to_fts5(terms, q.any_word, in_rooms));
        }
        if (q.case_sensitive) {
            // The index matched regardless of case; the body must hold the exact text.
            std::string clause;
            for (const auto& t : terms) {
                std::string words;
                for (size_t i = 0; i < t.words.size(); ++i) words += (i ? " " : "") + t.words[i];
                clause += std::string(clause.empty() ? ""
                                      : q.any_word   ? " OR "
                                                     : " AND ") +
                          (postgres ? "strpos(body, ?) > 0" : "instr(body, ?) > 0");
                args.emplace_back(words);
            }
            where += " AND (" + clause + ")";
        }
    }
    if (!q.ids.empty()) {
        where += " AND stanza_id IN (";
        for (size_t i = 0; i < q.ids.size(); ++i) {
            where += i ? ", ?" : "?";
            args.emplace_back(q.ids[i]);
        }
        where += ")";
    }
    auto bind_all = [&](Statement& st, size_t count) {
        for (size_t i = 0; i < count; ++i) {
            if (auto* v = std::get_if<int64_t>(&args[i]))
                st.bind(int(i), *v);
            else
                st.bind(int(i), std::get<std::string>(args[i]));
        }
        return int(count);
    };
    auto id_of = [&](const std::string& stanza_id) {
        auto st = db.statement("SELECT id FROM messages WHERE " + rooms + " AND stanza_id = ?");
        int at = bind_all(*st, room_args);
        st->bind(at, stanza_id);
        if (!st->step()) throw UnknownId("no message " + stanza_id + " here");
        return st->int_at(0);
    };
    std::string page_where = where;
    std::vector<int64_t> bounds;
    if (q.after_id) page_where += " AND id > ?", bounds.push_back(id_of(*q.after_id));
    if (q.before_id) page_where += " AND id < ?", bounds.push_back(id_of(*q.before_id));
    // Paging backwards (RSM <before>) reads newest first and flips the page.
    bool backwards = q.before_id.has_value() || (q.last_page && !q.after_id);
    int max = std::max(0, q.max);

    ArchivePage page;
    auto page_query =
        db.statement(std::string("SELECT ") + kMessageColumns + ", id FROM messages" + page_where +
                     " ORDER BY id " + (backwards ? "DESC" : "ASC") + " LIMIT ?");
    auto& st = *page_query;
    int next = bind_all(st, args.size());
    for (int64_t b : bounds) st.bind(next++, b);
    st.bind(next, int64_t(max) + 1);
    std::vector<int64_t> ids;
    while (st.step()) {
        page.messages.push_back(read_message(st));
        ids.push_back(st.int_at(12));
    }
    page.complete = page.messages.size() <= size_t(max);
    if (!page.complete) page.messages.pop_back(), ids.pop_back();
    if (backwards) {
        std::reverse(page.messages.begin(), page.messages.end());
        std::reverse(ids.begin(), ids.end());
    }

    auto count = db.statement("SELECT count(*) FROM messages" + where);
    bind_all(*count, args.size());
    page.count = count->step() ? count->int_at(0) : 0;
    if (!ids.empty()) {
        auto index = db.statement("SELECT count(*) FROM messages" + where + " AND id < ?");
        int at = bind_all(*index, args.size());
        index->bind(at, ids.front());
        page.first_index = index->step() ? index->int_at(0) : 0;
    }
    return page;
}

}  // namespace perch::store::sql
