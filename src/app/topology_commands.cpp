// `perch topology validate|publish|show` on the configured database (docs/TOPOLOGY.md): the
// deployment's pools and servers, checked against the original's rules, published for every
// server to read.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "admin/operations.hpp"
#include "app/admin_commands.hpp"
#include "app/config.hpp"
#include "pool/topology.hpp"
#include "store/store.hpp"
#include "util/time.hpp"

namespace perch::app {

namespace {

// The published topology and which of its servers hold a running lease now.
void show(store::Store& s) {
    auto published = s.published_topology();
    if (!published) {
        std::cout << "no topology published (perch topology publish FILE)\n";
        return;
    }
    auto t = pool::parse_topology(published->text, "version " + std::to_string(published->version));
    std::map<std::string, bool> live;
    for (const auto& [member, up] : s.pool_members()) live[member.name] = up;
    std::cout << "topology version " << published->version << ", published "
              << util::format_timestamp(published->published_us) << " by " << published->by << "\n";
    for (const auto& p : t.pools) {
        std::cout << "pool " << p.name << " (" << (p.multi ? "multi-server" : "single-server")
                  << ", " << p.active() << " active of " << p.servers.size()
                  << "; content database " << p.content_database << ")\n";
        for (const auto& server : p.servers) {
            auto it = live.find(server.name);
            std::cout << "  " << server.name << "  " << server.role << "  "
                      << (server.site.empty() ? "-" : server.site) << "  " << server.client_address
                      << "  "
                      << (it == live.end() ? "never seen"
                          : it->second     ? "up"
                                           : "down")
                      << "\n";
        }
    }
}

// Each active slot and who holds it; the pool's state: normal, or failed over.
void pool_status(store::Store& s) {
    std::map<std::string, bool> live;
    for (const auto& [member, up] : s.pool_members()) live[member.name] = up;
    auto slots = s.pool_slots();
    if (slots.empty()) {
        std::cout << "no active slots: publish a topology (perch topology publish FILE)\n";
        return;
    }
    bool failed_over = std::any_of(slots.begin(), slots.end(),
                                   [](const store::PoolSlot& x) { return x.holder != x.slot; });
    std::cout << "pool state: " << (failed_over ? "failed over" : "normal") << "\n";
    for (const auto& slot : slots) {
        auto it = live.find(slot.holder);
        std::cout << "  " << slot.pool << "  slot " << slot.slot << "  held by " << slot.holder
                  << " ("
                  << (it == live.end() ? "never seen"
                      : it->second     ? "up"
                                       : "down")
                  << ") since " << util::format_timestamp(slot.since_us) << "\n";
    }
    std::set<std::string> listed;
    for (const auto& slot : slots) {
        auto names = s.active_list(slot.pool);
        listed.insert(names.begin(), names.end());
    }
    if (!listed.empty()) {
        std::string names;
        for (const auto& n : listed) names += (names.empty() ? "" : ",") + n;
        std::cout << "  active-server list: " << names << "\n";
        for (const auto& slot : slots)
            if (!listed.count(slot.holder))
                std::cout << "  draining " << slot.holder << " (left out of the list)\n";
    }
    for (const auto& server : live) {
        bool holds = std::any_of(slots.begin(), slots.end(), [&](const store::PoolSlot& x) {
            return x.holder == server.first;
        });
        if (!holds)
            std::cout << "  standby " << server.first << " (" << (server.second ? "up" : "down")
                      << ")\n";
    }
}

}  // namespace

void add_pool_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* pool = app.add_subcommand("pool", "A pool's active slots: status, failover, failback")
                     ->require_subcommand(1);
    auto with_store = [&cfg](const std::function<void(store::Store&)>& work) {
        work(*open_configured_store(cfg));
    };
    pool->add_subcommand("status", "Who holds each active slot; normal or failed over")
        ->callback(guarded(rc, [with_store] { with_store(pool_status); }));
    static std::string server;
    auto* failover = pool->add_subcommand(
        "failover", "A standby that is up takes the slot of SERVER now (its rooms move to it)");
    failover->add_option("server", server, "The active server to replace")->required();
    failover->callback(guarded(rc, [with_store] {
        with_store([](store::Store& s) {
            auto taker = admin::fail_over(s, kByCommandLine, server);
            std::cout << taker << " holds the slot of " << server << " now\n";
        });
    }));
    auto* list =
        pool->add_subcommand("active-servers",
                             "Which servers serve: the others accept no new sessions, hand their "
                             "rooms over and drain")
            ->require_subcommand(1);
    static std::string names;
    auto* set = list->add_subcommand("set", "Only these serve (A,B,C)");
    set->add_option("servers", names, "Comma-separated server names")->required();
    set->callback(guarded(rc, [with_store] {
        auto servers = comma_list(names);
        if (servers.empty()) throw std::runtime_error("name at least one server");
        with_store([&](store::Store& s) { admin::set_active_servers(s, kByCommandLine, servers); });
        std::cout << "active servers: " << names << " (the others drain)\n";
    }));
    list->add_subcommand("clear", "Every slot holder serves again")
        ->callback(guarded(rc, [with_store] {
            with_store([](store::Store& s) { admin::set_active_servers(s, kByCommandLine, {}); });
            std::cout << "active-server list cleared\n";
        }));
    pool->add_subcommand("failback", "Each slot back to its own server, where that one is up")
        ->callback(guarded(rc, [with_store] {
            with_store([](store::Store& s) {
                auto back = admin::fail_back(s, kByCommandLine);
                if (back.empty()) std::cout << "nothing to fail back\n";
                for (const auto& name : back) std::cout << name << " holds its slot again\n";
            });
        }));
}

void add_topology_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* topology =
        app.add_subcommand("topology", "The deployment's pools and servers")->require_subcommand(1);
    static std::string file;
    auto* validate = topology->add_subcommand(
        "validate", "Check a topology file against the rules (and the topology in force)");
    validate->add_option("file", file, "The topology (TOML)")->required();
    validate->callback(guarded(rc, [&cfg] {
        std::string text = read_file(file);
        auto t = pool::parse_topology(text, file);  // the file alone first
        std::vector<std::string> problems;
        try {
            auto s = open_configured_store(cfg);
            problems = admin::check_topology(*s, text, file);
        } catch (const admin::Refused&) {
            throw;
        } catch (const std::exception& e) {
            std::cerr << "not compared with the published topology (" << e.what() << ")\n";
            problems = pool::topology_problems(t, nullptr);
        }
        for (const auto& p : problems) std::cout << file << ": " << p << "\n";
        if (!problems.empty())
            throw std::runtime_error(file + " breaks " + std::to_string(problems.size()) +
                                     (problems.size() == 1 ? " rule" : " rules"));
        size_t servers = 0;
        for (const auto& p : t.pools) servers += p.servers.size();
        std::cout << file << ": valid (" << t.pools.size() << " pools, " << servers
                  << " servers)\n";
    }));
    auto* publish = topology->add_subcommand(
        "publish", "Check a topology file and make it the one every server follows");
    publish->add_option("file", file, "The topology (TOML)")->required();
    publish->callback(guarded(rc, [&cfg] {
        auto s = open_configured_store(cfg);
        int64_t version = admin::publish_topology(*s, kByCommandLine, read_file(file), file);
        std::cout << "published " << file << " as topology version " << version << "\n";
    }));
    topology->add_subcommand("show", "The published topology, and which servers are up")
        ->callback(guarded(rc, [&cfg] {
            auto s = open_configured_store(cfg);
            show(*s);
        }));
}

}  // namespace perch::app
