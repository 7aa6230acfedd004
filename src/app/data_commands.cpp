// `perch data export DIR` writes the whole content database — users and groups, policies,
// categories, rooms and their lists, every message, files (metadata and bytes), rosters,
// personal storage and read marks — to a directory of JSON-lines files with a manifest of
// counts and SHA-256 sums; `perch data import DIR` checks the sums and loads it into an empty
// database of the configured back end, then compares the counts. Everything goes through the
// store interface, so the archive moves data between back ends.
#include <spdlog/spdlog.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "admin/operations.hpp"
#include "app/admin_commands.hpp"
#include "app/config.hpp"
#include "compliance/log.hpp"
#include "store/sql/db.hpp"
#include "store/store.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/tar.hpp"
#include "util/time.hpp"

namespace perch::app {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kFormatVersion = 1;
// An export made before a part existed lacks its file and its checksum; it imports without it.
const char* const kParts[] = {"users",      "groups",          "policies", "categories",
                              "rooms",      "messages",        "files",    "user_data",
                              "read_marks", "direct_messages", "settings", "addins"};

// Every one-to-one message copy, in storage order, a page at a time.
template <typename F>
void each_direct(store::Store& s, F f) {
    for (int64_t after = 0;;) {
        auto page = s.direct_in_order(after, 5000);
        if (page.empty()) return;
        for (const auto& m : page) f(m);
        after = page.back().id;
    }
}

json principals_json(const auto& lists) {
    json out = json::array();
    for (const auto& [list, p] : lists)
        out.push_back(json::array({std::string(store::to_string(list)), store::to_string(p)}));
    return out;
}

// The counts a database holds, as the manifest records them.
std::map<std::string, int64_t> count_all(store::Store& s) {
    std::map<std::string, int64_t> n;
    auto users = s.list_users();
    n["users"] = int64_t(users.size());
    n["groups"] = int64_t(s.list_groups().size());
    n["policies"] = int64_t(s.list_policies().size());
    n["categories"] = int64_t(s.list_categories().size());
    auto rooms = s.list_rooms();
    n["rooms"] = int64_t(rooms.size());
    n["messages"] = 0;
    for (const auto& r : rooms) n["messages"] += s.count_messages(r.id);
    n["files"] = int64_t(s.list_files().size());
    n["user_data"] = int64_t(users.size());
    n["read_marks"] = int64_t(s.list_read_marks().size());
    n["direct_messages"] = 0;
    each_direct(s, [&](const store::DirectMessage&) { ++n["direct_messages"]; });
    n["settings"] = int64_t(s.stored_settings().size());
    n["addins"] = int64_t(s.list_addins().size());
    return n;
}

class Writer {
  public:
    Writer(const fs::path& dir, const std::string& part)
        : path_(dir / (part + ".jsonl")), out_(path_) {
        if (!out_) throw std::runtime_error("cannot write " + path_.string());
    }
    void add(const json& line) { out_ << line.dump() << '\n'; }
    void close() {
        out_.close();
        if (!out_) throw std::runtime_error("writing " + path_.string() + " failed");
    }

