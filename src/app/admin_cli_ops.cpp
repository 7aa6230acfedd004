// `perch admin compliance|data|topology|test-message`: the subcommands beyond the directory.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "app/admin_cli_detail.hpp"
#include "app/admin_commands.hpp"
#include "app/test_message.hpp"
#include "util/ids.hpp"
#include "util/tar.hpp"

namespace perch::app::admin_cli {

namespace fs = std::filesystem;

void add_compliance_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* compliance = admin
                           ->add_subcommand("compliance",
                                            "The compliance record (administrators and "
                                            "compliance officers)")
                           ->require_subcommand(1);
    add_call(compliance, cli, rc, "status", "Whether it is on and healthy, and what waits", nullptr,
             [] {
                 return Request{"GET", "/compliance", std::nullopt};
             },
             {});
    add_call(
        compliance, cli, rc, "set",
        "Change compliance settings for every server: run_interval_s=, xml=, jsonl=, "
        "one_room_per_file=, user_details=, room_details=, file_manifest=, retention_days= "
        "(VALUE 'file': back to the configuration file's)",
        [&cli](CLI::App* c) {
            c->add_option("settings", cli.settings, "KEY=VALUE ...")->required();
        },
        [&cli] {
            json body = json::object();
            for (const auto& [key, value] : key_values(cli.settings)) {
                if (value == "file")
                    body[key] = nullptr;
                else if (value == "true" || value == "false")
                    body[key] = value == "true";
                else
                    try {
                        body[key] = std::stoll(value);
                    } catch (const std::exception&) {
                        throw std::runtime_error(key + ": a number, true, false or file");
                    }
            }
            return Request{"PATCH", "/compliance/settings", body};
        },
        {{}, "", "set"});
    static std::vector<std::string> checkpoint_files;
    add_call(
        compliance, cli, rc, "verify",
        "Check the hash chain, and the chain against its signed checkpoints",
        [](CLI::App* c) {
            c->add_option("--checkpoint", checkpoint_files,
                          "A checkpoint file kept elsewhere (repeatable)")
                ->check(CLI::ExistingFile);
        },
        [] {
            json texts = json::array();
            for (const auto& file : checkpoint_files) {
                std::ifstream in(file);
                texts.push_back(std::string(std::istreambuf_iterator<char>(in), {}));
            }
            return Request{"POST", "/compliance/verify", json{{"checkpoints", texts}}};
        },
        {});
    auto* exp = compliance->add_subcommand(
        "export", "Download a selection of events, with the chain's head signed beside it");
    static std::string out, format = "xml", from, to, room, user;
    exp->add_option("--out", out, "File to write (its checkpoint goes to FILE.checkpoint.json)")
        ->required();
    exp->add_option("--format", format)->check(CLI::IsMember({"xml", "jsonl"}));
    exp->add_option("--from", from, "Events at or after this time (2026-01-31T00:00:00Z)");
    exp->add_option("--to", to, "Events at or before this time");
    exp->add_option("--room", room, "Only this room's events");
    exp->add_option("--user", user, "Only this user's events");
    exp->callback(guarded(rc, [&cli] {
        resolve_credentials(cli);
        json body{{"format", format}};
        for (auto [key, value] :
             {std::pair{"from", &from}, {"to", &to}, {"room", &room}, {"user", &user}})
            if (!value->empty()) body[key] = *value;
        std::map<std::string, std::string> headers;
        try {
            headers = admin_download(cli.endpoint, "/admin/v1/compliance/export", body, out);
        } catch (const AdminApiError& e) {
            refused(e);
        }
        std::cout << "exported " << headers["x-perch-events"] << " events to " << out << "\n";
        if (!headers["x-perch-checkpoint"].empty()) {
            std::ofstream c(out + ".checkpoint.json");
            c << headers["x-perch-checkpoint"] << "\n";
            std::cout << "the chain's head, signed, in " << out << ".checkpoint.json\n";
        }
    }));
}

