#include "app/admin_commands.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "admin/operations.hpp"
#include "app/config.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"
#include "xmpp/credentials.hpp"
#include "xmpp/jid.hpp"

namespace perch::app {

namespace {

struct Context {
    Config config;
    std::unique_ptr<store::Store> store;
};

Context open(const std::string& config_path) {
    Context c{load_config(config_path), nullptr};
    prepare_data_dir(c.config);
    c.store = store::open_store(c.config.store);
    return c;
}

void add_user_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* user = app.add_subcommand("user", "Manage users")->require_subcommand(1);

    auto* add = user->add_subcommand("add", "Create a user (prints the password when generated)");
    static std::string name, password, display, email;
    add->add_option("name", name, "User name (the part before @)")->required();
    add->add_option("--password", password, "Password (generated when omitted)");
    add->add_option("--display-name", display, "Display name");
    add->add_option("--email", email, "E-mail address");
    add->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto made = admin::create_user(*c.store, kByCommandLine, {name, password, display, email});
        std::cout << "created " << made.user.username << "@" << c.config.domain;
        if (!made.generated_password.empty())
            std::cout << " with password " << made.generated_password;
        std::cout << "\n";
    }));

    auto* passwd = user->add_subcommand("passwd", "Set a user's password");
    passwd->add_option("name", name)->required();
    passwd->add_option("--password", password, "New password (generated when omitted)");
    passwd->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto generated = admin::set_password(*c.store, kByCommandLine, name, password);
        std::cout << "password of " << admin::username(name) << " changed";
        if (!generated.empty()) std::cout << " to " << generated;
        std::cout << "\n";
    }));

    for (bool disable : {true, false}) {
        auto* cmd = user->add_subcommand(
            disable ? "disable" : "enable",
            disable ? "Stop a user from signing in" : "Let a disabled user sign in again");
        cmd->add_option("name", name)->required();
        cmd->callback(guarded(rc, [&cfg, disable] {
            auto c = open(cfg);
            // A running server ends a disabled user's sessions when it reads the notice.
            admin::set_disabled(*c.store, kByCommandLine, name, disable);
            std::cout << admin::username(name) << (disable ? " disabled" : " enabled") << "\n";
        }));
    }

    auto* bulk = user->add_subcommand(
        "bulk-add", "Create PREFIX1..PREFIXn sharing one password and one salt (load tests only)");
    static int count = 0;
    bulk->add_option("prefix", name, "User name prefix")->required();
    bulk->add_option("count", count, "How many users")
        ->required()
        ->check(CLI::Range(1, 10'000'000));
    bulk->add_option("--password", password, "Password of every user")->required();
    bulk->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        // One key derivation for all: the users share the salt, so a load generator can log
        // all of them in with one PBKDF2 run. Never use this for real accounts.
        store::User proto;
        xmpp::Credentials::set_password(proto, password);
        std::vector<store::User> users;
        for (int i = 1; i <= count; ++i) {
            store::User u = proto;
            u.username = admin::username(name + std::to_string(i));
            users.push_back(std::move(u));
        }
        size_t added = c.store->add_users(users);
        std::cout << "created " << added << " users " << name << "1.." << name << count
                  << " (existing ones left alone)\n";
    }));

    auto* admin =
        user->add_subcommand("admin", "Make a user a persistent chat administrator, or not");
    static std::string admin_state;
    admin->add_option("name", name)->required();
    admin->add_option("state", admin_state, "on or off")
        ->required()
        ->check(CLI::IsMember({"on", "off"}));
    admin->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        admin::set_chat_administrator(*c.store, kByCommandLine, name, admin_state == "on");
        std::cout << admin::username(name) << (admin_state == "on" ? " is" : " is not")
                  << " an administrator\n";
    }));

    auto* list = user->add_subcommand("list", "List users");
    list->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        for (const auto& u : c.store->list_users()) {
            std::cout << u.username << "@" << c.config.domain << (u.disabled ? "  (disabled)" : "")
                      << (u.administrator ? "  (administrator)" : "");
            if (!u.display_name.empty()) std::cout << "  " << u.display_name;
            std::cout << "\n";
        }
    }));
}

