#pragma once
#include <string>

#include "app/admin_client.hpp"

namespace perch::app {

struct TestMessageOptions {
    std::string xmpp_host;  // default: the admin API's host
    std::string xmpp_port = "5222";
    long warning_ms = 2000;    // slower than this: WARNING
    long critical_ms = 10000;  // slower than this, or any step failed: CRITICAL
};

// The synthetic transaction; prints one status line and returns the exit status monitoring
// systems expect: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
int run_test_message(const AdminEndpoint& endpoint, const TestMessageOptions& options);

}  // namespace perch::app
