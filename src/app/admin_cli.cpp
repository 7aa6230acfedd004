// `perch admin …` on the command line: the subcommands, each one request to the admin API
// (app/admin_client.hpp), and how their answers are shown (tables, fields, or --json).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "app/admin_cli_detail.hpp"
#include "app/admin_client.hpp"
#include "app/admin_commands.hpp"

namespace perch::app {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

using namespace admin_cli;

void add_user_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* user = admin->add_subcommand("user", "Users")->require_subcommand(1);
    add_call(
        user, cli, rc, "list", "List users",
        [&cli](CLI::App* c) { c->add_option("--prefix", cli.prefix, "Names starting so"); },
        [&cli] {
            return Request{"GET", "/users?limit=10000&prefix=" + seg(cli.prefix), std::nullopt};
        },
        {{"name", "display_name", "disabled", "administrator"}, "users", ""});
    add_call(
        user, cli, rc, "show", "Show a user",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"GET", "/users/" + seg(cli.a), std::nullopt};
        },
        {});
    add_call(
        user, cli, rc, "add", "Create a user (shows the password when generated)",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--password", cli.password, "Password (generated when omitted)");
            c->add_option("--display-name", cli.display_name);
            c->add_option("--email", cli.email);
        },
        [&cli] {
            json body{{"name", cli.a}, {"display_name", cli.display_name}, {"email", cli.email}};
            if (!cli.password.empty()) body["password"] = cli.password;
            return Request{"POST", "/users", body};
        },
        {});
    for (bool disable : {true, false})
        add_call(
            user, cli, rc, disable ? "disable" : "enable",
            disable ? "Stop a user signing in (their sessions end at once)"
                    : "Let a disabled user sign in again",
            [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
            [&cli, disable] {
                return Request{"PATCH", "/users/" + seg(cli.a), json{{"disabled", disable}}};
            },
            {});
    add_call(
        user, cli, rc, "passwd", "Set a user's password (generated when omitted)",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--password", cli.password);
        },
        [&cli] {
            return Request{"PATCH", "/users/" + seg(cli.a), json{{"password", cli.password}}};
        },
        {});
    add_call(
        user, cli, rc, "admin", "Make a user a persistent chat administrator, or not",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("state", cli.b, "on or off")
                ->required()
                ->check(CLI::IsMember({"on", "off"}));
        },
        [&cli] {
            return Request{"PATCH", "/users/" + seg(cli.a), json{{"administrator", cli.b == "on"}}};
        },
        {});
}

void add_group_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* group = admin->add_subcommand("group", "Groups of users")->require_subcommand(1);
    add_call(group, cli, rc, "list", "List groups and their members", nullptr,
             [] {
                 return Request{"GET", "/groups", std::nullopt};
             },
             {{"name", "description", "members"}, "", ""});
    add_call(
        group, cli, rc, "add", "Create a group",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--description", cli.description);
        },
        [&cli] {
            return Request{"POST", "/groups",
                           json{{"name", cli.a}, {"description", cli.description}}};
        },
        {});
    for (bool join : {true, false})
        add_call(
            group, cli, rc, join ? "join" : "leave",
            join ? "Add a user to a group" : "Remove a user from a group",
            [&cli](CLI::App* c) {
                c->add_option("group", cli.a)->required();
                c->add_option("user", cli.b)->required();
            },
            [&cli, join] {
                return Request{join ? "PUT" : "DELETE",
                               "/groups/" + seg(cli.a) + "/members/" + seg(cli.b), std::nullopt};
            },
            {{}, "", join ? "joined" : "left"});
}