// `grant` and `revoke` for one kind of principal list (a category's or a room's): the same
// arguments and report; `apply` changes the owner's list (with its compliance event).
using ApplyGrant =
    std::function<void(store::Store&, const std::string& owner, const std::string& list,
                       const std::string& principal, bool grant)>;
void add_grant_commands(CLI::App& parent, const std::string& cfg, int& rc,
                        const std::string& owner_kind, const std::vector<std::string>& lists,
                        const ApplyGrant& apply) {
    std::string names;
    for (const auto& l : lists) names += (names.empty() ? "" : ", ") + l;
    for (bool grant : {true, false}) {
        auto* cmd = parent.add_subcommand(
            grant ? "grant" : "revoke",
            grant ? "Add a principal to a list: " + names : "Remove a principal from a list");
        auto owner = std::make_shared<std::string>(), list = std::make_shared<std::string>(),
             who = std::make_shared<std::string>();
        cmd->add_option(owner_kind, *owner)->required();
        cmd->add_option("list", *list, names)->required()->check(CLI::IsMember(lists));
        cmd->add_option("principal", *who, "user:NAME, group:NAME or everyone")->required();
        cmd->callback(guarded(rc, [&cfg, grant, owner, list, who, apply] {
            auto c = open(cfg);
            apply(*c.store, *owner, *list, *who, grant);
            std::cout << (grant ? "added " : "removed ") << store::to_string(admin::principal(*who))
                      << (grant ? " to " : " from ") << *list << " of " << *owner
                      << " (running servers apply it within a second)\n";
        }));
    }
}

void add_category_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* category = app.add_subcommand("category", "Manage categories")->require_subcommand(1);
    auto* add = category->add_subcommand("add", "Create a category");
    static std::string name, description;
    static std::vector<std::string> allow, deny, creators;
    static bool no_invitations = false, no_uploads = false, no_history = false;
    add->add_option("name", name)->required();
    add->add_option("--description", description);
    add->add_option(
        "--allow", allow,
        "Who may find and join its rooms (user:NAME, group:NAME, everyone); default everyone");
    add->add_option("--deny", deny, "Who never may, whatever else says so");
    add->add_option("--creator", creators, "Who may create rooms in it");
    add->add_flag("--no-invitations", no_invitations, "Turn invitations off in its rooms");
    add->add_flag("--no-file-upload", no_uploads, "Turn file upload off in its rooms");
    add->add_flag("--no-chat-history", no_history, "Turn chat history off in its rooms");
    add->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        admin::create_category(
            *c.store, kByCommandLine,
            {name, description, allow, deny, creators, !no_invitations, !no_uploads, !no_history});
        std::cout << "created category " << name << "\n";
    }));
    add_grant_commands(*category, cfg, rc, "category", {"allowed", "denied", "creator"},
                       [](store::Store& s, const std::string& owner, const std::string& list,
                          const std::string& who, bool grant) {
                           admin::change_category_list(s, kByCommandLine, owner, list, who, grant);
                       });
    auto* list = category->add_subcommand("list", "List categories");
    list->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        for (const auto& cat : c.store->list_categories()) {
            std::cout << cat.name << (cat.description.empty() ? "" : "  " + cat.description)
                      << "\n";
            for (const auto& [list, p] : c.store->category_principals(cat.id))
                std::cout << "  " << store::to_string(list) << " " << store::to_string(p) << "\n";
            if (!cat.invitations) std::cout << "  invitations off\n";
            if (!cat.file_upload) std::cout << "  file upload off\n";
            if (!cat.chat_history) std::cout << "  chat history off\n";
        }
    }));
}

