#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include "app/config.hpp"
#include "web/admin_api.hpp"

namespace perch::app {

// `perch user …`, `perch category …`, `perch room …`, `perch demo`: administration working
// directly on the configured database. Each registers its subcommands on `app`; `config_path`
// is filled by the global --config option before the callbacks run.
void add_admin_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch data export|import` (data_commands.cpp).
void add_data_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch compliance verify|export` (compliance_commands.cpp).
void add_compliance_commands(CLI::App& app, const std::string& config_path, int& exit_code);

// The data export (`perch data export`) as one tar archive, for the admin API to send.
web::AdminDeps::DataExport export_archive(store::Store& s, const Config& config);

// Wraps a command body: errors become one line on stderr and exit code 1.
std::function<void()> guarded(int& exit_code, std::function<void()> body);

}  // namespace perch::app