void add_category_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* category = admin->add_subcommand("category", "Categories")->require_subcommand(1);
    add_call(
        category, cli, rc, "set",
        "Change description=, invitations=on|off, file_upload=on|off, chat_history=on|off",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("settings", cli.settings, "KEY=VALUE ...")->required();
        },
        [&cli] {
            json body = json::object();
            for (const auto& [key, value] : key_values(cli.settings)) {
                if (key == "description") {
                    body[key] = value;
                } else {
                    if (value != "on" && value != "off")
                        throw std::runtime_error(key + " is on or off");
                    body[key] = value == "on";
                }
            }
            return Request{"PATCH", "/categories/" + seg(cli.a), body};
        },
        {{}, "", "changed"});
    add_call(
        category, cli, rc, "delete", "Delete a category that holds no room",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"DELETE", "/categories/" + seg(cli.a), std::nullopt};
        },
        {{}, "", "deleted"});
    add_call(
        category, cli, rc, "eligible", "Who may join the category's rooms and create rooms in it",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"GET", "/categories/" + seg(cli.a) + "/eligible", std::nullopt};
        },
        {});
    add_call(
        category, cli, rc, "list", "List categories", nullptr,
        [] {
            return Request{"GET", "/categories", std::nullopt};
        },
        {{"name", "allowed", "denied", "creators", "invitations", "file_upload", "chat_history"},
         "",
         ""});
    add_call(
        category, cli, rc, "add", "Create a category",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--description", cli.description);
            c->add_option("--allow", cli.allow,
                          "Who may find and join its rooms (default everyone)");
            c->add_option("--deny", cli.deny, "Who never may");
            c->add_option("--creator", cli.creators, "Who may create rooms in it");
            c->add_flag("--no-invitations", cli.no_invitations);
            c->add_flag("--no-file-upload", cli.no_uploads);
            c->add_flag("--no-chat-history", cli.no_history);
        },
        [&cli] {
            return Request{"POST", "/categories",
                           json{{"name", cli.a},
                                {"description", cli.description},
                                {"allowed", cli.allow},
                                {"denied", cli.deny},
                                {"creators", cli.creators},
                                {"invitations", !cli.no_invitations},
                                {"file_upload", !cli.no_uploads},
                                {"chat_history", !cli.no_history}}};
        },
        {});
    for (bool grant : {true, false})
        add_call(
            category, cli, rc, grant ? "grant" : "revoke",
            grant ? "Add a principal to a list: allowed, denied, creators"
                  : "Remove a principal from a list",
            [&cli](CLI::App* c) {
                c->add_option("category", cli.a)->required();
                c->add_option("list", cli.b)
                    ->required()
                    ->check(CLI::IsMember({"allowed", "denied", "creators"}));
                c->add_option("principal", cli.c, "user:NAME, group:NAME or everyone")->required();
            },
            [&cli, grant] {
                return Request{grant ? "PUT" : "DELETE",
                               "/categories/" + seg(cli.a) + "/" + cli.b + "/" + seg(cli.c),
                               std::nullopt};
            },
            {{}, "", grant ? "added" : "removed"});
}

