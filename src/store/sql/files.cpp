#include "store/sql/files.hpp"

namespace perch::store::sql::files {

namespace {
constexpr const char* kColumns = "id, sha256, size, content_type, name, owner, created_us";

FileRecord read(Statement& st) {
    return {st.text_at(0), st.text_at(1), uint64_t(st.int_at(2)), st.text_at(3), st.text_at(4),
            st.text_at(5), st.int_at(6)};
}
}  // namespace

void add(Connection& db, const FileRecord& f) {
    db.prepare(std::string("INSERT INTO files (") + kColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(0, f.id)
        .bind(1, f.sha256)
        .bind(2, int64_t(f.size))
        .bind(3, f.content_type)
        .bind(4, f.name)
        .bind(5, f.owner)
        .bind(6, f.created_us)
        .run();
}

std::optional<FileRecord> find(Connection& db, std::string_view id) {
    auto& st = db.prepare(std::string("SELECT ") + kColumns + " FROM files WHERE id = ?");
    st.bind(0, id);
    std::optional<FileRecord> out;
    if (st.step()) out = read(st);
    st.reset();
    return out;
}

std::vector<FileRecord> list(Connection& db) {
    auto& st =
        db.prepare(std::string("SELECT ") + kColumns + " FROM files ORDER BY created_us, id");
    std::vector<FileRecord> out;
    while (st.step()) out.push_back(read(st));
    return out;
}

void attach(Connection& db, std::string_view id, int64_t room_id) {
    db.prepare("INSERT INTO file_rooms (file_id, room_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(0, id)
        .bind(1, room_id)
        .run();
}

std::vector<int64_t> rooms_of(Connection& db, std::string_view id) {
    auto& st = db.prepare("SELECT room_id FROM file_rooms WHERE file_id = ?");
    st.bind(0, id);
    std::vector<int64_t> out;
    while (st.step()) out.push_back(st.int_at(0));
    return out;
}

}  // namespace perch::store::sql::files
