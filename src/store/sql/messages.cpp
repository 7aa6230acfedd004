#include "store/sql/messages.hpp"

#include <algorithm>
#include <unordered_map>

#include "store/sql/outbox.hpp"
#include "store/sql/pg_array.hpp"
#include "store/sql/rows.hpp"

namespace perch::store::sql::messages {

namespace {
void insert_one(Connection& db, const Message& m) {
    static const std::string kInsert = std::string("INSERT INTO messages (") + kMessageColumns +
                                       ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    db.prepare(kInsert)
        .bind(0, m.room_id)
        .bind(1, m.seq)
        .bind(2, m.stanza_id)
        .bind(3, m.origin_id)
        .bind(4, m.sender)
        .bind(5, m.nick)
        .bind(6, m.occupant_id)
        .bind(7, int64_t(m.kind))
        .bind(8, m.body)
        .bind(9, m.payload)
        .bind(10, m.ts_us)
        .bind(11, int64_t(m.removed))
        .run();
}
}  // namespace

// Bumps each room's counter by its count of new messages; returns each room's first new
// sequence number. PostgreSQL: all rooms in one statement. The epoch is checked in the same
// UPDATE, under the row lock that a pool's claim of the room also takes.
std::map<int64_t, int64_t> reserve_sequence(Connection& db,
                                            const std::map<int64_t, RoomShare>& per_room) {
    std::map<int64_t, int64_t> next;
    if (db.dialect() == Dialect::postgres) {
        PgArray ids, counts, epochs;
        for (const auto& [room, share] : per_room)
            ids.add(room), counts.add(share.count), epochs.add(share.epoch);
        auto& st = db.prepare(
            "UPDATE rooms AS r SET last_seq = r.last_seq + b.n FROM unnest(?::bigint[], "
            "?::bigint[], ?::bigint[]) AS b(id, n, e) WHERE r.id = b.id AND (b.e = 0 OR r.epoch "
            "= b.e) RETURNING r.id, r.last_seq");
        st.bind(0, ids.str()).bind(1, counts.str()).bind(2, epochs.str());
        while (st.step()) next[st.int_at(0)] = st.int_at(1) - per_room.at(st.int_at(0)).count + 1;
        st.reset();
    } else {
        for (const auto& [room, share] : per_room) {
            auto& st = db.prepare(
                "UPDATE rooms SET last_seq = last_seq + ? WHERE id = ? AND (? = 0 OR epoch = ?) "
                "RETURNING last_seq");
            st.bind(0, share.count).bind(1, room).bind(2, share.epoch).bind(3, share.epoch);
            if (st.step()) next[room] = st.int_at(0) - share.count + 1;
            st.reset();
        }
    }
    return next;
}

std::vector<Message> between(Connection& db, int64_t room_id, int64_t after_seq, int64_t up_to_seq,
                             int limit) {
    static const std::string kBetween = std::string("SELECT ") + kMessageColumns +
                                        " FROM messages WHERE room_id = ? AND seq > ? AND seq "
                                        "<= ? ORDER BY seq LIMIT ?";
    auto& st = db.prepare(kBetween);
    st.bind(0, room_id).bind(1, after_seq).bind(2, up_to_seq).bind(3, int64_t(limit));
    std::vector<Message> out;
    while (st.step()) out.push_back(read_message(st));
    st.reset();
    return out;
}

// PostgreSQL: many rows per statement (one round trip each); SQLite: row by row, which
// costs nothing more in process.
void insert(Connection& db, const std::vector<Message>& messages) {
    if (db.dialect() != Dialect::postgres) {
        for (const auto& m : messages) insert_one(db, m);
        return;
    }
    constexpr size_t kRows = 4096;
    for (size_t at = 0; at < messages.size(); at += kRows) {
        PgArray a[12];
        for (size_t i = at; i < std::min(messages.size(), at + kRows); ++i) {
            const auto& m = messages[i];
            a[0].add(m.room_id), a[1].add(m.seq), a[2].add(m.stanza_id);
            a[3].add(m.origin_id), a[4].add(m.sender), a[5].add(m.nick);
            a[6].add(m.occupant_id), a[7].add(int64_t(m.kind)), a[8].add(m.body);
            a[9].add(m.payload), a[10].add(m.ts_us), a[11].add(int64_t(m.removed));
        }
        static const std::string kInsertRows =
            std::string("INSERT INTO messages (") + kMessageColumns + ") SELECT " +
            kMessageColumns +
            " FROM unnest(?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], "
            "?::text[], ?::int[], ?::text[], ?::text[], ?::bigint[], ?::int[]) WITH ORDINALITY "
            "AS m(" +
            kMessageColumns + ", n) ORDER BY n";
        auto& st = db.prepare(kInsertRows);
        for (int i = 0; i < 12; ++i) st.bind(i, a[i].str());
        st.run();
    }
}

std::vector<int64_t> stored_seqs(Connection& db, const std::vector<NewMessage>& batch) {
    std::unordered_map<std::string, int64_t> found;
    if (db.dialect() == Dialect::postgres) {
        PgArray ids;
        for (const auto& m : batch) ids.add(m.stanza_id);
        auto& st =
            db.prepare("SELECT stanza_id, seq FROM messages WHERE stanza_id = ANY(?::text[])");
        st.bind(0, ids.str());
        while (st.step()) found[st.text_at(0)] = st.int_at(1);
        st.reset();
    } else {
        auto& st = db.prepare("SELECT seq FROM messages WHERE stanza_id = ?");
        for (const auto& m : batch) {
            st.bind(0, m.stanza_id);
            if (st.step()) found[m.stanza_id] = st.int_at(0);
            st.reset();
        }
    }
    std::vector<int64_t> out;
    out.reserve(batch.size());
    for (const auto& m : batch) {
        auto it = found.find(m.stanza_id);
        out.push_back(it == found.end() ? 0 : it->second);
    }
    return out;
}

// Appends a group commit's messages (see Store::append_messages), with their compliance
// events when `compliance` is on.
std::vector<Message> append(Connection& db, std::vector<NewMessage>&& batch, bool compliance) {
    std::vector<Message> out;
    out.reserve(batch.size());
    // Count per room first so that each room's counter is bumped once per batch. A room
    // claimed anew while posts were queued has them under two epochs: the newest counts.
    std::map<int64_t, RoomShare> per_room;
    for (const auto& m : batch) {
        auto& share = per_room[m.room_id];
        share.epoch = std::max(share.epoch, m.epoch);
    }
    for (const auto& m : batch)
        if (auto& share = per_room[m.room_id]; m.epoch == share.epoch) ++share.count;
    Transaction tx(db);
    std::map<int64_t, int64_t> next_seq = reserve_sequence(db, per_room);
    std::vector<Message> stored;
    stored.reserve(batch.size());
    for (auto& m : batch) {
        Message done;
        static_cast<NewMessage&>(done) = std::move(m);
        auto next = next_seq.find(done.room_id);
        // Refused (seq 0): no such room, or a commit under an epoch no longer the room's.
        if (next != next_seq.end() && done.epoch == per_room[done.room_id].epoch) {
            done.seq = next->second++;
            stored.push_back(done);
        }
        out.push_back(std::move(done));
    }
    insert(db, stored);
    if (compliance) outbox::insert(db, outbox::chat_events(db, stored));
    tx.commit();
    return out;
}

}  // namespace perch::store::sql::messages
