#include "store/sql/following.hpp"

#include "store/sql/rows.hpp"

namespace perch::store::sql::following {

void mark_read(Connection& db, const std::vector<ReadMark>& marks) {
    Transaction tx(db);
    // A mark for a room deleted meanwhile is dropped, not an error that loses the whole batch.
    for (const auto& m : marks)
        db.prepare(
              "INSERT INTO read_marks (username, room_id, seq) SELECT ?, ?, ? WHERE EXISTS "
              "(SELECT 1 FROM rooms WHERE id = ?) ON CONFLICT (username, room_id) DO UPDATE SET "
              "seq = CASE WHEN excluded.seq > read_marks.seq THEN excluded.seq ELSE "
              "read_marks.seq END")
            .bind(0, m.username)
            .bind(1, m.room_id)
            .bind(2, m.seq)
            .bind(3, m.room_id)
            .run();
    tx.commit();
}

std::vector<RoomActivity> activity(Connection& db, std::string_view username,
                                   const std::vector<int64_t>& room_ids, int64_t cap) {
    std::vector<RoomActivity> out;
    for (int64_t room_id : room_ids) {
        RoomActivity a;
        a.room_id = room_id;
        auto& mark = db.prepare("SELECT seq FROM read_marks WHERE username = ? AND room_id = ?");
        mark.bind(0, username).bind(1, room_id);
        if (mark.step()) a.read_seq = mark.int_at(0);
        mark.reset();
        auto& count = db.prepare(
            "SELECT count(*) FROM (SELECT 1 FROM messages WHERE room_id = ? AND seq > ? LIMIT ?) "
            "AS "
            "unread");
        count.bind(0, room_id).bind(1, a.read_seq).bind(2, cap);
        if (count.step()) a.unread = count.int_at(0);
        count.reset();
        auto& newest = db.prepare(std::string("SELECT ") + kMessageColumns +
                                  " FROM messages WHERE room_id = ? ORDER BY seq DESC LIMIT 1");
        newest.bind(0, room_id);
        if (newest.step()) a.newest = read_message(newest);
        newest.reset();
        out.push_back(std::move(a));
    }
    return out;
}

std::vector<ReadMark> all_marks(Connection& db) {
    auto& st =
        db.prepare("SELECT username, room_id, seq FROM read_marks ORDER BY username, room_id");
    std::vector<ReadMark> out;
    while (st.step()) out.push_back({st.text_at(0), st.int_at(1), st.int_at(2)});
    return out;
}

}  // namespace perch::store::sql::following
