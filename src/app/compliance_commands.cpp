// `perch compliance verify` walks the hash chain of the compliance database and names the first
// broken link; `perch compliance export` writes a selection (time range, room, user) to a file
// for legal hold or discovery, without moving the scheduled exports' cursors.
#include <iostream>

#include "app/admin_commands.hpp"
#include "app/compliance_setup.hpp"
#include "app/config.hpp"
#include "compliance/service.hpp"
#include "util/time.hpp"

namespace perch::app {

void add_compliance_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* compliance = app.add_subcommand("compliance", "Compliance database: verify, export")
                           ->require_subcommand(1);

    auto* verify = compliance->add_subcommand("verify", "Check every event's hash chain link");
    verify->callback(guarded(rc, [&cfg] {
        auto config = load_config(cfg);
        prepare_data_dir(config);
        compliance::Log log(config.compliance.path, config.compliance.url);
        auto r = log.verify();
        if (r.ok) {
            std::cout << "compliance log intact: " << r.checked << " events, chain verified\n";
            return;
        }
        std::cout << "compliance log BROKEN at event " << r.broken_at << ": " << r.reason << " ("
                  << r.checked << " events checked)\n";
        throw std::runtime_error("the compliance log has been tampered with");
    }));
    (void)rc;

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
        compliance::Log log(config.compliance.path, config.compliance.url);
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
        size_t n = compliance::export_selection(log, s, format, xml_options(config, *store), out);
        std::cout << "exported " << n << " events to " << out << "\n";
    }));
}

}  // namespace perch::app