void add_room_calls(CLI::App* admin, Cli& cli, int& rc) {
    auto* room = admin->add_subcommand("room", "Rooms")->require_subcommand(1);
    add_call(
        room, cli, rc, "eligible", "Who may join the room, post in it and manage it",
        [&cli](CLI::App* c) { c->add_option("node", cli.a)->required(); },
        [&cli] {
            return Request{"GET", "/rooms/" + seg(cli.a) + "/eligible", std::nullopt};
        },
        {});
    add_call(
        room, cli, rc, "list", "List rooms",
        [&cli](CLI::App* c) { c->add_option("--category", cli.category); },
        [&cli] {
            return Request{"GET", "/rooms?category=" + seg(cli.category), std::nullopt};
        },
        {{"node", "name", "category", "privacy", "type", "disabled", "messages"}, "", ""});
    add_call(
        room, cli, rc, "show", "Show a room, its lists and occupants",
        [&cli](CLI::App* c) { c->add_option("node", cli.a)->required(); },
        [&cli] {
            return Request{"GET", "/rooms/" + seg(cli.a), std::nullopt};
        },
        {});
    add_call(
        room, cli, rc, "add", "Create a room",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a, "Room address (the part before @)")->required();
            c->add_option("--category", cli.category)->required();
            c->add_option("--name", cli.b);
            c->add_option("--description", cli.description);
            c->add_option("--privacy", cli.privacy)
                ->check(CLI::IsMember({"open", "closed", "secret"}));
            c->add_option("--type", cli.type)->check(CLI::IsMember({"normal", "auditorium"}));
        },
        [&cli] {
            return Request{"POST", "/rooms",
                           json{{"node", cli.a},
                                {"category", cli.category},
                                {"name", cli.b},
                                {"description", cli.description},
                                {"privacy", cli.privacy},
                                {"type", cli.type}}};
        },
        {});
    add_call(
        room, cli, rc, "set",
        "Change settings: name=, description=, category=, privacy=, type=, addin=, "
        "invitations=on|off, disabled=on|off, occupants_change_subject=on|off",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a)->required();
            c->add_option("settings", cli.settings, "KEY=VALUE ...")->required();
        },
        [&cli] {
            json body = json::object();
            for (const auto& [key, value] : key_values(cli.settings)) {
                if (key == "invitations" || key == "disabled" ||
                    key == "occupants_change_subject" || key == "drop_outsiders") {
                    if (value != "on" && value != "off")
                        throw std::runtime_error(key + " is on or off");
                    body[key] = value == "on";
                } else {
                    body[key] = value;
                }
            }
            return Request{"PATCH", "/rooms/" + seg(cli.a), body};
        },
        {});
    for (bool grant : {true, false})
        add_call(
            room, cli, rc, grant ? "grant" : "revoke",
            grant ? "Add a principal to a list: members, managers, presenters, denied"
                  : "Remove a principal from a list (an occupant who loses access leaves at once)",
            [&cli](CLI::App* c) {
                c->add_option("node", cli.a)->required();
                c->add_option("list", cli.b)
                    ->required()
                    ->check(CLI::IsMember({"members", "managers", "presenters", "denied"}));
                c->add_option("principal", cli.c, "user:NAME, group:NAME or everyone")->required();
            },
            [&cli, grant] {
                return Request{grant ? "PUT" : "DELETE",
                               "/rooms/" + seg(cli.a) + "/" + cli.b + "/" + seg(cli.c),
                               std::nullopt};
            },
            {{}, "", grant ? "added" : "removed"});
    add_call(
        room, cli, rc, "delete", "Delete a room and its history (its occupants are told)",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a)->required();
            c->add_option("--reason", cli.reason);
        },
        [&cli] {
            json body = json::object();
            if (!cli.reason.empty()) body["reason"] = cli.reason;
            return Request{"DELETE", "/rooms/" + seg(cli.a), body};
        },
        {{}, "", "deleted"});
    add_call(
        room, cli, rc, "clear", "Delete a room's messages older than a time",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a)->required();
            c->add_option("--before", cli.before, "e.g. 2026-01-01T00:00:00Z")->required();
        },
        [&cli] {
            return Request{"POST", "/rooms/" + seg(cli.a) + "/clear", json{{"before", cli.before}}};
        },
        {});
    add_call(
        room, cli, rc, "remove-message",
        "Remove one message for everybody (its id from the archive)",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a)->required();
            c->add_option("id", cli.b, "The message's stable id")->required();
            c->add_option("--reason", cli.reason);
        },
        [&cli] {
            return Request{"DELETE", "/rooms/" + seg(cli.a) + "/messages/" + seg(cli.b),
                           json{{"reason", cli.reason}}};
        },
        {{}, "", "removed"});
    add_call(
        room, cli, rc, "remove-messages",
        "Remove (or replace) every message matching a filter: words, sender, time range",
        [&cli](CLI::App* c) {
            c->add_option("node", cli.a)->required();
            c->add_option("--keywords", cli.keywords, "Words in the text");
            c->add_option("--match", cli.match, "any word, all of them, or the exact phrase")
                ->check(CLI::IsMember({"any", "all", "exact"}));
            c->add_flag("--case-sensitive", cli.case_sensitive);
            c->add_option("--sender", cli.sender, "A user name");
            c->add_option("--from", cli.from, "e.g. 2026-01-01T00:00:00Z");
            c->add_option("--to", cli.to);
            c->add_option("--replace-with", cli.replace_with, "Text left in their place");
            c->add_option("--reason", cli.reason);
            c->add_flag("--dry-run", cli.dry_run, "Only say which messages match");
        },
        [&cli] {
            json body{{"match", cli.match},
                      {"case_sensitive", cli.case_sensitive},
                      {"dry_run", cli.dry_run}};
            for (auto [key, value] : {std::pair{"keywords", &cli.keywords},
                                      {"sender", &cli.sender},
                                      {"from", &cli.from},
                                      {"to", &cli.to},
                                      {"replace_with", &cli.replace_with},
                                      {"reason", &cli.reason}})
                if (!value->empty()) body[key] = *value;
            return Request{"POST", "/rooms/" + seg(cli.a) + "/messages/remove", body};
        },
        {});
}