  private:
    fs::path path_;
    std::ofstream out_;
};

json export_all(store::Store& s, const Config& config, const fs::path& dir) {
    if (fs::exists(dir) && !fs::is_empty(dir))
        throw std::runtime_error(dir.string() + " exists and is not empty");
    fs::create_directories(dir / "files");
    std::map<int64_t, std::string> room_nodes;
    {
        Writer w(dir, "users");
        for (const auto& u : s.list_users())
            w.add({{"username", u.username},
                   {"display_name", u.display_name},
                   {"email", u.email},
                   {"disabled", u.disabled},
                   {"scram_sha1", u.scram_sha1},
                   {"scram_sha256", u.scram_sha256},
                   {"administrator", u.administrator},
                   {"created_us", u.created_us}});
        w.close();
    }
    {
        Writer w(dir, "groups");
        for (const auto& g : s.list_groups())
            w.add({{"name", g.name},
                   {"description", g.description},
                   {"members", s.group_members(g.name)}});
        w.close();
    }
    {
        Writer w(dir, "policies");
        for (const auto& p : s.list_policies())
            w.add({{"scope", p.scope}, {"name", p.name}, {"enabled", p.enabled}});
        w.close();
    }
    std::map<int64_t, std::string> category_names;
    {
        Writer w(dir, "categories");
        for (const auto& c : s.list_categories()) {
            category_names[c.id] = c.name;
            w.add({{"name", c.name},
                   {"description", c.description},
                   {"invitations", c.invitations},
                   {"file_upload", c.file_upload},
                   {"chat_history", c.chat_history},
                   {"created_us", c.created_us},
                   {"principals", principals_json(s.category_principals(c.id))}});
        }
        w.close();
    }
    auto rooms = s.list_rooms();
    {
        Writer w(dir, "rooms");
        for (const auto& r : rooms) {
            room_nodes[r.id] = r.node;
            w.add({{"node", r.node},
                   {"name", r.name},
                   {"description", r.description},
                   {"category", category_names[r.category_id]},
                   {"privacy", std::string(store::to_string(r.privacy))},
                   {"type", std::string(store::to_string(r.type))},
                   {"subject", r.subject},
                   {"subject_nick", r.subject_nick},
                   {"disabled", r.disabled},
                   {"invitations", r.invitations},
                   {"occupants_change_subject", r.occupants_change_subject},
                   {"addin", r.addin},
                   {"created_us", r.created_us},
                   {"principals", principals_json(s.room_principals(r.id))}});
        }
        w.close();
    }
    {
        Writer w(dir, "messages");
        int64_t written = 0;
        // In the archive's order across rooms, which the import keeps.
        for (int64_t after = 0;;) {
            auto page = s.messages_in_order(after, 5000);
            if (page.empty()) break;
            for (const auto& [position, m] : page)
                w.add({{"room", room_nodes.at(m.room_id)},
                       {"seq", m.seq},
                       {"stanza_id", m.stanza_id},
                       {"origin_id", m.origin_id},
                       {"sender", m.sender},
                       {"nick", m.nick},
                       {"occupant_id", m.occupant_id},
                       {"kind", int(m.kind)},
                       {"body", m.body},
                       {"payload", m.payload},
                       {"ts_us", m.ts_us},
                       {"removed", m.removed}});
            after = page.back().first;
            written += int64_t(page.size());
            if (written % 100000 < int64_t(page.size()))
                std::cerr << "  " << written << " messages\n";
        }
        w.close();
    }
    {
        Writer w(dir, "files");
        for (const auto& f : s.list_files()) {
            json rooms_of = json::array();
            for (int64_t id : s.file_rooms(f.id)) rooms_of.push_back(room_nodes[id]);
            w.add({{"id", f.id},
                   {"sha256", f.sha256},
                   {"size", f.size},
                   {"content_type", f.content_type},
                   {"name", f.name},
                   {"owner", f.owner},
                   {"created_us", f.created_us},
                   {"rooms", rooms_of}});
            fs::path blob = fs::path(config.files.dir) / f.sha256.substr(0, 2) / f.sha256;
            if (!fs::exists(dir / "files" / f.sha256))
                fs::copy_file(blob, dir / "files" / f.sha256);
        }
        w.close();
    }
    {
        Writer w(dir, "user_data");
        for (const auto& u : s.list_users()) {
            json roster = json::array();
            for (const auto& item : s.roster(u.username))
                roster.push_back({{"jid", item.jid},
                                  {"name", item.name},
                                  {"subscription", item.subscription},
                                  {"groups", item.groups}});
            json pep = json::object();
            for (const auto& node : s.pep_nodes(u.username)) {
                json items = json::array();
                // Oldest first, so that an import gives them the same order.
                auto list = s.pep_items(u.username, node);
                if (list)
                    for (auto it = list->rbegin(); it != list->rend(); ++it)
                        items.push_back(json::array({it->first, it->second}));
                pep[node] = items;
            }
            json priv = json::array();
            for (const auto& [key, xml] : s.private_entries(u.username))
                priv.push_back(json::array({key, xml}));
            json out{{"username", u.username},
                     {"roster", roster},
                     {"pep", pep},
                     {"private", priv},
                     {"blocked", s.blocked(u.username)}};
            if (auto card = s.vcard(u.username)) out["vcard"] = *card;
            w.add(out);
        }
        w.close();
    }
    {
        Writer w(dir, "read_marks");
        for (const auto& m : s.list_read_marks())
            w.add({{"username", m.username}, {"room", room_nodes[m.room_id]}, {"seq", m.seq}});
        w.close();
    }
    {
        Writer w(dir, "direct_messages");
        each_direct(s, [&](const store::DirectMessage& m) {
            w.add({{"owner", m.owner},
                   {"peer", m.peer},
                   {"outgoing", m.outgoing},
                   {"stanza_id", m.stanza_id},
                   {"ts_us", m.ts_us},
                   {"body", m.body},
                   {"stanza", m.stanza},
                   {"archived", m.archived},
                   {"pending", m.pending}});
        });
        w.close();
    }
    {
        Writer w(dir, "settings");
        for (const auto& [name, value] : s.stored_settings())
            w.add({{"name", name}, {"value", value}});
        w.close();
    }
    {
        Writer w(dir, "addins");
        for (const auto& a : s.list_addins())
            w.add({{"name", a.name}, {"url", a.url}, {"created_us", a.created_us}});
        w.close();
    }
    json manifest{{"format", "perch-data"},
                  {"version", kFormatVersion},
                  {"created", util::format_timestamp(util::now_us())},
                  {"domain", config.domain}};
    for (auto [part, n] : count_all(s)) manifest["counts"][part] = n;
    for (const char* part : kParts)
        manifest["sha256"][std::string(part) + ".jsonl"] = util::hex(
            util::file_digest(util::Hash::sha256, (dir / (std::string(part) + ".jsonl")).string()));
    std::ofstream(dir / "manifest.json") << manifest.dump(2) << '\n';
    return manifest["counts"];
}

template <class F>
void each_line(const fs::path& dir, const std::string& part, F f) {
    std::ifstream in(dir / (part + ".jsonl"));
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        try {
            f(json::parse(line));
        } catch (const std::exception& e) {
            throw std::runtime_error(part + ".jsonl line " + std::to_string(n) + ": " + e.what());
        }
    }
}

