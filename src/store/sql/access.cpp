#include "store/sql/access.hpp"

#include "util/time.hpp"

namespace perch::store::sql::access {

int64_t add_group(Connection& db, const Group& g) {
    try {
        auto& st = db.prepare(
            "INSERT INTO groups (name, description, created_us) VALUES (?, ?, ?) RETURNING id");
        st.bind(0, g.name).bind(1, g.description).bind(2, util::now_us());
        st.step();
        int64_t id = st.int_at(0);
        st.reset();
        return id;
    } catch (const Error& e) {
        if (e.constraint()) throw Conflict("group " + g.name + " already exists");
        throw;
    }
}

std::vector<Group> list_groups(Connection& db) {
    auto& st = db.prepare("SELECT id, name, description FROM groups ORDER BY name");
    std::vector<Group> out;
    while (st.step()) out.push_back({st.int_at(0), st.text_at(1), st.text_at(2)});
    return out;
}

namespace {

int64_t group_id(Connection& db, std::string_view name) {
    auto& st = db.prepare("SELECT id FROM groups WHERE name = ?");
    st.bind(0, name);
    if (!st.step()) throw Conflict("no group named " + std::string(name));
    int64_t id = st.int_at(0);
    st.reset();
    return id;
}

std::vector<std::string> names(Statement& st) {
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text_at(0));
    return out;
}

}  // namespace

void set_group_member(Connection& db, std::string_view group, std::string_view username,
                      bool member) {
    int64_t id = group_id(db, group);
    if (member)
        db.prepare(
              "INSERT INTO group_members (group_id, username) VALUES (?, ?) ON CONFLICT DO "
              "NOTHING")
            .bind(0, id)
            .bind(1, username)
            .run();
    else
        db.prepare("DELETE FROM group_members WHERE group_id = ? AND username = ?")
            .bind(0, id)
            .bind(1, username)
            .run();
}

std::vector<std::string> group_members(Connection& db, std::string_view group) {
    int64_t id = group_id(db, group);
    auto& st =
        db.prepare("SELECT username FROM group_members WHERE group_id = ? ORDER BY username");
    st.bind(0, id);
    return names(st);
}

std::vector<std::string> groups_of(Connection& db, std::string_view username) {
    auto& st = db.prepare(
        "SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id "
        "WHERE m.username = ? ORDER BY g.name");
    st.bind(0, username);
    return names(st);
}

void set_principal(Connection& db, const char* table, const char* owner, int64_t id,
                   std::string_view list, const Principal& p, bool present) {
    std::string principal = to_string(p);
    try {
        if (present)
            db.prepare(std::string("INSERT INTO ") + table + " (" + owner +
                       ", list, principal) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
                .bind(0, id)
                .bind(1, list)
                .bind(2, principal)
                .run();
        else
            db.prepare(std::string("DELETE FROM ") + table + " WHERE " + owner +
                       " = ? AND list = ? AND principal = ?")
                .bind(0, id)
                .bind(1, list)
                .bind(2, principal)
                .run();
    } catch (const Error& e) {
        if (e.constraint()) throw Conflict("no such category or room");
        throw;
    }
}

std::vector<std::pair<std::string, Principal>> principals(Connection& db, const char* table,
                                                          const char* owner, int64_t id) {
    auto& st = db.prepare(std::string("SELECT list, principal FROM ") + table + " WHERE " + owner +
                          " = ? ORDER BY list, principal");
    st.bind(0, id);
    std::vector<std::pair<std::string, Principal>> out;
    while (st.step())
        if (auto p = parse_principal(st.text_at(1))) out.emplace_back(st.text_at(0), std::move(*p));
    return out;
}

void set_policy(Connection& db, std::string_view scope, std::string_view name,
                std::optional<bool> enabled) {
    if (enabled)
        db.prepare(
              "INSERT INTO policies (scope, name, chat_enabled) VALUES (?, ?, ?) ON CONFLICT "
              "(scope, name) DO UPDATE SET chat_enabled = excluded.chat_enabled")
            .bind(0, scope)
            .bind(1, name)
            .bind(2, int64_t(*enabled))
            .run();
    else
        db.prepare("DELETE FROM policies WHERE scope = ? AND name = ?")
            .bind(0, scope)
            .bind(1, name)
            .run();
}

std::vector<Store::PolicyEntry> list_policies(Connection& db) {
    auto& st = db.prepare("SELECT scope, name, chat_enabled FROM policies ORDER BY scope, name");
    std::vector<Store::PolicyEntry> out;
    while (st.step()) out.push_back({st.text_at(0), st.text_at(1), st.int_at(2) != 0});
    return out;
}

PolicySettings policy_for(Connection& db, std::string_view username) {
    PolicySettings out;
    auto& st = db.prepare(
        "SELECT scope, name, chat_enabled FROM policies WHERE scope = 'global' OR "
        "(scope = 'user' AND name = ?) OR (scope = 'group' AND name IN (SELECT g.name FROM "
        "group_members m JOIN groups g ON g.id = m.group_id WHERE m.username = ?))");
    st.bind(0, username).bind(1, username);
    while (st.step()) {
        std::string scope = st.text_at(0);
        bool enabled = st.int_at(2) != 0;
        if (scope == "global")
            out.global = enabled;
        else if (scope == "user")
            out.user = enabled;
        else
            out.groups[st.text_at(1)] = enabled;
    }
    return out;
}

}  // namespace perch::store::sql::access