void add_other_calls(CLI::App* admin, Cli& cli, int& rc) {
    add_call(admin, cli, rc, "health", "The server's state", nullptr,
             [] {
                 return Request{"GET", "/health", std::nullopt};
             },
             {});
    add_call(admin, cli, rc, "whoami", "The admin account used, and its role", nullptr,
             [] {
                 return Request{"GET", "/whoami", std::nullopt};
             },
             {});

    auto* policy =
        admin->add_subcommand("policy", "Persistent chat on or off")->require_subcommand(1);
    add_call(policy, cli, rc, "list", "The policies set", nullptr,
             [] {
                 return Request{"GET", "/policy", std::nullopt};
             },
             {{"scope", "chat"}, "", ""});
    add_call(
        policy, cli, rc, "set", "Turn persistent chat on or off globally, per group or per user",
        [&cli](CLI::App* c) {
            c->add_option("scope", cli.a, "global, group:NAME or user:NAME")->required();
            c->add_option("state", cli.b, "on, off or unset")
                ->required()
                ->check(CLI::IsMember({"on", "off", "unset"}));
        },
        [&cli] {
            json state = cli.b == "unset" ? json() : json(cli.b == "on");
            return Request{"PUT", "/policy/" + seg(cli.a), json{{"chat", state}}};
        },
        {{}, "", "set (signed-in users' rooms follow at once)"});

    auto* settings = admin->add_subcommand(
        "settings",
        "Default history, participant update limit, message, story and file limits, "
        "room management URL (for every server of the pool)");
    settings->require_subcommand(1);
    add_call(settings, cli, rc, "list", "Each setting: in force, from the file, set here", nullptr,
             [] {
                 return Request{"GET", "/settings", std::nullopt};
             },
             {{"name", "value", "file_value", "set_here"}, "", ""});
    add_call(
        settings, cli, rc, "set", "Change a setting now (it wins over the configuration file)",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("value", cli.b)->required();
        },
        [&cli] {
            return Request{"PUT", "/settings/" + seg(cli.a), json{{"value", cli.b}}};
        },
        {{}, "", "set"});
    add_call(
        settings, cli, rc, "reset", "Return a setting to the configuration file's value",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"DELETE", "/settings/" + seg(cli.a), std::nullopt};
        },
        {{}, "", "reset to the configuration file's value"});

    auto* addin = admin->add_subcommand("addin", "Add-ins: web panes rooms show");
    addin->require_subcommand(1);
    add_call(addin, cli, rc, "list", "The add-ins and the rooms showing each", nullptr,
             [] {
                 return Request{"GET", "/addins", std::nullopt};
             },
             {{"name", "url", "rooms"}, "", ""});
    add_call(
        addin, cli, rc, "set", "Register an add-in, or give it a new URL",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("url", cli.b)->required();
        },
        [&cli] {
            return Request{"PUT", "/addins/" + seg(cli.a), json{{"url", cli.b}}};
        },
        {{}, "", "set"});
    add_call(
        addin, cli, rc, "remove", "Remove an add-in no room shows",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"DELETE", "/addins/" + seg(cli.a), std::nullopt};
        },
        {{}, "", "removed"});

    auto* session =
        admin->add_subcommand("session", "Sessions on the server")->require_subcommand(1);
    add_call(session, cli, rc, "list", "The XMPP sessions of every server (of the pool)", nullptr,
             [] {
                 return Request{"GET", "/sessions?limit=10000", std::nullopt};
             },
             {{"jid", "server", "connected"}, "sessions", ""});
    add_call(
        session, cli, rc, "disconnect", "End every session of a user",
        [&cli](CLI::App* c) { c->add_option("user", cli.a)->required(); },
        [&cli] {
            return Request{"DELETE", "/sessions/" + seg(cli.a), std::nullopt};
        },
        {});

    auto* account =
        admin->add_subcommand("account", "Accounts of the admin API")->require_subcommand(1);
    add_call(account, cli, rc, "list", "List admin accounts", nullptr,
             [] {
                 return Request{"GET", "/accounts", std::nullopt};
             },
             {{"name", "role", "disabled", "created"}, "", ""});
    add_call(
        account, cli, rc, "add", "Create an admin account (shows the password when generated)",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--role", cli.role, "administrator, compliance-officer or read-only")
                ->check(CLI::IsMember({"administrator", "compliance-officer", "read-only"}));
            c->add_option("--password", cli.password);
        },
        [&cli] {
            json body{{"name", cli.a}, {"role", cli.role}};
            if (!cli.password.empty()) body["password"] = cli.password;
            return Request{"POST", "/accounts", body};
        },
        {});
    add_call(
        account, cli, rc, "passwd", "Set an admin account's password (generated when omitted)",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("--password", cli.password);
        },
        [&cli] {
            return Request{"PATCH", "/accounts/" + seg(cli.a), json{{"password", cli.password}}};
        },
        {});
    add_call(
        account, cli, rc, "role", "Change an admin account's role",
        [&cli](CLI::App* c) {
            c->add_option("name", cli.a)->required();
            c->add_option("role", cli.b)
                ->required()
                ->check(CLI::IsMember({"administrator", "compliance-officer", "read-only"}));
        },
        [&cli] {
            return Request{"PATCH", "/accounts/" + seg(cli.a), json{{"role", cli.b}}};
        },
        {});
    for (bool disable : {true, false})
        add_call(
            account, cli, rc, disable ? "disable" : "enable",
            disable ? "Stop an admin account signing in" : "Let it sign in again",
            [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
            [&cli, disable] {
                return Request{"PATCH", "/accounts/" + seg(cli.a), json{{"disabled", disable}}};
            },
            {});
    add_call(
        account, cli, rc, "remove", "Remove an admin account",
        [&cli](CLI::App* c) { c->add_option("name", cli.a)->required(); },
        [&cli] {
            return Request{"DELETE", "/accounts/" + seg(cli.a), std::nullopt};
        },
        {{}, "", "removed"});
}

}  // namespace