store::Principal principal_of(const json& j) {
    auto p = store::parse_principal(j.get<std::string>());
    if (!p) throw std::runtime_error("bad principal " + j.dump());
    return *p;
}

// Everything in the export at `dir` into the store (in the caller's transaction), checked
// against the manifest's counts.
void load_all(store::Store& s, const Config& config, const fs::path& dir, const json& manifest,
              const std::function<void(int64_t)>& progress, std::vector<fs::path>& copied) {
    auto before = count_all(s);
    if (before["users"] || before["categories"] || before["rooms"] || before["groups"])
        throw std::runtime_error("the target database is not empty; import into a new one");

    each_line(dir, "users", [&](const json& j) {
        store::User u;
        u.username = j["username"];
        u.display_name = j["display_name"];
        u.email = j["email"];
        u.disabled = j["disabled"];
        u.scram_sha1 = j["scram_sha1"];
        u.scram_sha256 = j["scram_sha256"];
        u.administrator = j["administrator"];
        u.created_us = j["created_us"];
        s.add_user(u);
    });
    each_line(dir, "groups", [&](const json& j) {
        store::Group g;
        g.name = j["name"];
        g.description = j["description"];
        s.add_group(g);
        for (const auto& m : j["members"]) s.set_group_member(g.name, m.get<std::string>(), true);
    });
    each_line(dir, "policies", [&](const json& j) {
        s.set_policy(j["scope"].get<std::string>(), j["name"].get<std::string>(),
                     j["enabled"].get<bool>());
    });
    std::map<std::string, int64_t> category_ids, room_ids;
    each_line(dir, "categories", [&](const json& j) {
        store::Category c;
        c.name = j["name"];
        c.description = j["description"];
        c.invitations = j["invitations"];
        c.file_upload = j["file_upload"];
        c.chat_history = j["chat_history"];
        c.created_us = j["created_us"];
        int64_t id = s.add_category(c);
        category_ids[c.name] = id;
        for (const auto& p : j["principals"])
            s.set_category_principal(id, *store::parse_category_list(p[0].get<std::string>()),
                                     principal_of(p[1]), true);
    });
    each_line(dir, "rooms", [&](const json& j) {
        store::Room r;
        r.node = j["node"];
        r.name = j["name"];
        r.description = j["description"];
        r.category_id = category_ids.at(j["category"].get<std::string>());
        r.privacy = *store::parse_privacy(j["privacy"].get<std::string>());
        r.type = *store::parse_room_type(j["type"].get<std::string>());
        r.subject = j["subject"];
        r.subject_nick = j["subject_nick"];
        r.disabled = j["disabled"];
        r.invitations = j["invitations"];
        r.occupants_change_subject = j.value("occupants_change_subject", false);  // since 11
        r.addin = j["addin"];
        r.created_us = j["created_us"];
        int64_t id = s.add_room(r);
        room_ids[r.node] = id;
        for (const auto& p : j["principals"])
            s.set_room_principal(id, *store::parse_room_list(p[0].get<std::string>()),
                                 principal_of(p[1]), true);
    });
    std::vector<store::Message> batch;
    int64_t loaded = 0;
    auto flush = [&] {
        s.import_messages(batch);
        loaded += int64_t(batch.size());
        batch.clear();
        if (progress && loaded % 100000 == 0) progress(loaded);
    };
    each_line(dir, "messages", [&](const json& j) {
        store::Message m;
        m.room_id = room_ids.at(j["room"].get<std::string>());
        m.seq = j["seq"];
        m.stanza_id = j["stanza_id"];
        m.origin_id = j["origin_id"];
        m.sender = j["sender"];
        m.nick = j["nick"];
        m.occupant_id = j["occupant_id"];
        m.kind = store::MessageKind(j["kind"].get<int>());
        m.body = j["body"];
        m.payload = j["payload"];
        m.ts_us = j["ts_us"];
        m.removed = j["removed"];
        batch.push_back(std::move(m));
        if (batch.size() == 5000) flush();
    });
    if (!batch.empty()) flush();
    each_line(dir, "files", [&](const json& j) {
        store::FileRecord f;
        f.id = j["id"];
        f.sha256 = j["sha256"];
        f.size = j["size"];
        f.content_type = j["content_type"];
        f.name = j["name"];
        f.owner = j["owner"];
        f.created_us = j["created_us"];
        fs::path blob = dir / "files" / f.sha256;
        if (util::hex(util::file_digest(util::Hash::sha256, blob.string())) != f.sha256)
            throw std::runtime_error("file " + f.name + " does not match its SHA-256");
        fs::path target = fs::path(config.files.dir) / f.sha256.substr(0, 2) / f.sha256;
        fs::create_directories(target.parent_path());
        if (!fs::exists(target)) {
            fs::copy_file(blob, target);
            copied.push_back(target);
        }
        s.add_file(f);
        for (const auto& room : j["rooms"])
            s.attach_file(f.id, room_ids.at(room.get<std::string>()));
    });
    each_line(dir, "user_data", [&](const json& j) {
        std::string user = j["username"];
        for (const auto& r : j["roster"]) {
            store::RosterItem item;
            item.jid = r["jid"];
            item.name = r["name"];
            item.subscription = r["subscription"];
            item.groups = r["groups"].get<std::vector<std::string>>();
            s.set_roster_item(user, item);
        }
        for (const auto& [node, items] : j["pep"].items())
            for (const auto& item : items)
                s.put_pep_item(user, node, item[0].get<std::string>(), item[1].get<std::string>());
        for (const auto& p : j["private"])
            s.set_private_xml(user, p[0].get<std::string>(), p[1].get<std::string>());
        if (j.contains("blocked"))
            s.set_blocked(user, j["blocked"].get<std::vector<std::string>>(), true);
        if (j.contains("vcard")) s.set_vcard(user, j["vcard"].get<std::string>());
    });
    std::vector<store::DirectMessage> direct;
    auto flush_direct = [&] {
        s.add_direct(direct, {});
        direct.clear();
    };
    each_line(dir, "direct_messages", [&](const json& j) {
        store::DirectMessage m;
        m.owner = j["owner"];
        m.peer = j["peer"];
        m.outgoing = j["outgoing"];
        m.stanza_id = j["stanza_id"];
        m.ts_us = j["ts_us"];
        m.body = j["body"];
        m.stanza = j["stanza"];
        m.archived = j["archived"];
        m.pending = j["pending"];
        direct.push_back(std::move(m));
        if (direct.size() >= 5000) flush_direct();
    });
    flush_direct();
    std::vector<store::ReadMark> marks;
    each_line(dir, "read_marks", [&](const json& j) {
        marks.push_back({j["username"], room_ids.at(j["room"].get<std::string>()), j["seq"]});
    });
    s.mark_read(marks);
    each_line(dir, "settings", [&](const json& j) {
        s.store_setting(j["name"].get<std::string>(), j["value"].get<std::string>());
    });
    each_line(dir, "addins", [&](const json& j) {
        s.put_addin({j["name"], j["url"], j["created_us"]});
    });
    // Nothing lost: the counts must be those of the exported database.
    auto after = count_all(s);
    for (auto& [part, n] : manifest["counts"].items())
        if (after[part] != n.get<int64_t>())
            throw std::runtime_error("after import " + part + " number " +
                                     std::to_string(after[part]) + ", the export had " + n.dump());
}

}  // namespace

