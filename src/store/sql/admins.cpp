#include "store/sql/admins.hpp"

#include "store/sql/rows.hpp"
#include "util/time.hpp"

namespace perch::store::sql::admins {

namespace {
constexpr const char* kSelect =
    "SELECT name, role, credential, disabled, created_us FROM admin_accounts";
}  // namespace

std::optional<AdminAccount> find(Connection& db, std::string_view name) {
    auto& st = db.prepare(std::string(kSelect) + " WHERE name = ?");
    st.bind(0, name);
    std::optional<AdminAccount> out;
    if (st.step()) out = read_admin(st);
    st.reset();
    return out;
}

std::vector<AdminAccount> list(Connection& db) {
    auto& st = db.prepare(std::string(kSelect) + " ORDER BY name");
    std::vector<AdminAccount> out;
    while (st.step()) out.push_back(read_admin(st));
    return out;
}

void add(Connection& db, const AdminAccount& a) {
    try {
        db.prepare(
              "INSERT INTO admin_accounts (name, role, credential, disabled, created_us) VALUES "
              "(?, ?, ?, ?, ?)")
            .bind(0, a.name)
            .bind(1, to_string(a.role))
            .bind(2, a.credential)
            .bind(3, int64_t(a.disabled))
            .bind(4, a.created_us ? a.created_us : util::now_us())
            .run();
    } catch (const Error& e) {
        if (e.constraint()) throw Conflict("an admin account " + a.name + " exists");
        throw;
    }
}

void update(Connection& db, const AdminAccount& a) {
    db.prepare("UPDATE admin_accounts SET role = ?, credential = ?, disabled = ? WHERE name = ?")
        .bind(0, to_string(a.role))
        .bind(1, a.credential)
        .bind(2, int64_t(a.disabled))
        .bind(3, a.name)
        .run();
}

bool remove(Connection& db, std::string_view name) {
    auto& st = db.prepare("DELETE FROM admin_accounts WHERE name = ? RETURNING name");
    st.bind(0, name);
    bool found = st.step();
    st.reset();
    return found;
}

std::map<std::string, std::string> settings(Connection& db) {
    auto& st = db.prepare("SELECT name, value FROM settings");
    std::map<std::string, std::string> out;
    while (st.step()) out.emplace(st.text_at(0), st.text_at(1));
    return out;
}

void store_setting(Connection& db, std::string_view name, const std::optional<std::string>& value) {
    if (!value) {
        db.prepare("DELETE FROM settings WHERE name = ?").bind(0, name).run();
        return;
    }
    db.prepare(
          "INSERT INTO settings (name, value) VALUES (?, ?) "
          "ON CONFLICT (name) DO UPDATE SET value = excluded.value")
        .bind(0, name)
        .bind(1, *value)
        .run();
}

std::vector<Addin> addins(Connection& db) {
    auto& st = db.prepare("SELECT name, url, created_us FROM addins ORDER BY name");
    std::vector<Addin> out;
    while (st.step()) out.push_back(Addin{st.text_at(0), st.text_at(1), st.int_at(2)});
    return out;
}

void put_addin(Connection& db, const Addin& a) {
    db.prepare(
          "INSERT INTO addins (name, url, created_us) VALUES (?, ?, ?) "
          "ON CONFLICT (name) DO UPDATE SET url = excluded.url")
        .bind(0, a.name)
        .bind(1, a.url)
        .bind(2, a.created_us ? a.created_us : util::now_us())
        .run();
}

bool remove_addin(Connection& db, std::string_view name) {
    auto& st = db.prepare("DELETE FROM addins WHERE name = ? RETURNING name");
    st.bind(0, name);
    bool found = st.step();
    st.reset();
    return found;
}

}  // namespace perch::store::sql::admins
