// What the subcommands of `perch admin` share (app/admin_cli_detail.hpp).
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>

#include "app/admin_cli_detail.hpp"
#include "app/admin_commands.hpp"
#include "util/url.hpp"

namespace perch::app::admin_cli {

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

void add_call(CLI::App* parent, Cli& cli, int& rc, const std::string& name, const std::string& help,
              const std::function<void(CLI::App*)>& args, const std::function<Request()>& request,
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
            refused(e);
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

void refused(const AdminApiError& e) {
    throw std::runtime_error(std::string(e.what()) + " (HTTP " + std::to_string(e.status) + ")");
}

}  // namespace perch::app::admin_cli