json import_all(store::Store& s, const Config& config, const fs::path& dir, const std::string& by,
                const std::function<void(int64_t)>& progress) {
    std::ifstream mf(dir / "manifest.json");
    if (!mf) throw std::runtime_error("no manifest.json in " + dir.string());
    json manifest = json::parse(mf);
    if (manifest.value("format", "") != "perch-data" ||
        manifest.value("version", 0) != kFormatVersion)
        throw std::runtime_error("not a Perch data export of version " +
                                 std::to_string(kFormatVersion));
    // Nothing is loaded from a damaged archive.
    for (const char* part : kParts) {
        std::string name = std::string(part) + ".jsonl";
        if (!manifest["sha256"].contains(name) && !fs::exists(dir / name)) continue;
        std::string sum = util::hex(util::file_digest(util::Hash::sha256, (dir / name).string()));
        if (sum != manifest["sha256"].value(name, ""))
            throw std::runtime_error(name + " does not match its checksum in the manifest");
    }
    // One transaction: an import that fails part way leaves the database as it was (files
    // copied into the file store are named by their content, and removed again).
    std::vector<fs::path> copied;
    try {
        auto event = store::make_event("DATAIMPORT", {}, {}, {},
                                       {{"by", by}, {"counts", manifest["counts"].dump()}});
        s.with_events({event}, [&] {
            load_all(s, config, dir, manifest, progress, copied);
            // Running servers on this database load the new rooms, categories and settings.
            s.note_change("import", "all");
        });
    } catch (...) {
        std::error_code ignored;
        for (const auto& f : copied) fs::remove(f, ignored);
        throw;
    }
    // Fresh statistics, so that the first queries after a move plan with the real sizes.
    s.analyze();
    return manifest["counts"];
}

