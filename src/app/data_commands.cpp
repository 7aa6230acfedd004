// `perch data export DIR` writes the whole content database — users and groups, policies,
// categories, rooms and their lists, every message, files (metadata and bytes), rosters,
// personal storage and read marks — to a directory of JSON-lines files with a manifest of
// counts and SHA-256 sums; `perch data import DIR` checks the sums and loads it into an empty
// database of the configured back end, then compares the counts. Everything goes through the
// store interface, so the archive moves data between back ends.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/admin_commands.hpp"
#include "app/config.hpp"
#include "app/data_format.hpp"
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

class Writer {
  public:
    Writer(const fs::path& dir, const std::string& part)
        : path_(dir / (part + ".jsonl")), out_(path_) {
        if (!out_) throw std::runtime_error("cannot write " + path_.string());
    }
    void add(const json& line) {
        out_ << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    }
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
                  {"version", kDataFormatVersion},
                  {"created", util::format_timestamp(util::now_us())},
                  {"domain", config.domain}};
    for (auto [part, n] : count_all(s)) manifest["counts"][part] = n;
    for (const char* part : kDataParts)
        manifest["sha256"][std::string(part) + ".jsonl"] = util::hex(
            util::file_digest(util::Hash::sha256, (dir / (std::string(part) + ".jsonl")).string()));
    std::ofstream(dir / "manifest.json") << manifest.dump(2) << '\n';
    return manifest["counts"];
}

}  // namespace

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

bool holds_content(store::Store& s) {
    auto n = count_all(s);
    return n["users"] || n["categories"] || n["rooms"] || n["groups"];
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
