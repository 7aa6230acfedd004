#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "app/admin_client.hpp"

// What the subcommands of `perch admin` share (app/admin_cli*.cpp): their options, the
// credentials, and how an answer is shown.
namespace perch::app::admin_cli {

using json = nlohmann::json;

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

std::string seg(const std::string& s);  // a URL path segment
// KEY=VALUE arguments (the `set` subcommands), in order.
std::vector<std::pair<std::string, std::string>> key_values(const std::vector<std::string>& args);
// Fills in the credentials from the options, the environment or a file.
void resolve_credentials(Cli& cli);
std::string cell(const json& v);  // one value as a table shows it
void print_table(const json& rows, const std::vector<std::string>& columns);
void print_object(const json& o);
// An AdminApiError as the command line says it: the API's text and the HTTP status.
[[noreturn]] void refused(const AdminApiError& e);

// How add_call shows an answer: a table of `columns` for a list (under `list_key` when the
// answer is an object holding it), an object's fields, or `done`.
struct Show {
    std::vector<std::string> columns;
    std::string list_key;
    std::string done;
};

using Request = std::tuple<std::string, std::string, std::optional<json>>;
// A subcommand that sends one request and shows the answer.
void add_call(CLI::App* parent, Cli& cli, int& rc, const std::string& name, const std::string& help,
              const std::function<void(CLI::App*)>& args, const std::function<Request()>& request,
              const Show& show);

// The subcommands of each area (admin_cli.cpp: the directory; admin_cli_ops.cpp: the rest).
void add_compliance_calls(CLI::App* admin, Cli& cli, int& rc);
void add_data_calls(CLI::App* admin, Cli& cli, int& rc);
void add_topology_calls(CLI::App* admin, Cli& cli, int& rc);
void add_pool_calls(CLI::App* admin, Cli& cli, int& rc);
void add_test_message(CLI::App* admin, Cli& cli, int& rc);

}  // namespace perch::app::admin_cli