namespace {

// Backup and restore of everything one server keeps (docs/OPERATOR_GUIDE.md, "Backup and
// restore"): the content and compliance databases (SQLite: consistent copies taken while the
// server runs; PostgreSQL: pg_dump's business, said so), the file store, the secret, the
// certificate and key, and the checkpoint key; MANIFEST holds each file's SHA-256, checked
// before anything is restored.
struct BackupItem {
    std::string name;  // in the backup directory
    std::string path;  // where the server keeps it
};

std::vector<BackupItem> backup_items(const Config& c) {
    std::vector<BackupItem> items{{"secret", (fs::path(c.data_dir) / "secret").string()},
                                  {"tls/cert.pem", c.tls.cert},
                                  {"tls/key.pem", c.tls.key},
                                  {"compliance-checkpoint.pem", c.compliance.checkpoint_key}};
    return items;
}

void backup_all(const Config& c, store::Store& s, const fs::path& dir) {
    if (fs::exists(dir) && !fs::is_empty(dir))
        throw std::runtime_error(dir.string() + " exists and is not empty: give a new directory");
    fs::create_directories(dir);
    std::vector<std::string> skipped;
    if (c.store.backend == "sqlite") {
        s.backup_to((dir / "perch.db").string());
        std::cout << "content database copied\n";
    } else {
        skipped.push_back("the content database (PostgreSQL: pg_dump it)");
    }
    if (c.compliance.enabled && c.compliance.url.empty() && fs::exists(c.compliance.path)) {
        compliance::Log log(c.compliance.path);
        store::sql::backup_to(log.connection(), (dir / "compliance.db").string());
        std::cout << "compliance database copied\n";
    } else if (c.compliance.enabled) {
        skipped.push_back("the compliance database (PostgreSQL: pg_dump it)");
    }
    for (const auto& item : backup_items(c)) {
        if (!fs::exists(item.path)) continue;
        fs::create_directories((dir / item.name).parent_path());
        fs::copy_file(item.path, dir / item.name);
    }
    size_t files = 0;
    if (fs::exists(c.files.dir))
        for (const auto& e : fs::recursive_directory_iterator(c.files.dir)) {
            auto rel = fs::relative(e.path(), c.files.dir);
            if (*rel.begin() == "tmp" || !e.is_regular_file()) continue;  // uploads in progress
            fs::create_directories((dir / "files" / rel).parent_path());
            fs::copy_file(e.path(), dir / "files" / rel);
            ++files;
        }
    std::ofstream manifest(dir / "MANIFEST");
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file() || e.path().filename() == "MANIFEST") continue;
        manifest << util::hex(util::file_digest(util::Hash::sha256, e.path().string())) << "  "
                 << fs::relative(e.path(), dir).string() << "\n";
    }
    fs::permissions(dir, fs::perms::owner_all);
    std::cout << "backup of " << c.domain << " written to " << dir.string() << " (" << files
              << " stored files, the secret, the certificate)\n";
    for (const auto& what : skipped) std::cout << "not in it: " << what << "\n";
}