void add_room_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* room = app.add_subcommand("room", "Manage rooms")->require_subcommand(1);
    auto* add = room->add_subcommand("add", "Create a room");
    static std::string node, category, name, description, privacy = "open", type = "normal";
    add->add_option("node", node, "Room address (the part before @chat.DOMAIN)")->required();
    add->add_option("--category", category, "Category the room belongs to")->required();
    add->add_option("--name", name, "Display name (defaults to the address)");
    add->add_option("--description", description);
    add->add_option("--privacy", privacy, "open, closed or secret")
        ->check(CLI::IsMember({"open", "closed", "secret"}));
    add->add_option("--type", type, "normal or auditorium")
        ->check(CLI::IsMember({"normal", "auditorium"}));
    add->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        store::Room r;
        r.node = node;
        r.name = name;
        r.description = description;
        r.privacy = *store::parse_privacy(privacy);
        r.type = *store::parse_room_type(type);
        admin::create_room(*c.store, kByCommandLine, r, category);
        std::cout << "created room " << *xmpp::nodeprep(node) << "@" << c.config.muc_domain()
                  << "\n";
    }));
    auto* bulk = room->add_subcommand("bulk-add", "Create rooms PREFIX1..PREFIXn (load tests)");
    static int count = 0;
    bulk->add_option("prefix", node, "Room address prefix")->required();
    bulk->add_option("count", count, "How many rooms")
        ->required()
        ->check(CLI::Range(1, 10'000'000));
    bulk->add_option("--category", category, "Category of the rooms")->required();
    bulk->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto cat = c.store->find_category(category);
        if (!cat) throw std::runtime_error("no category named " + category);
        std::vector<store::Room> rooms;
        for (int i = 1; i <= count; ++i) {
            store::Room r;
            auto n = xmpp::nodeprep(node + std::to_string(i));
            if (!n) throw std::runtime_error("'" + node + "' is not a valid room address prefix");
            r.node = r.name = *n;
            r.category_id = cat->id;
            rooms.push_back(std::move(r));
        }
        std::cout << "created " << c.store->add_rooms(rooms) << " rooms\n";
    }));
    add_grant_commands(*room, cfg, rc, "room", {"member", "manager", "presenter", "denied"},
                       [](store::Store& s, const std::string& owner, const std::string& list,
                          const std::string& who, bool grant) {
                           admin::change_room_list(s, kByCommandLine, owner, list, who, grant);
                       });
    auto* clear = room->add_subcommand("clear", "Delete a room's messages older than a date");
    static std::string before;
    clear->add_option("node", node)->required();
    clear->add_option("--before", before, "XEP-0082 time, e.g. 2026-01-01T00:00:00Z")->required();
    clear->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        int64_t deleted = admin::clear_room(*c.store, kByCommandLine, node, before);
        std::cout << "deleted " << deleted << " messages of " << node << " older than " << before
                  << "\n";
    }));
    auto* list = room->add_subcommand("list", "List rooms");
    list->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        std::map<int64_t, std::string> categories;
        for (const auto& cat : c.store->list_categories()) categories[cat.id] = cat.name;
        for (const auto& r : c.store->list_rooms()) {
            std::cout << r.node << "@" << c.config.muc_domain() << "  ["
                      << categories[r.category_id] << "] " << store::to_string(r.privacy) << " "
                      << store::to_string(r.type) << (r.disabled ? " disabled" : "") << "  "
                      << r.last_seq << " messages\n";
            for (const auto& [l, p] : c.store->room_principals(r.id))
                std::cout << "  " << store::to_string(l) << " " << store::to_string(p) << "\n";
        }
    }));
}

