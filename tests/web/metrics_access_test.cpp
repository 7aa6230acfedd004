// Who may read /metrics (issue 17, item 6): this machine's clients by default, anyone when the
// operator says so, and elsewhere only the bearer of the configured token.
#include <gtest/gtest.h>

#include "web/app.hpp"

using namespace perch;

namespace {
net::HttpRequest from(std::string peer, std::string authorization = {}) {
    net::HttpRequest r;
    r.method = "GET";
    r.path = "/metrics";
    r.peer = std::move(peer);
    if (!authorization.empty()) r.headers["authorization"] = std::move(authorization);
    return r;
}
}  // namespace

TEST(MetricsAccess, ThisMachineOnlyByDefault) {
    web::WebConfig c;
    EXPECT_TRUE(web::metrics_allowed(c, from("127.0.0.1:5000")));
    EXPECT_TRUE(web::metrics_allowed(c, from("127.3.2.1:5000")));
    EXPECT_TRUE(web::metrics_allowed(c, from("[::1]:5000")));
    EXPECT_TRUE(web::metrics_allowed(c, from("[::ffff:127.0.0.1]:5000")));
    EXPECT_FALSE(web::metrics_allowed(c, from("192.0.2.7:5000")));
    EXPECT_FALSE(web::metrics_allowed(c, from("[2001:db8::1]:5000")));
    EXPECT_FALSE(web::metrics_allowed(c, from("not an address")));
    // No token configured: no Authorization header opens it.
    EXPECT_FALSE(web::metrics_allowed(c, from("192.0.2.7:5000", "Bearer ")));
}

TEST(MetricsAccess, TheTokensBearerFromElsewhere) {
    web::WebConfig c;
    c.metrics_token = "s3cret-scraper";
    EXPECT_TRUE(web::metrics_allowed(c, from("192.0.2.7:5000", "Bearer s3cret-scraper")));
    EXPECT_FALSE(web::metrics_allowed(c, from("192.0.2.7:5000", "Bearer s3cret")));
    EXPECT_FALSE(web::metrics_allowed(c, from("192.0.2.7:5000", "Basic s3cret-scraper")));
    EXPECT_FALSE(web::metrics_allowed(c, from("192.0.2.7:5000")));
}

TEST(MetricsAccess, AnyoneWhenSoConfigured) {
    web::WebConfig c;
    c.metrics_for_anyone = true;
    EXPECT_TRUE(web::metrics_allowed(c, from("192.0.2.7:5000")));
}