void restore_all(const Config& c, const fs::path& dir) {
    std::ifstream manifest(dir / "MANIFEST");
    if (!manifest) throw std::runtime_error(dir.string() + " holds no MANIFEST: not a backup");
    std::string line;
    size_t checked = 0;
    while (std::getline(manifest, line)) {
        auto sep = line.find("  ");
        if (sep == std::string::npos) throw std::runtime_error("MANIFEST line unreadable: " + line);
        auto file = dir / line.substr(sep + 2);
        if (!fs::exists(file) ||
            util::hex(util::file_digest(util::Hash::sha256, file.string())) != line.substr(0, sep))
            throw std::runtime_error(file.string() +
                                     " is missing or changed since the backup: nothing restored");
        ++checked;
    }
    // Nothing is overwritten: a restore goes into a server that holds nothing yet.
    std::vector<std::string> present;
    if (c.store.backend == "sqlite" && fs::exists(c.store.path)) present.push_back(c.store.path);
    for (const auto& item : backup_items(c))
        if (fs::exists(dir / item.name) && fs::exists(item.path)) present.push_back(item.path);
    if (fs::exists(dir / "compliance.db") && fs::exists(c.compliance.path))
        present.push_back(c.compliance.path);
    if (!present.empty())
        throw std::runtime_error("the server already has " + present.front() +
                                 ": restore into an empty data directory (stop the server, move "
                                 "its data away first)");
    fs::create_directories(c.data_dir);
    if (fs::exists(dir / "perch.db")) {
        if (c.store.backend != "sqlite")
            throw std::runtime_error(
                "the backup holds a SQLite database but this server is on PostgreSQL: use perch "
                "data export/import to move between back ends");
        fs::create_directories(fs::path(c.store.path).parent_path());
        fs::copy_file(dir / "perch.db", c.store.path);
    }
    if (fs::exists(dir / "compliance.db")) {
        fs::create_directories(fs::path(c.compliance.path).parent_path());
        fs::copy_file(dir / "compliance.db", c.compliance.path);
    }
    for (const auto& item : backup_items(c)) {
        if (!fs::exists(dir / item.name)) continue;
        fs::create_directories(fs::path(item.path).parent_path());
        fs::copy_file(dir / item.name, item.path);
        if (item.name != "tls/cert.pem")
            fs::permissions(item.path, fs::perms::owner_read | fs::perms::owner_write);
    }
    if (fs::exists(dir / "files")) {
        fs::create_directories(c.files.dir);
        fs::copy(dir / "files", c.files.dir,
                 fs::copy_options::recursive | fs::copy_options::skip_existing);
    }
    std::cout << "restored " << checked << " files from " << dir.string() << " into " << c.data_dir
              << "\n";
}

}  // namespace