void add_group_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* group = app.add_subcommand("group", "Manage groups of users")->require_subcommand(1);
    static std::string name, description, user;
    auto* add = group->add_subcommand("add", "Create a group");
    add->add_option("name", name)->required();
    add->add_option("--description", description);
    add->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        admin::create_group(*c.store, kByCommandLine, name, description);
        std::cout << "created group " << name << "\n";
    }));
    for (bool join : {true, false}) {
        auto* cmd = group->add_subcommand(
            join ? "join" : "leave", join ? "Add a user to a group" : "Remove a user from a group");
        cmd->add_option("group", name)->required();
        cmd->add_option("user", user)->required();
        cmd->callback(guarded(rc, [&cfg, join] {
            auto c = open(cfg);
            admin::set_group_member(*c.store, kByCommandLine, name, user, join);
            std::cout << admin::username(user) << (join ? " joined " : " left ") << name << "\n";
        }));
    }
    auto* list = group->add_subcommand("list", "List groups and their members");
    list->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        for (const auto& g : c.store->list_groups()) {
            std::cout << g.name << (g.description.empty() ? "" : "  " + g.description) << "\n";
            for (const auto& m : c.store->group_members(g.name)) std::cout << "  " << m << "\n";
        }
    }));
}

void add_policy_command(CLI::App& app, const std::string& cfg, int& rc) {
    auto* policy = app.add_subcommand(
        "policy", "Turn persistent chat on or off globally, per group or per user");
    static std::string scope, state;
    policy->add_option("scope", scope, "global, group:NAME or user:NAME")->required();
    policy->add_option("state", state, "on, off or unset")
        ->required()
        ->check(CLI::IsMember({"on", "off", "unset"}));
    policy->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        admin::set_policy(*c.store, kByCommandLine, scope, admin::on_off_unset(state));
        std::cout << "persistent chat for " << scope << ": " << state
                  << " (applies at the next login)\n";
    }));
}

// Accounts of the admin API, made here for the first administrator (the API itself manages
// them afterwards: /admin/v1/accounts).
void add_admin_account_commands(CLI::App& app, const std::string& cfg, int& rc) {
    auto* account = app.add_subcommand("admin-account",
                                       "Accounts of the admin API (port 8011), on this machine")
                        ->require_subcommand(1);
    static std::string name, role = "administrator", password;
    auto* add = account->add_subcommand(
        "add", "Create an admin account (prints the password when generated)");
    add->add_option("name", name, "Account name (letters, digits, '.', '-', '_')")->required();
    add->add_option("--role", role, "administrator, compliance-officer or read-only")
        ->check(CLI::IsMember({"administrator", "compliance-officer", "read-only"}));
    add->add_option("--password", password, "Password (generated when omitted)");
    add->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto generated = admin::add_admin(*c.store, kByCommandLine, name, role, password);
        std::cout << "created admin account " << name << " (" << role << ")";
        if (!generated.empty()) std::cout << " with password " << generated;
        std::cout << "\n";
    }));
    auto* passwd = account->add_subcommand("passwd", "Set an admin account's password");
    passwd->add_option("name", name)->required();
    passwd->add_option("--password", password, "New password (generated when omitted)");
    passwd->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto generated = admin::set_admin_password(*c.store, kByCommandLine, name, password);
        std::cout << "password of admin account " << name << " changed";
        if (!generated.empty()) std::cout << " to " << generated;
        std::cout << "\n";
    }));
    auto* remove = account->add_subcommand("remove", "Remove an admin account");
    remove->add_option("name", name)->required();
    remove->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        admin::remove_admin(*c.store, kByCommandLine, name);
        std::cout << "removed admin account " << name << "\n";
    }));
    auto* list = account->add_subcommand("list", "List admin accounts");
    list->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        for (const auto& a : c.store->list_admins())
            std::cout << a.name << "  " << store::to_string(a.role)
                      << (a.disabled ? "  (disabled)" : "") << "\n";
    }));
}

