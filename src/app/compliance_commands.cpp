// `perch compliance verify` walks the hash chain of the compliance database and names the first
// broken link; `perch compliance export` writes a selection (time range, room, user) to a file
// for legal hold or discovery, without moving the scheduled exports' cursors. Verification
// holds the chain against the signed checkpoints that exports write (compliance/checkpoint).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "app/admin_commands.hpp"
#include "app/compliance_setup.hpp"
#include "app/config.hpp"
#include "compliance/service.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"

namespace perch::app {

namespace {
std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
}  // namespace

void add_compliance_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* compliance = app.add_subcommand("compliance", "Compliance database: verify, export")
                           ->require_subcommand(1);

    auto* verify = compliance->add_subcommand(
        "verify", "Check every event's hash chain link, and the chain against its checkpoints");
    static std::vector<std::string> checkpoint_files, public_keys;
    verify->add_option("--checkpoint", checkpoint_files,
                       "A checkpoint file kept elsewhere (repeatable); those of the database and "
                       "of the export directory are always read");
    verify->add_option("--public-key", public_keys,
                       "A public key that signs checkpoints (PEM, repeatable; default: the "
                       "public part of compliance.checkpoint_key)");
    verify->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        std::vector<std::string> keys, extra;
        keys.reserve(public_keys.size());
        extra.reserve(checkpoint_files.size());
        for (const auto& file : public_keys) keys.push_back(read_text(file));
        for (const auto& file : checkpoint_files) extra.push_back(read_text(file));
        auto v = verify_compliance(config, extra, keys);
        for (const auto& file : v.unreadable)
            std::cout << "not a checkpoint (ignored): " << file << "\n";
        const auto& r = v.result;
        if (r.ok) {
            std::cout << "compliance log intact: " << r.checked << " events, chain verified";
            if (r.checkpoints > 0)
                std::cout << ", " << r.checkpoints << " checkpoint signatures held";
            if (r.checkpoints_purged > 0)
                std::cout << " (" << r.checkpoints_purged << " more name events retention forgot)";
            if (r.checkpoints + r.checkpoints_purged == 0)
                std::cout << " (no checkpoint yet: one is signed at each export)";
            std::cout << "\n";
            return;
        }
        std::cout << "compliance log BROKEN at event " << r.broken_at << ": " << r.reason << " ("
                  << r.checked << " events checked)\n";
        throw std::runtime_error("the compliance log has been tampered with");
    }));
    (void)rc;

    auto* public_key = compliance->add_subcommand(
        "public-key", "Print the public key that verifies the checkpoints (for auditors)");
    public_key->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        auto key = compliance::CheckpointKey::open(config.compliance.checkpoint_key, true);
        std::cout << key.public_pem();
    }));

    auto* exp = compliance->add_subcommand("export", "Export a selection of events to a file");
    static std::string format = "xml", out, from, to, room, user;
    exp->add_option("--format", format, "xml or jsonl")->check(CLI::IsMember({"xml", "jsonl"}));
    exp->add_option("--out", out, "File to write")->required();
    exp->add_option("--from", from, "Events at or after this time (2026-01-31T00:00:00Z)");
    exp->add_option("--to", to, "Events at or before this time");
    exp->add_option("--room", room, "Only this room's events (its address before the @)");
    exp->add_option("--user", user, "Only this user's events");
    exp->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        compliance::Selection s;
        for (auto [text, target] : {std::pair{&from, &s.start_us}, {&to, &s.end_us}}) {
            if (text->empty()) continue;
            auto t = util::parse_timestamp(*text);
            if (!t) throw std::runtime_error("not a time: " + *text);
            *target = *t;
        }
        s.room = room;
        s.user = user;
        auto store = store::open_store(config.store);
        auto done = export_compliance(config, *store, s, format, out);
        std::cout << "exported " << done.events << " events to " << out << "\n";
        if (done.checkpoint_seq)
            std::cout << "checkpoint of event " << *done.checkpoint_seq << " written to " << out
                      << ".checkpoint.json\n";
    }));
}