web::AdminDeps::DataExport export_archive(store::Store& s, const Config& config) {
    // Made under the data directory (the file store's disk), packed, and the folder removed;
    // the archive goes once sent.
    fs::path work = fs::path(config.data_dir) / "tmp" / ("export-" + util::random_id());
    fs::path archive = work.string() + ".tar";
    try {
        auto counts = export_all(s, config, work);
        util::write_tar(work, "perch-export", archive);
        fs::remove_all(work);
        return {archive.string(), fs::file_size(archive), counts.dump()};
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(work, ignored);
        fs::remove(archive, ignored);
        throw;
    }
}

json import_archive(store::Store& s, const Config& config, const fs::path& archive,
                    const std::string& by) {
    // A quick look first, so that a server in use does not unpack gigabytes to refuse them.
    auto before = count_all(s);
    if (before["users"] || before["categories"] || before["rooms"] || before["groups"])
        throw admin::Refused(admin::Refused::Why::conflict,
                             "This server's database is not empty: an import goes into a new one "
                             "(it may hold admin accounts, nothing else)");
    fs::path work = fs::path(config.data_dir) / "tmp" / ("import-" + util::random_id());
    try {
        fs::create_directories(work);
        json counts;
        try {
            util::read_tar(archive, work, fs::space(work).available);
            // The export's folder: the archive's only folder (perch-export/), or its top.
            fs::path dir = work;
            if (!fs::exists(dir / "manifest.json"))
                for (const auto& e : fs::directory_iterator(work))
                    if (e.is_directory() && fs::exists(e.path() / "manifest.json")) dir = e.path();
            counts = import_all(s, config, dir, by, [](int64_t n) {
                spdlog::info("data import: {} messages loaded", n);
            });
        } catch (const admin::Refused&) {
            throw;
        } catch (const std::exception& e) {
            throw admin::Refused(admin::Refused::Why::bad_input,
                                 std::string("Nothing was imported: ") + e.what());
        }
        fs::remove_all(work);
        return counts;
    } catch (...) {
        std::error_code ignored;
        fs::remove_all(work, ignored);
        throw;
    }
}

void add_data_commands(CLI::App& app, const std::string& cfg, int& rc) {
    static std::string backup_dir;
    auto* backup = app.add_subcommand(
        "backup", "Copy everything this server keeps into a new directory, while it runs");
    backup->add_option("dir", backup_dir, "Directory to create")->required();
    backup->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        auto s = store::open_store(config.store);
        backup_all(config, *s, backup_dir);
    }));
    auto* restore = app.add_subcommand(
        "restore", "Put a backup in place, for a server that holds nothing yet (stopped)");
    restore->add_option("dir", backup_dir, "Directory written by perch backup")->required();
    restore->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        restore_all(config, backup_dir);
    }));

    auto* db = app.add_subcommand("db", "The content database")->require_subcommand(1);
    db->add_subcommand("migrate", "Bring the schema up to date (the server also does at start)")
        ->callback(guarded(rc, [&cfg] {
            auto config = load_config(cfg);
            prepare_data_dir(config);
            // Opening applies every missing migration, and refuses a newer schema.
            store::open_store(config.store);
            std::cout << "database " << store::describe(config.store)
                      << " is at the current schema\n";
        }));

    auto* data =
        app.add_subcommand("data", "Move all data between databases")->require_subcommand(1);
    static std::string dir;
    auto* exp = data->add_subcommand("export", "Write everything to a new directory");
    exp->add_option("dir", dir, "Directory to create")->required();
    exp->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        auto s = store::open_store(config.store);
        auto counts = export_all(*s, config, dir);
        std::cout << "exported to " << dir << ":";
        for (auto& [part, n] : counts.items()) std::cout << " " << n << " " << part;
        std::cout << "\n";
    }));
    auto* imp = data->add_subcommand("import", "Load an export into an empty database");
    imp->add_option("dir", dir, "Directory written by perch data export")->required();
    imp->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        auto s = store::open_store(config.store);
        auto counts = import_all(*s, config, dir, kByCommandLine,
                                 [](int64_t n) { std::cerr << "  " << n << " messages\n"; });
        std::cout << "imported " << dir << ":";
        for (auto& [part, n] : counts.items()) std::cout << " " << n << " " << part;
        std::cout << " (counts and checksums match)\n";
    }));
}

}  // namespace perch::app