void add_data_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* data = admin->add_subcommand("data", "All the data, to move it")->require_subcommand(1);
    auto* exp = data->add_subcommand(
        "export",
        "Download everything (users, rooms, history, files, settings) as a tar archive; "
        "load it with `perch admin data import` (or `tar -xf` it and `perch data import DIR`) "
        "into an empty database");
    static std::string out;
    exp->add_option("--out", out, "The archive to write (e.g. perch-export.tar)")->required();
    exp->callback(guarded(rc, [&cli] {
        resolve_credentials(cli);
        std::map<std::string, std::string> headers;
        try {
            headers = admin_download(cli.endpoint, "/admin/v1/data/export", json::object(), out);
        } catch (const AdminApiError& e) {
            refused(e);
        }
        std::cout << "exported to " << out << ":";
        auto counts = json::parse(headers["x-perch-counts"], nullptr, false);
        if (counts.is_object())
            for (auto& [part, n] : counts.items()) std::cout << " " << n << " " << part;
        std::cout << "\n";
    }));
    auto* imp = data->add_subcommand(
        "import",
        "Upload an export (its tar archive, or the folder `perch data export` wrote) into the "
        "server's empty database; all or nothing");
    static std::string in;
    imp->add_option("archive", in, "perch-export.tar, or an export's folder")->required();
    imp->callback(guarded(rc, [&cli] {
        resolve_credentials(cli);
        std::string archive = in;
        std::optional<fs::path> packed;  // a folder, packed here first
        if (fs::is_directory(in)) {
            if (!fs::exists(fs::path(in) / "manifest.json"))
                throw std::runtime_error(in + " holds no manifest.json: not an export's folder");
            packed = fs::temp_directory_path() / ("perch-import-" + util::random_id() + ".tar");
            util::write_tar(in, "perch-export", *packed);
            archive = packed->string();
        } else if (!fs::is_regular_file(in)) {
            throw std::runtime_error("no file or folder " + in);
        }
        struct Cleanup {
            std::optional<fs::path>& file;
            ~Cleanup() {
                std::error_code ignored;
                if (file) fs::remove(*file, ignored);
            }
        } cleanup{packed};
        json answer;
        try {
            answer = admin_upload(cli.endpoint, "/admin/v1/data/import", archive);
        } catch (const AdminApiError& e) {
            refused(e);
        }
        std::cout << "imported " << in << ":";
        for (auto& [part, n] : answer["imported"].items()) std::cout << " " << n << " " << part;
        std::cout << " (counts and checksums match)\n";
    }));
}

void add_test_message(CLI::App* admin, Cli& cli, int& rc) {
    static TestMessageOptions options;
    auto* cmd = admin->add_subcommand(
        "test-message",
        "The synthetic transaction: two test users sign in over XMPP, join the test room, one "
        "posts, the other must see it. Exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN");
    cmd->add_option("--xmpp", options.xmpp_host,
                    "host[:port] of the XMPP service (default: the admin API's host, port 5222)");
    cmd->add_option("--warning", options.warning_ms, "WARNING when slower, in ms (default 2000)")
        ->check(CLI::Range(1L, 3'600'000L));
    cmd->add_option("--critical", options.critical_ms,
                    "CRITICAL when slower, in ms (default 10000)")
        ->check(CLI::Range(1L, 3'600'000L));
    cmd->callback([&cli, &rc] {
        try {
            resolve_credentials(cli);
        } catch (const std::exception& e) {
            std::cout << "UNKNOWN - " << e.what() << "\n";
            rc = 3;
            return;
        }
        TestMessageOptions o = options;
        const std::string& given = options.xmpp_host;
        auto [host, port] = host_and_port(given.empty() ? cli.endpoint.server : given);
        o.xmpp_host = host;
        bool port_given =
            !given.empty() && given.back() != ']' && given.rfind(':') != std::string::npos;
        o.xmpp_port = port_given ? port : "5222";
        rc = run_test_message(cli.endpoint, o);
    });
}

