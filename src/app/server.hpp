#pragma once
#include "app/config.hpp"

namespace perch::app {

// Runs one server until SIGINT/SIGTERM; on SIGHUP reads `config_path` again (when given) and
// applies what changes without a restart. Returns the process exit code.
int serve(Config config, const std::string& config_path = {});

}  // namespace perch::app
