#pragma once
#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "store/store.hpp"
#include "web/admin_api.hpp"

namespace perch::app {

// `perch user …`, `perch category …`, `perch room …`, `perch demo`: administration working
// directly on the configured database. Each registers its subcommands on `app`; `config_path`
// is filled by the global --config option before the callbacks run.
void add_admin_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch data export|import` (data_commands.cpp).
void add_data_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch topology validate|publish|show` (topology_commands.cpp).
void add_topology_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch pool status|failover|failback` (topology_commands.cpp).
void add_pool_commands(CLI::App& app, const std::string& config_path, int& exit_code);
// `perch compliance verify|export` (compliance_commands.cpp).
void add_compliance_commands(CLI::App& app, const std::string& config_path, int& exit_code);

// The data export (`perch data export`) as one tar archive, for the admin API to send.
web::AdminDeps::DataExport export_archive(store::Store& s, const Config& config);

// Who made a change from the local command line, in the compliance record.
inline constexpr const char* kByCommandLine = "command line";

// `perch data import DIR`: the export in `dir` loaded into the store, which must hold no users,
// groups, categories or rooms; all or nothing (one transaction), then checked against the
// manifest's counts. `progress` hears the messages loaded so far. Returns the counts.
nlohmann::json import_all(store::Store& s, const Config& config, const std::filesystem::path& dir,
                          const std::string& by, const std::function<void(int64_t)>& progress);
// The same from a tar archive of it (the admin API's upload), unpacked under DATA_DIR/tmp and
// removed after. Refused (admin::Refused) when the database is not empty or the archive or its
// content is wrong; nothing is loaded then.
nlohmann::json import_archive(store::Store& s, const Config& config,
                              const std::filesystem::path& archive, const std::string& by);

// The configured content database, for a local command: the configuration loaded and the
// data directory prepared first.
std::unique_ptr<store::Store> open_configured_store(const std::string& config_path);
// "a,b,c" as its names (empty ones dropped).
std::vector<std::string> comma_list(const std::string& text);

// A whole file's bytes; throws naming it when it cannot be read.
std::string read_file(const std::string& path);

// Wraps a command body: errors become one line on stderr and exit code 1.
std::function<void()> guarded(int& exit_code, std::function<void()> body);

}  // namespace perch::app
