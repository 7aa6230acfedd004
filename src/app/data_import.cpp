// `perch data import DIR` (and the admin API's upload of an export's tar archive): checks
// every checksum, loads everything through the store interface in one transaction, and
// compares the counts with the manifest.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "admin/operations.hpp"
#include "app/admin_commands.hpp"
#include "app/data_format.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/tar.hpp"

namespace perch::app {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

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
    if (holds_content(s))
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
        manifest.value("version", 0) != kDataFormatVersion)
        throw std::runtime_error("not a Perch data export of version " +
                                 std::to_string(kDataFormatVersion));
    // Nothing is loaded from a damaged archive.
    for (const char* part : kDataParts) {
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

json import_archive(store::Store& s, const Config& config, const fs::path& archive,
                    const std::string& by) {
    // A quick look first, so that a server in use does not unpack gigabytes to refuse them.
    if (holds_content(s))
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

}  // namespace perch::app