ComplianceVerification verify_compliance(const Config& config,
                                         const std::vector<std::string>& extra_checkpoints,
                                         const std::vector<std::string>& public_keys) {
    ComplianceVerification out;
    compliance::Log log(config.compliance.path, config.compliance.url);
    std::vector<compliance::CheckpointKey> keys;
    keys.reserve(public_keys.size() + 1);
    for (const auto& pem : public_keys)
        keys.push_back(compliance::CheckpointKey::from_public_pem(pem));
    if (public_keys.empty() && std::filesystem::exists(config.compliance.checkpoint_key))
        keys.push_back(compliance::CheckpointKey::open(config.compliance.checkpoint_key, false));
    auto checkpoints = log.checkpoints();
    for (auto& c : compliance::exported_checkpoints(config.compliance.export_dir, out.unreadable))
        checkpoints.push_back(std::move(c));
    for (size_t i = 0; i < extra_checkpoints.size(); ++i) {
        auto c = compliance::Checkpoint::from_json(extra_checkpoints[i]);
        if (!c) out.unreadable.push_back("checkpoint " + std::to_string(i + 1));
        if (c) checkpoints.push_back(std::move(*c));
    }
    out.result = log.verify(checkpoints, keys);
    return out;
}

ComplianceExport export_compliance(const Config& config, store::Store& store,
                                   const compliance::Selection& selection,
                                   const std::string& format, const std::string& out) {
    ComplianceExport done;
    compliance::Log log(config.compliance.path, config.compliance.url);
    done.events =
        compliance::export_selection(log, selection, format, xml_options(config, store), out);
    // The chain's head at the time, signed, to keep with the export.
    auto key = compliance::CheckpointKey::open(config.compliance.checkpoint_key, true);
    if (auto c = compliance::write_checkpoint(log, key, out + ".checkpoint.json"))
        done.checkpoint_seq = c->seq;
    return done;
}

web::ComplianceAdmin compliance_admin(const Config& config, compliance::Service& service) {
    web::ComplianceAdmin c;
    c.status = [&config, &service](store::Store& s) {
        constexpr int kCounted = 10'000;
        auto waiting = s.outbox(kCounted + 1).size();
        return nlohmann::json{
            {"enabled", true},
            {"healthy", service.healthy()},
            {"backlog", std::min<size_t>(waiting, kCounted)},
            {"backlog_more", waiting > size_t(kCounted)},
            {"on_failure", config.compliance.on_failure},
            {"run_interval_s", service.options().run_interval.count()},
            {"adapters", {{"xml", service.options().xml}, {"jsonl", service.options().jsonl}}},
            {"retention_days", service.options().retention_days},
            {"settings", [&] {
                 auto now = service.options();
                 nlohmann::json out = nlohmann::json::object();
                 for (const auto& name : compliance::option_names())
                     out[name] = compliance::option_text(now, name);
                 return out;
             }()}};
    };
    c.verify = [&config](const std::vector<std::string>& checkpoints) {
        auto v = verify_compliance(config, checkpoints, {});
        const auto& r = v.result;
        nlohmann::json out{{"ok", r.ok},
                           {"checked", r.checked},
                           {"checkpoints", r.checkpoints},
                           {"checkpoints_purged", r.checkpoints_purged},
                           {"unreadable", v.unreadable}};
        if (!r.ok) {
            out["broken_at"] = r.broken_at;
            out["reason"] = r.reason;
        }
        return out;
    };
    c.export_events = [&config](const web::ComplianceAdmin::Selection& sel) {
        // Each export in a file of its own, removed once opened to send (and any left by
        // an answer that was never sent, an hour on).
        namespace fs = std::filesystem;
        fs::path dir = fs::path(config.compliance.export_dir) / "admin-api";
        fs::create_directories(dir);
        auto hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
        std::error_code ec;
        for (const auto& f : fs::directory_iterator(dir, ec))
            if (f.last_write_time(ec) < hour_ago) fs::remove(f.path(), ec);
        compliance::Selection s;
        if (sel.from_us) s.start_us = sel.from_us;
        if (sel.to_us) s.end_us = sel.to_us;
        s.room = sel.room;
        s.user = sel.user;
        std::string file = (dir / (util::random_id() + "." + sel.format)).string();
        auto users = store::open_store(config.store);
        auto done = export_compliance(config, *users, s, sel.format, file);
        web::ComplianceAdmin::Exported out{file, done.events, {}};
        std::ifstream checkpoint(file + ".checkpoint.json");
        out.checkpoint.assign(std::istreambuf_iterator<char>(checkpoint), {});
        fs::remove(file + ".checkpoint.json", ec);
        out.checkpoint.erase(std::remove(out.checkpoint.begin(), out.checkpoint.end(), '\n'),
                             out.checkpoint.end());
        return out;
    };
    return c;
}

}  // namespace perch::app
