// `perch admin …` on the command line: the subcommands, each one request to the admin API
// (app/admin_client.hpp), and how their answers are shown (tables, fields, or --json).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>

#include "app/admin_client.hpp"
#include "app/admin_commands.hpp"
#include "app/test_message.hpp"
#include "util/ids.hpp"
#include "util/tar.hpp"
#include "util/url.hpp"

namespace perch::app {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Options and arguments of every subcommand: one object, living as long as the program.
struct Cli {
    AdminEndpoint endpoint;
    std::string password_file;
    bool as_json = false;
    // Arguments, reused by the subcommands (one runs per invocation).
    std::string a, b, c, password, display_name, email, description, role = "read-only";
    std::string category, privacy = "open", type = "normal", reason, before, prefix;
    std::vector<std::string> allow, deny, creators, settings;
    bool no_invitations = false, no_uploads = false, no_history = false;
    // Messages by filter.
    std::string keywords, match = "any", from, to, sender, replace_with;
    bool case_sensitive = false, dry_run = false;
};

std::string seg(const std::string& s) {
    return util::url_path_segment(s);
}

// KEY=VALUE arguments (the `set` subcommands), in order.
std::vector<std::pair<std::string, std::string>> key_values(const std::vector<std::string>& args) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& kv : args) {
        auto eq = kv.find('=');
        if (eq == std::string::npos) throw std::runtime_error("'" + kv + "' is not KEY=VALUE");
        out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    }
    return out;
}

// Fills in the credentials from the options, the environment or a file.
void resolve_credentials(Cli& cli) {
    auto env = [](const char* name) -> std::string {
        // Read once, before anything runs on another thread.
        const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
        return v ? v : "";
    };
    auto& e = cli.endpoint;
    if (e.user.empty()) e.user = env("PERCH_ADMIN_USER");
    if (cli.password_file.empty()) cli.password_file = env("PERCH_ADMIN_PASSWORD_FILE");
    if (!cli.password_file.empty()) {
        std::ifstream in(cli.password_file);
        if (!in || !std::getline(in, e.password))
            throw std::runtime_error("cannot read a password from " + cli.password_file);
    } else {
        e.password = env("PERCH_ADMIN_PASSWORD");
    }
    if (e.cacert.empty()) e.cacert = env("PERCH_ADMIN_CACERT");
    if (const std::string s = env("PERCH_ADMIN_SERVER"); !s.empty() && e.server == "localhost:8011")
        e.server = s;
    if (e.user.empty() || e.password.empty())
        throw std::runtime_error(
            "give an admin account: --user NAME with --password-file FILE, or "
            "PERCH_ADMIN_USER with PERCH_ADMIN_PASSWORD (or PERCH_ADMIN_PASSWORD_FILE)");
    if (e.insecure)
        std::cerr << "perch admin: warning: --insecure: the server's certificate is not checked\n";
}

std::string cell(const json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_array()) {
        std::string out;
        for (const auto& item : v) out += (out.empty() ? "" : ",") + cell(item);
        return out;
    }
    if (v.is_null()) return "";
    // Users eligible for something: the names, and whether the list stopped short.
    if (v.is_object() && v.contains("users"))
        return cell(v["users"]) + (v.value("more", false) ? ", and more" : "");
    return v.dump();
}

// A list of objects as a table of `columns`.
void print_table(const json& rows, const std::vector<std::string>& columns) {
    std::vector<size_t> width;
    width.reserve(columns.size());
    for (const auto& c : columns) width.push_back(c.size());
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : rows) {
        std::vector<std::string> line;
        for (size_t i = 0; i < columns.size(); ++i) {
            line.push_back(r.contains(columns[i]) ? cell(r[columns[i]]) : "");
            width[i] = std::max(width[i], line.back().size());
        }
        cells.push_back(std::move(line));
    }
    auto print = [&](const std::vector<std::string>& line) {
        for (size_t i = 0; i < line.size(); ++i)
            std::cout << (i ? "  " : "")
                      << (i + 1 < line.size()
                              ? std::string(line[i]) + std::string(width[i] - line[i].size(), ' ')
                              : line[i]);
        std::cout << "\n";
    };
    std::vector<std::string> head;
    for (const auto& c : columns) {
        std::string h = c;
        for (auto& ch : h) ch = char(std::toupper(static_cast<unsigned char>(ch)));
        head.push_back(h);
    }
    print(head);
    for (const auto& line : cells) print(line);
}

// An object as "key: value" lines.
void print_object(const json& o) {
    size_t w = 0;
    for (const auto& item : o.items()) w = std::max(w, item.key().size());
    for (const auto& item : o.items())
        std::cout << std::left << std::setw(int(w) + 2) << item.key() + ":" << cell(item.value())
                  << "\n";
}

// A subcommand that sends one request and shows the answer: a table of `columns` for a list
// (under `list_key` when the answer is an object holding it), an object's fields, or `done`.
struct Show {
    std::vector<std::string> columns;
    std::string list_key;
    std::string done;
};

void add_call(
    CLI::App* parent, Cli& cli, int& rc, const std::string& name, const std::string& help,
    const std::function<void(CLI::App*)>& args,
    const std::function<std::tuple<std::string, std::string, std::optional<json>>()>& request,
    const Show& show) {
    auto* cmd = parent->add_subcommand(name, help);
    if (args) args(cmd);
    cmd->callback(guarded(rc, [&cli, request, show] {
        resolve_credentials(cli);
        auto [method, path, body] = request();
        json answer;
        try {
            answer = admin_request(cli.endpoint, method, "/admin/v1" + path, body);
        } catch (const AdminApiError& e) {
            throw std::runtime_error(std::string(e.what()) + " (HTTP " + std::to_string(e.status) +
                                     ")");
        }
        if (cli.as_json) {
            std::cout << (answer.is_null() ? json::object() : answer).dump(2) << "\n";
            return;
        }
        json rows = !show.list_key.empty() && answer.is_object() && answer.contains(show.list_key)
                        ? answer[show.list_key]
                        : answer;
        if (rows.is_array() && !show.columns.empty()) {
            print_table(rows, show.columns);
            if (answer.is_object() && answer.value("more", false))
                std::cout << "(more than shown)\n";
            if (answer.is_object() && answer.contains("unanswered") &&
                !answer["unanswered"].empty())
                std::cout << "not answered in time: " << cell(answer["unanswered"]) << "\n";
        } else if (answer.is_object()) {
            print_object(answer);
        }
        if (!show.done.empty()) std::cout << show.done << "\n";
    }));
}

using Request = std::tuple<std::string, std::string, std::optional<json>>;

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
            throw std::runtime_error(std::string(e.what()) + " (HTTP " + std::to_string(e.status) +
                                     ")");
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
            throw std::runtime_error(std::string(e.what()) + " (HTTP " + std::to_string(e.status) +
                                     ")");
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
            throw std::runtime_error(std::string(e.what()) + " (HTTP " + std::to_string(e.status) +
                                     ")");
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

}  // namespace

void add_admin_client(CLI::App& app, int& exit_code) {
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
    add_test_message(admin, cli, exit_code);
}

}  // namespace perch::app
