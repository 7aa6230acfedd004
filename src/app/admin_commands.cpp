#include "app/admin_commands.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

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

std::string username_or_throw(const std::string& raw) {
    auto node = xmpp::nodeprep(raw);
    if (!node) throw std::runtime_error("'" + raw + "' is not a valid user name (JID localpart)");
    return *node;
}

store::Principal principal_or_throw(const std::string& text) {
    auto p = store::parse_principal(text);
    if (!p)
        throw std::runtime_error("'" + text +
                                 "' is not a principal: use user:NAME, group:NAME or everyone");
    if (p->kind == store::Principal::Kind::user) p->name = username_or_throw(p->name);
    return *p;
}

std::optional<bool> on_off(const std::string& v) {
    if (v == "on") return true;
    if (v == "off") return false;
    return std::nullopt;  // "unset"
}

std::string generated_password() {
    return util::random_id().substr(0, 16);
}

// An account change made here, with its compliance event (dropped when compliance is off).
void user_change(store::Store& s, const std::string& user, const std::string& change,
                 const std::function<void()>& work) {
    s.with_events({store::make_event("USERCHANGE", {}, {}, {},
                                     {{"user", user}, {"change", change}, {"by", "command line"}})},
                  work);
}

store::User require_user(store::Store& s, const std::string& name) {
    auto u = s.find_user(username_or_throw(name));
    if (!u) throw std::runtime_error("no user named " + name);
    return *u;
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
        store::User u;
        u.username = username_or_throw(name);
        u.display_name = display;
        u.email = email;
        bool generated = password.empty();
        std::string pw = generated ? generated_password() : password;
        xmpp::Credentials::set_password(u, pw);
        user_change(*c.store, u.username, "created", [&] { c.store->add_user(u); });
        std::cout << "created " << u.username << "@" << c.config.domain;
        if (generated) std::cout << " with password " << pw;
        std::cout << "\n";
    }));

    auto* passwd = user->add_subcommand("passwd", "Set a user's password");
    passwd->add_option("name", name)->required();
    passwd->add_option("--password", password, "New password (generated when omitted)");
    passwd->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto u = require_user(*c.store, name);
        bool generated = password.empty();
        std::string pw = generated ? generated_password() : password;
        xmpp::Credentials::set_password(u, pw);
        user_change(*c.store, u.username, "password", [&] { c.store->update_user(u); });
        std::cout << "password of " << u.username << " changed";
        if (generated) std::cout << " to " << pw;
        std::cout << "\n";
    }));

    for (bool disable : {true, false}) {
        auto* cmd = user->add_subcommand(
            disable ? "disable" : "enable",
            disable ? "Stop a user from signing in" : "Let a disabled user sign in again");
        cmd->add_option("name", name)->required();
        cmd->callback(guarded(rc, [&cfg, disable] {
            auto c = open(cfg);
            auto u = require_user(*c.store, name);
            u.disabled = disable;
            // A running server ends a disabled user's sessions when it reads the notice.
            user_change(*c.store, u.username, disable ? "disabled" : "enabled", [&] {
                c.store->update_user(u);
                c.store->note_change("user", u.username);
            });
            std::cout << u.username << (disable ? " disabled" : " enabled") << "\n";
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
            u.username = username_or_throw(name + std::to_string(i));
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
        auto u = require_user(*c.store, name);
        u.administrator = admin_state == "on";
        user_change(*c.store, u.username, "administrator " + admin_state,
                    [&] { c.store->update_user(u); });
        std::cout << u.username << (u.administrator ? " is" : " is not") << " an administrator\n";
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
// arguments, checks and report; `apply` finds the owner and changes its list.
using ApplyGrant =
    std::function<void(store::Store&, const std::string& owner, const std::string& list,
                       const store::Principal&, bool grant)>;
void add_grant_commands(CLI::App& parent, const std::string& cfg, int& rc,
                        const std::string& owner_kind, const std::vector<std::string>& lists,
                        ApplyGrant apply) {
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
        cmd->callback(guarded(rc, [&cfg, grant, owner, list, who, apply, owner_kind] {
            auto c = open(cfg);
            auto p = principal_or_throw(*who);
            bool room = owner_kind == "room";
            // Changes made here are compliance events like those made from clients.
            c.store->with_events({store::make_event(room ? "MEMBERSHIP" : "CATEGORYCHANGE", {},
                                                    room ? *owner : "", room ? "" : *owner,
                                                    {{"principal", store::to_string(p)},
                                                     {"list", *list},
                                                     {"change", grant ? "added" : "removed"},
                                                     {"by", "command line"}})},
                                 [&] {
                                     apply(*c.store, *owner, *list, p, grant);
                                     c.store->note_change(owner_kind, *owner);
                                 });
            std::cout << (grant ? "added " : "removed ") << store::to_string(p)
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
        store::Category cat;
        cat.name = name;
        cat.description = description;
        cat.invitations = !no_invitations;
        cat.file_upload = !no_uploads;
        cat.chat_history = !no_history;
        // Check every principal before anything is written.
        std::vector<std::pair<store::CategoryList, store::Principal>> lists;
        for (const auto& a : allow.empty() ? std::vector<std::string>{"everyone"} : allow)
            lists.emplace_back(store::CategoryList::allowed, principal_or_throw(a));
        for (const auto& d : deny)
            lists.emplace_back(store::CategoryList::denied, principal_or_throw(d));
        for (const auto& k : creators)
            lists.emplace_back(store::CategoryList::creator, principal_or_throw(k));
        c.store->with_events({store::make_event("CATEGORYCHANGE", {}, {}, name,
                                                {{"change", "created"}, {"by", "command line"}})},
                             [&] {
                                 int64_t id = c.store->add_category(cat);
                                 for (const auto& [list, p] : lists)
                                     c.store->set_category_principal(id, list, p, true);
                                 c.store->note_change("category", name);
                             });
        std::cout << "created category " << name << "\n";
    }));
    add_grant_commands(*category, cfg, rc, "category", {"allowed", "denied", "creator"},
                       [](store::Store& s, const std::string& owner, const std::string& list,
                          const store::Principal& p, bool grant) {
                           auto cat = s.find_category(owner);
                           if (!cat) throw std::runtime_error("no category named " + owner);
                           s.set_category_principal(cat->id, *store::parse_category_list(list), p,
                                                    grant);
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
        auto n = xmpp::nodeprep(node);
        if (!n) throw std::runtime_error("'" + node + "' is not a valid room address");
        auto cat = c.store->find_category(category);
        if (!cat)
            throw std::runtime_error("no category named " + category +
                                     " (see: perch category list)");
        store::Room r;
        r.node = *n;
        r.name = name.empty() ? *n : name;
        if (util::utf8_length(r.name) > 256)
            throw std::runtime_error("a room name has at most 256 characters");
        r.description = description;
        r.category_id = cat->id;
        r.privacy = *store::parse_privacy(privacy);
        r.type = *store::parse_room_type(type);
        c.store->with_events({store::make_event("ROOMCREATE", {}, r.node, cat->name,
                                                {{"name", r.name},
                                                 {"privacy", std::string(to_string(r.privacy))},
                                                 {"type", std::string(to_string(r.type))},
                                                 {"by", "command line"}})},
                             [&] {
                                 c.store->add_room(r);
                                 c.store->note_change("room", r.node);
                             });
        std::cout << "created room " << r.node << "@" << c.config.muc_domain() << "\n";
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
                          const store::Principal& p, bool grant) {
                           auto r = s.find_room(owner);
                           if (!r) throw std::runtime_error("no room " + owner);
                           s.set_room_principal(r->id, *store::parse_room_list(list), p, grant);
                       });
    auto* clear = room->add_subcommand("clear", "Delete a room's messages older than a date");
    static std::string before;
    clear->add_option("node", node)->required();
    clear->add_option("--before", before, "XEP-0082 time, e.g. 2026-01-01T00:00:00Z")->required();
    clear->callback(guarded(rc, [&cfg] {
        auto c = open(cfg);
        auto r = c.store->find_room(node);
        if (!r) throw std::runtime_error("no room " + node);
        auto t = util::parse_timestamp(before);
        if (!t)
            throw std::runtime_error("'" + before + "' is not a time like 2026-01-01T00:00:00Z");
        int64_t deleted = 0;
        c.store->with_events({store::make_event("CLEARHISTORY", {}, node, {},
                                                {{"before", before}, {"by", "command line"}})},
                             [&] {
                                 deleted = c.store->clear_history(r->id, *t);
                                 c.store->note_change("room", node);
                             });
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
        c.store->add_group({0, name, description});
        std::cout << "created group " << name << "\n";
    }));
    for (bool join : {true, false}) {
        auto* cmd = group->add_subcommand(
            join ? "join" : "leave", join ? "Add a user to a group" : "Remove a user from a group");
        cmd->add_option("group", name)->required();
        cmd->add_option("user", user)->required();
        cmd->callback(guarded(rc, [&cfg, join] {
            auto c = open(cfg);
            auto u = require_user(*c.store, user);
            c.store->with_events({store::make_event("GROUPCHANGE", {}, {}, {},
                                                    {{"group", name},
                                                     {"user", u.username},
                                                     {"change", join ? "joined" : "left"},
                                                     {"by", "command line"}})},
                                 [&] { c.store->set_group_member(name, u.username, join); });
            std::cout << u.username << (join ? " joined " : " left ") << name << "\n";
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
        std::string kind = scope, who;
        if (scope != "global") {
            auto p = principal_or_throw(scope);
            if (p.kind == store::Principal::Kind::everyone)
                throw std::runtime_error("use 'global' for everybody");
            kind = p.kind == store::Principal::Kind::user ? "user" : "group";
            who = p.name;
        }
        c.store->with_events(
            {store::make_event("POLICYCHANGE", {}, {}, {}, {{"scope", scope}, {"chat", state}})},
            [&] { c.store->set_policy(kind, who, on_off(state)); });
        std::cout << "persistent chat for " << scope << ": " << state
                  << " (applies at the next login)\n";
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
                std::string pw = generated_password();
                xmpp::Credentials::set_password(u, pw);
                c.store->add_user(u);
                out << u.username << "@" << c.config.domain << "  " << pw << "\n";
            }
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
    add_demo_command(app, config_path, exit_code);
    add_compliance_commands(app, config_path, exit_code);
    add_data_commands(app, config_path, exit_code);
}

}  // namespace perch::app
