#pragma once
#include "app/config.hpp"

namespace perch::app {

// Runs one server until SIGINT/SIGTERM. Returns the process exit code.
int serve(Config config);

}  // namespace perch::app