void add_demo_command(CLI::App& app, const std::string& cfg, int& rc) {
    auto* demo = app.add_subcommand(
        "demo", "Create demo users, a category and rooms when the database is empty");
    demo->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        std::filesystem::path file = std::filesystem::path(c.config.data_dir) / "demo-users.txt";
        // Each part is seeded only where that part is empty, so running it twice is harmless.
        if (c.store->list_users().empty()) {
            std::ofstream out(file);
            std::filesystem::permissions(
                file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
            for (const char* name : {"alice", "bob", "carol"}) {
                store::User u;
                u.username = name;
                u.display_name = std::string(1, char(name[0] - 32)) + (name + 1);
                std::string pw = admin::generated_password();
                xmpp::Credentials::set_password(u, pw);
                c.store->add_user(u);
                out << u.username << "@" << c.config.domain << "  " << pw << "\n";
            }
        }
        // An account of the admin API, to try `perch admin` with.
        if (c.store->list_admins().empty()) {
            std::string pw = admin::generated_password();
            admin::add_admin(*c.store, kByCommandLine, "admin", "administrator", pw);
            std::ofstream out(file, std::ios::app);
            out << "admin (admin API, administrator)  " << pw << "\n";
        }
        if (c.store->list_rooms().empty()) {
            store::Category cat;
            cat.name = "General";
            cat.description = "Rooms for everybody";
            int64_t cat_id = c.store->find_category("General")
                                 ? c.store->find_category("General")->id
                                 : c.store->add_category(cat);
            // Everybody may use the demo rooms and create new ones.
            c.store->set_category_principal(cat_id, store::CategoryList::allowed,
                                            store::Principal::all(), true);
            c.store->set_category_principal(cat_id, store::CategoryList::creator,
                                            store::Principal::all(), true);
            struct {
                const char* node;
                const char* name;
                const char* description;
            } rooms[] = {{"lobby", "Lobby", "Say hello"},
                         {"engineering", "Engineering", "Builds, bugs and benchmarks"},
                         {"random", "Random", "Anything goes"}};
            for (const auto& d : rooms) {
                if (c.store->find_room(d.node)) continue;
                store::Room r;
                r.node = d.node;
                r.name = d.name;
                r.description = d.description;
                r.category_id = cat_id;
                c.store->add_room(r);
            }
        }
        if (std::filesystem::exists(file))
            std::cout << "Demo accounts (from " << file.string() << "):\n";
        std::ifstream in(file);
        std::string line;
        while (std::getline(in, line)) std::cout << "  " << line << "\n";
        std::cout << "Rooms:\n";
        for (const auto& r : c.store->list_rooms())
            std::cout << "  " << r.node << "@" << c.config.muc_domain() << "\n";
    }));
}

}  // namespace

std::unique_ptr<store::Store> open_configured_store(const std::string& config_path) {
    auto config = load_config(config_path);
    prepare_data_dir(config);
    return store::open_store(config.store);
}

std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    for (std::string name; std::getline(in, name, ',');)
        if (!name.empty()) out.push_back(name);
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::function<void()> guarded(int& exit_code, std::function<void()> body) {
    return [&exit_code, body = std::move(body)] {
        try {
            body();
            exit_code = 0;
        } catch (const std::exception& e) {
            std::cerr << "perch: " << e.what() << "\n";
            exit_code = 1;
        }
    };
}

void add_admin_commands(CLI::App& app, const std::string& config_path, int& exit_code) {
    add_user_commands(app, config_path, exit_code);
    add_category_commands(app, config_path, exit_code);
    add_room_commands(app, config_path, exit_code);
    add_group_commands(app, config_path, exit_code);
    add_policy_command(app, config_path, exit_code);
    add_admin_account_commands(app, config_path, exit_code);
    add_demo_command(app, config_path, exit_code);
    add_compliance_commands(app, config_path, exit_code);
    add_data_commands(app, config_path, exit_code);
    add_topology_commands(app, config_path, exit_code);
    add_pool_commands(app, config_path, exit_code);
}

}  // namespace perch::app