void add_pool_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* pool = admin
                     ->add_subcommand("pool",
                                      "A pool's active slots: failover, failback, the "
                                      "active-server list (status: topology show)")
                     ->require_subcommand(1);
    add_call(
        pool, cli, rc, "failover", "A standby that is up takes the slot of SERVER now",
        [&cli](CLI::App* c) { c->add_option("server", cli.a)->required(); },
        [&cli] {
            return Request{"POST", "/pool/failover", json{{"server", cli.a}}};
        },
        {});
    add_call(pool, cli, rc, "failback", "Each slot back to its own server, where that one is up",
             nullptr,
             [] {
                 return Request{"POST", "/pool/failback", json::object()};
             },
             {});
    auto* list = pool->add_subcommand("active-servers", "Which servers serve; the others drain")
                     ->require_subcommand(1);
    add_call(
        list, cli, rc, "set", "Only these serve (A,B,C)",
        [&cli](CLI::App* c) { c->add_option("servers", cli.a, "Comma-separated")->required(); },
        [&cli] {
            return Request{"PUT", "/pool/active-servers", json{{"servers", comma_list(cli.a)}}};
        },
        {{}, "", "active servers set; the others drain"});
    add_call(list, cli, rc, "clear", "Every slot holder serves again", nullptr,
             [] {
                 return Request{"PUT", "/pool/active-servers", json{{"servers", json::array()}}};
             },
             {{}, "", "active-server list cleared"});
}

void add_topology_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* topology = admin->add_subcommand("topology", "The deployment's pools and servers")
                         ->require_subcommand(1);
    auto* show = topology->add_subcommand("show", "The published topology, and who is up");
    show->callback(guarded(rc, [&cli] {
        resolve_credentials(cli);
        json t;
        try {
            t = admin_request(cli.endpoint, "GET", "/admin/v1/topology");
        } catch (const AdminApiError& e) {
            refused(e);
        }
        if (cli.as_json) {
            std::cout << t.dump(2) << "\n";
            return;
        }
        if (t.value("version", 0) == 0) {
            std::cout << "no topology published\n";
            return;
        }
        std::cout << "topology version " << t["version"] << ", published " << cell(t["published"])
                  << " by " << cell(t["by"]) << "\n";
        for (const auto& p : t["pools"]) {
            std::cout << "pool " << cell(p["name"]) << " (" << cell(p["type"]) << ")\n";
            print_table(p["servers"], {"name", "role", "site", "client_address", "up"});
            if (!p["active_servers"].empty())
                std::cout << "active-server list: " << cell(p["active_servers"]) << "\n";
        }
        if (!t["slots"].empty()) print_table(t["slots"], {"pool", "slot", "holder", "since"});
    }));
    static std::string file;
    for (auto [name, help] :
         {std::pair{"validate", "Check a topology file against the rules and the one in force"},
          std::pair{"publish", "Check a topology file and make it the one every server follows"}}) {
        auto* cmd = topology->add_subcommand(name, help);
        cmd->add_option("file", file, "The topology (TOML)")->required();
        bool publish = std::string(name) == "publish";
        cmd->callback(guarded(rc, [&cli, publish] {
            resolve_credentials(cli);
            json body{{"text", read_file(file)}};
            json answer;
            try {
                answer = admin_request(cli.endpoint, publish ? "PUT" : "POST",
                                       publish ? "/admin/v1/topology" : "/admin/v1/topology/check",
                                       body);
            } catch (const AdminApiError& e) {
                refused(e);
            }
            if (publish) {
                std::cout << "published " << file << " as topology version " << answer["version"]
                          << "\n";
                return;
            }
            for (const auto& p : answer["problems"]) std::cout << file << ": " << cell(p) << "\n";
            if (!answer["problems"].empty())
                throw std::runtime_error(file + " breaks " +
                                         std::to_string(answer["problems"].size()) + " rules");
            std::cout << file << ": valid\n";
        }));
    }
}

}  // namespace perch::app::admin_cli
