#include "store/sql/personal.hpp"

#include "util/time.hpp"

namespace perch::store::sql::personal {

namespace {
std::string join_groups(const std::vector<std::string>& groups) {
    std::string out;
    for (const auto& g : groups) {
        if (!out.empty()) out += '\n';
        out += g;
    }
    return out;
}

std::vector<std::string> split_groups(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start < s.size()) {
        size_t nl = s.find('\n', start);
        if (nl == std::string::npos) nl = s.size();
        out.push_back(s.substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

Items pairs(Statement& st) {
    Items out;
    while (st.step()) out.emplace_back(st.text_at(0), st.text_at(1));
    return out;
}
}  // namespace

void put_item(Connection& db, std::string_view user, std::string_view node,
              std::string_view item_id, const std::string& payload) {
    Transaction tx(db);
    db.prepare("INSERT INTO pep_nodes (username, node) VALUES (?, ?) ON CONFLICT DO NOTHING")
        .bind(0, user)
        .bind(1, node)
        .run();
    db.prepare(
          "INSERT INTO pep_items (username, node, item_id, payload, updated_us) VALUES (?, ?, ?, "
          "?, ?) ON CONFLICT (username, node, item_id) DO UPDATE SET payload = "
          "excluded.payload, updated_us = excluded.updated_us")
        .bind(0, user)
        .bind(1, node)
        .bind(2, item_id)
        .bind(3, payload)
        .bind(4, util::now_us())
        .run();
    tx.commit();
}

bool remove_item(Connection& db, std::string_view user, std::string_view node,
                 std::string_view item_id) {
    db.prepare("DELETE FROM pep_items WHERE username = ? AND node = ? AND item_id = ?")
        .bind(0, user)
        .bind(1, node)
        .bind(2, item_id)
        .run();
    return db.changes() > 0;
}

std::optional<Items> items(Connection& db, std::string_view user, std::string_view node) {
    auto& exists = db.prepare("SELECT 1 FROM pep_nodes WHERE username = ? AND node = ?");
    exists.bind(0, user).bind(1, node);
    bool found = exists.step();
    exists.reset();
    if (!found) return std::nullopt;
    auto& st = db.prepare(
        "SELECT item_id, payload FROM pep_items WHERE username = ? AND node = ? ORDER BY "
        "updated_us DESC");
    st.bind(0, user).bind(1, node);
    return pairs(st);
}

std::vector<std::string> nodes(Connection& db, std::string_view user) {
    auto& st = db.prepare("SELECT node FROM pep_nodes WHERE username = ? ORDER BY node");
    st.bind(0, user);
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.text_at(0));
    return out;
}

int64_t size_but(Connection& db, std::string_view user, const PersonalEntry& replaced) {
    auto& items = db.prepare(
        "SELECT coalesce(sum(length(payload)), 0) FROM pep_items WHERE username = ? AND NOT "
        "(node = ? AND item_id = ?)");
    items.bind(0, user).bind(1, replaced.pep_node).bind(2, replaced.pep_item);
    int64_t size = items.step() ? items.int_at(0) : 0;
    items.reset();
    auto& entries = db.prepare(
        "SELECT coalesce(sum(length(xml)), 0) FROM private_xml WHERE username = ? AND key <> ?");
    entries.bind(0, user).bind(1, replaced.private_key);
    size += entries.step() ? entries.int_at(0) : 0;
    entries.reset();
    return size;
}

std::optional<std::string> private_xml(Connection& db, std::string_view user,
                                       std::string_view key) {
    auto& st = db.prepare("SELECT xml FROM private_xml WHERE username = ? AND key = ?");
    st.bind(0, user).bind(1, key);
    std::optional<std::string> out;
    if (st.step()) out = st.text_at(0);
    st.reset();
    return out;
}

void set_private_xml(Connection& db, std::string_view user, std::string_view key,
                     const std::string& xml) {
    db.prepare(
          "INSERT INTO private_xml (username, key, xml) VALUES (?, ?, ?) ON CONFLICT "
          "(username, key) DO UPDATE SET xml = excluded.xml")
        .bind(0, user)
        .bind(1, key)
        .bind(2, xml)
        .run();
}

Items private_entries(Connection& db, std::string_view user) {
    auto& st = db.prepare("SELECT key, xml FROM private_xml WHERE username = ? ORDER BY key");
    st.bind(0, user);
    return pairs(st);
}

std::vector<RosterItem> roster(Connection& db, std::string_view user) {
    auto& st = db.prepare(
        "SELECT jid, name, subscription, groups FROM roster_items WHERE username = ? ORDER BY jid");
    st.bind(0, user);
    std::vector<RosterItem> out;
    while (st.step())
        out.push_back({st.text_at(0), st.text_at(1), st.text_at(2), split_groups(st.text_at(3))});
    return out;
}

void set_roster_item(Connection& db, std::string_view user, const RosterItem& item) {
    db.prepare(
          "INSERT INTO roster_items (username, jid, name, subscription, groups) VALUES (?, ?, ?, "
          "?, ?) ON CONFLICT (username, jid) DO UPDATE SET name = excluded.name, groups = "
          "excluded.groups")
        .bind(0, user)
        .bind(1, item.jid)
        .bind(2, item.name)
        .bind(3, item.subscription)
        .bind(4, join_groups(item.groups))
        .run();
}

void remove_roster_item(Connection& db, std::string_view user, std::string_view jid) {
    db.prepare("DELETE FROM roster_items WHERE username = ? AND jid = ?")
        .bind(0, user)
        .bind(1, jid)
        .run();
}

}  // namespace perch::store::sql::personal