void add_admin_client(CLI::App& app, int& exit_code) {
    using namespace admin_cli;
    static Cli cli;  // the options outlive parsing: the callbacks run after it
    auto* admin =
        app.add_subcommand("admin",
                           "Administer a running server from any machine, over its admin API "
                           "(HTTPS, port 8011)")
            ->require_subcommand(1);
    admin->add_option("--server", cli.endpoint.server,
                      "host[:port] of the admin API (default localhost:8011, or "
                      "PERCH_ADMIN_SERVER)");
    admin->add_option("--user", cli.endpoint.user, "Admin account (or PERCH_ADMIN_USER)");
    admin->add_option("--password-file", cli.password_file,
                      "File whose first line is the password (or PERCH_ADMIN_PASSWORD_FILE, or "
                      "the password in PERCH_ADMIN_PASSWORD)");
    admin->add_option("--cacert", cli.endpoint.cacert,
                      "PEM certificate (or CA) to trust for the server (or PERCH_ADMIN_CACERT)");
    admin->add_flag("--insecure", cli.endpoint.insecure, "Do not check the server's certificate");
    admin->add_flag("--json", cli.as_json, "Print the API's JSON instead of tables");
    admin->add_option("--timeout", cli.endpoint.timeout_s, "Seconds to wait (default 30)")
        ->check(CLI::Range(1, 3600));
    admin->fallthrough();
    add_user_calls(admin, cli, exit_code);
    add_group_calls(admin, cli, exit_code);
    add_category_calls(admin, cli, exit_code);
    add_room_calls(admin, cli, exit_code);
    add_other_calls(admin, cli, exit_code);
    add_compliance_calls(admin, cli, exit_code);
    add_data_calls(admin, cli, exit_code);
    add_topology_calls(admin, cli, exit_code);
    add_pool_calls(admin, cli, exit_code);
    add_test_message(admin, cli, exit_code);
}

}  // namespace perch::app
