#include "store/sql/archive.hpp"

#include <algorithm>
#include <variant>

#include "store/search_query.hpp"
#include "store/sql/rows.hpp"

namespace perch::store::sql {
namespace {

// kMessageColumns with each column named as messages.<column>, for queries that join the
// full-text index (whose own `body` column would make the bare name ambiguous).
std::string qualify_message_columns() {
    std::string out, columns = kMessageColumns;
    size_t at = 0;
    while (at < columns.size()) {
        size_t end = columns.find(", ", at);
        if (end == std::string::npos) end = columns.size();
        out += (out.empty() ? "messages." : ", messages.") + columns.substr(at, end - at);
        at = end + 2;
    }
    return out;
}

using Arg = std::variant<int64_t, std::string>;

int bind_args(Statement& st, const std::vector<Arg>& args, int from = 0) {
    for (const auto& a : args) {
        if (auto* v = std::get_if<int64_t>(&a))
            st.bind(from++, *v);
        else
            st.bind(from++, std::get<std::string>(a));
    }
    return from;
}

}  // namespace

ArchivePage query_archive(Connection& db, const ArchiveQuery& q) {
    // Text without a word (",", "_") matches nothing, rather than filtering nothing.
    if (!q.text.empty() && parse_search(q.text).empty()) {
        ArchivePage none;
        none.complete = true;
        return none;
    }
    // Filters shared by the page, the count and the index: built once, bound in order.
    std::vector<Arg> room_args, args;
    std::string rooms;
    if (q.room_ids.empty()) {
        rooms = "messages.room_id = ?";
        room_args.emplace_back(q.room_id);
    } else {
        rooms = "messages.room_id IN (";
        for (size_t i = 0; i < q.room_ids.size(); ++i) {
            rooms += i ? ", ?" : "?";
            room_args.emplace_back(q.room_ids[i]);
        }
        rooms += ")";
    }
    bool postgres = db.dialect() == Dialect::postgres;
    auto terms = parse_search(q.text);
    // SQLite answers a word search from the index outwards: FTS5 hands back its matches newest
    // first, each joined to its message, so a page stops after `max` rows that pass the other
    // filters instead of collecting every match of a common word first.
    bool from_index = !terms.empty() && !postgres;
    std::string from =
        from_index ? " FROM messages_fts CROSS JOIN messages ON messages.id = messages_fts.rowid"
                   : " FROM messages";
    // What pages are ordered by: the storage order (`id`) across rooms; within one room that
    // is the order of its sequence numbers, so one room walks its (room, seq) index and reads
    // only the page.
    std::string key = q.room_ids.empty() && !from_index ? "messages.seq" : "messages.id";
    std::string id_column = from_index ? "messages_fts.rowid" : key;
    std::string where = " WHERE ";
    if (from_index) {
        // A few rooms narrow the index search itself; many would make a huge expression,
        // and then the word's matches are filtered by room on the message.
        constexpr size_t kRoomsInIndexQuery = 64;
        std::vector<int64_t> in_rooms = q.room_ids;
        if (in_rooms.empty()) in_rooms.push_back(q.room_id);
        if (in_rooms.size() > kRoomsInIndexQuery) in_rooms.clear();
        where += "messages_fts MATCH ? AND ";
        args.emplace_back(to_fts5(terms, q.any_word, in_rooms));
    }
    where += rooms;
    args.insert(args.end(), room_args.begin(), room_args.end());
    if (q.start_us) where += " AND messages.ts_us >= ?", args.emplace_back(*q.start_us);
    if (q.end_us) where += " AND messages.ts_us <= ?", args.emplace_back(*q.end_us);
    if (!q.with_nick.empty()) where += " AND messages.nick = ?", args.emplace_back(q.with_nick);
    if (!q.with_sender.empty())
        where += " AND messages.sender = ?", args.emplace_back(q.with_sender);
    if (!terms.empty()) {
        auto phrase = [](const SearchTerm& t) {
            std::string words;
            for (size_t w = 0; w < t.words.size(); ++w) words += (w ? " " : "") + t.words[w];
            return words;
        };
        if (postgres) {
            // Each term a phrase query over the same words the index holds (see the
            // PostgreSQL schema's perch_search_words), joined by && or ||.
            where += " AND messages.words @@ (";
            for (size_t i = 0; i < terms.size(); ++i) {
                if (i) where += q.any_word ? " || " : " && ";
                where += "phraseto_tsquery('simple', perch_search_words(?))";
                args.emplace_back(phrase(terms[i]));
            }
            where += ")";
        }
        if (q.case_sensitive) {
            // The index matched regardless of case; the body must hold the exact text.
            std::string clause;
            for (const auto& t : terms) {
                if (!clause.empty()) clause += q.any_word ? " OR " : " AND ";
                clause += postgres ? "strpos(messages.body, ?) > 0" : "instr(messages.body, ?) > 0";
                args.emplace_back(phrase(t));
            }
            where += " AND (" + clause + ")";
        }
    }
    if (!q.ids.empty()) {
        where += " AND messages.stanza_id IN (";
        for (size_t i = 0; i < q.ids.size(); ++i) {
            where += i ? ", ?" : "?";
            args.emplace_back(q.ids[i]);
        }
        where += ")";
    }
    auto id_of = [&](const std::string& stanza_id) {
        auto st = db.statement("SELECT " + key + " FROM messages WHERE " + rooms +
                               " AND messages.stanza_id = ?");
        st->bind(bind_args(*st, room_args), stanza_id);
        if (!st->step()) throw UnknownId("no message " + stanza_id + " here");
        return st->int_at(0);
    };
    std::string page_where = where;
    std::vector<int64_t> bounds;
    if (q.after_id)
        page_where += " AND " + id_column + " > ?", bounds.push_back(id_of(*q.after_id));
    if (q.before_id)
        page_where += " AND " + id_column + " < ?", bounds.push_back(id_of(*q.before_id));
    // Paging backwards (RSM <before>) reads newest first and flips the page.
    bool backwards = q.before_id.has_value() || (q.last_page && !q.after_id);
    int max = std::max(0, q.max);

    ArchivePage page;
    static const std::string kColumns = qualify_message_columns();
    auto page_query =
        db.statement("SELECT " + kColumns + ", " + key + from + page_where + " ORDER BY " +
                     id_column + (backwards ? " DESC" : " ASC") + " LIMIT ?");
    auto& st = *page_query;
    int next = bind_args(st, args);
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

    // The count and the index are counted up to a limit: past it, a common word in a large
    // archive would cost a walk over all its matches for a number nobody reads exactly.
    int64_t limit = std::max<int64_t>(0, q.count_limit);
    auto count_upto = [&](const std::string& extra, std::optional<int64_t> below) {
        auto st = db.statement("SELECT count(*) FROM (SELECT 1" + from + where + extra +
                               " LIMIT ?) AS capped");
        int at = bind_args(*st, args);
        if (below) st->bind(at++, *below);
        st->bind(at, limit + 1);
        return st->step() ? st->int_at(0) : 0;
    };
    int64_t counted = count_upto("", std::nullopt);
    page.count_exact = counted <= limit;
    page.count = std::min(counted, limit);
    if (ids.empty()) {
        // No page, no index.
    } else if (!backwards && !q.after_id) {
        page.first_index = 0;  // the page starts at the first match
    } else if (backwards && !q.before_id) {
        // The newest page ends at the last match.
        if (page.count_exact) page.first_index = page.count - int64_t(ids.size());
    } else if (int64_t before = count_upto(" AND " + id_column + " < ?", ids.front());
               before <= limit) {
        page.first_index = before;
    }
    return page;
}

}  // namespace perch::store::sql
