#include "store/sql/room_loads.hpp"

#include <algorithm>
#include <unordered_map>

#include "store/sql/pg_array.hpp"
#include "store/sql/rows.hpp"

namespace perch::store::sql::room_loads {

namespace {

std::string sql(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts) out += p;
    return out;
}

template <class Values>
std::string pg_array(const Values& values) {
    PgArray a;
    for (const auto& v : values) a.add(v);
    return a.str();
}

// Each statement's rows, read with `read`; `bind` binds its parameters.
template <class Read, class Bind>
void each_row(Connection& db, const std::string& query, Bind bind, Read read) {
    auto& st = db.prepare(query);
    bind(st);
    while (st.step()) read(st);
    st.reset();
}

}  // namespace

std::vector<Room> find(Connection& db, const std::vector<std::string>& nodes) {
    std::vector<Room> out;
    auto keep = [&](Statement& st) { out.push_back(read_room(st)); };
    if (db.dialect() == Dialect::postgres) {
        each_row(
            db, sql({"SELECT ", kRoomColumns, " FROM rooms WHERE node = ANY(?::text[])"}),
            [&](Statement& st) { st.bind(0, pg_array(nodes)); }, keep);
        return out;
    }
    std::string query = sql({"SELECT ", kRoomColumns, " FROM rooms WHERE node = ?"});
    for (const auto& node : nodes)
        each_row(
            db, query, [&](Statement& st) { st.bind(0, node); }, keep);
    return out;
}

std::vector<ServedRoom> to_serve(Connection& db, const std::vector<int64_t>& room_ids,
                                 int history) {
    std::vector<ServedRoom> out;
    std::unordered_map<int64_t, size_t> at;  // room id -> its place in `out`
    auto add_room = [&](Statement& st) {
        ServedRoom r;
        r.room = read_room(st);
        at[r.room.id] = out.size();
        out.push_back(std::move(r));
    };
    // Principals: (room id, list, principal); messages: the message columns.
    auto add_principal = [&](Statement& st) {
        auto list = parse_room_list(st.text_at(1));
        auto principal = parse_principal(st.text_at(2));
        auto it = at.find(st.int_at(0));
        if (list && principal && it != at.end())
            out[it->second].principals.emplace_back(*list, std::move(*principal));
    };
    auto add_message = [&](Statement& st) {
        Message m = read_message(st);
        auto it = at.find(m.room_id);
        if (it != at.end()) out[it->second].recent.push_back(std::move(m));
    };
    std::string principals = "SELECT room_id, list, principal FROM room_principals WHERE ";
    // Walks each room's sequence index backwards and stops after `history` rows.
    std::string newest = sql({"SELECT ", kMessageColumns, " FROM messages WHERE room_id = "});
    std::string newest_tail = " ORDER BY seq DESC LIMIT ?";
    if (db.dialect() == Dialect::postgres) {
        std::string ids = pg_array(room_ids);
        auto bind_ids = [&](Statement& st) { st.bind(0, ids); };
        each_row(db, sql({"SELECT ", kRoomColumns, " FROM rooms WHERE id = ANY(?::bigint[])"}),
                 bind_ids, add_room);
        each_row(db, principals + "room_id = ANY(?::bigint[]) ORDER BY room_id, list, principal",
                 bind_ids, add_principal);
        if (history > 0)
            each_row(
                db,
                "SELECT m.* FROM unnest(?::bigint[]) AS r(id) CROSS JOIN LATERAL (" + newest +
                    "r.id" + newest_tail + ") AS m",
                [&](Statement& st) { st.bind(0, ids).bind(1, int64_t(history)); }, add_message);
    } else {
        std::string room = sql({"SELECT ", kRoomColumns, " FROM rooms WHERE id = ?"});
        std::string lists = principals + "room_id = ? ORDER BY list, principal";
        std::string messages = newest + "?" + newest_tail;
        for (int64_t id : room_ids)
            each_row(
                db, room, [&](Statement& st) { st.bind(0, id); }, add_room);
        for (size_t i = 0, n = out.size(); i < n; ++i) {
            int64_t id = out[i].room.id;
            auto bind_id = [&](Statement& st) { st.bind(0, id); };
            each_row(db, lists, bind_id, add_principal);
            if (history > 0)
                each_row(
                    db, messages, [&](Statement& st) { st.bind(0, id).bind(1, int64_t(history)); },
                    add_message);
        }
    }
    // Newest first from the database; oldest first for the room.
    for (auto& r : out) std::reverse(r.recent.begin(), r.recent.end());
    return out;
}

}  // namespace perch::store::sql::room_loads
