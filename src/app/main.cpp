// perch: one binary for the server and its administration.
//   perch serve --config perch.toml     run one server
//   perch user|category|room …          manage the configured database
//   perch admin …                       administer a running server over its admin API
//   perch demo                          seed demo data into an empty database
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/admin_client.hpp"
#include "app/admin_commands.hpp"
#include "app/config.hpp"
#include "app/server.hpp"
#include "util/utf8.hpp"

namespace {

int run(int argc, char** argv) {
    // Names, passwords and texts go from here into the database and out to clients, exports
    // and JSON, all of which need UTF-8: an argument in another encoding is refused whole.
    for (int i = 1; i < argc; ++i)
        if (!perch::util::valid_utf8(argv[i])) {
            std::cerr << "perch: argument " << i
                      << " is not UTF-8 text; give names and texts in UTF-8\n";
            return 2;
        }
    CLI::App app{"Perch: a persistent chat server speaking XMPP"};
    app.set_version_flag("--version", "perch " PERCH_VERSION);
    app.require_subcommand(1);
    app.fallthrough();  // --config may come before or after the subcommand
    std::string config_path;
    app.add_option("-c,--config", config_path, "TOML configuration file")->check(CLI::ExistingFile);
    int exit_code = 0;

    auto* serve = app.add_subcommand("serve", "Run the server");
    serve->callback([&] {
        try {
            auto config = perch::app::load_config(config_path);
            if (!config.log_file.empty())
                spdlog::set_default_logger(spdlog::rotating_logger_mt(
                    "perch", config.log_file, size_t(config.log_max_mb) * 1024 * 1024,
                    size_t(config.log_files)));
            if (!config.log_file.empty()) {
                spdlog::flush_on(spdlog::level::warn);
                spdlog::flush_every(std::chrono::seconds(1));
            }
            spdlog::set_level(spdlog::level::from_str(config.log_level));
            exit_code = perch::app::serve(std::move(config), config_path);
        } catch (const std::exception& e) {
            spdlog::critical("{}", e.what());
            exit_code = 1;
        }
    });
    perch::app::add_admin_commands(app, config_path, exit_code);
    perch::app::add_admin_client(app, exit_code);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
    // Whatever escapes the commands' own handling ends the process with a message and status
    // 1, never with std::terminate.
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "perch: " << e.what() << "\n";
    } catch (...) {
        std::cerr << "perch: unexpected error\n";
    }
    return 1;
}
