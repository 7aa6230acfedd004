// Who may read /metrics (issue 17, item 6): this machine's clients by default, anyone when the
// operator says so, and elsewhere only the bearer of the configured token.
#include <gtest/gtest.h>

#include "web/app.hpp"

using namespace perch;

namespace {
constexpr bool here = true, elsewhere = false;
net::HttpRequest from(bool loopback, std::string authorization = {}) {
    net::HttpRequest r;
    r.method = "GET";
    r.path = "/metrics";
    r.loopback = loopback;
    if (!authorization.empty()) r.headers["authorization"] = std::move(authorization);
    return r;
}
}  // namespace

TEST(MetricsAccess, ThisMachineOnlyByDefault) {
    web::WebConfig c;
    EXPECT_TRUE(web::metrics_allowed(c, from(here)));
    EXPECT_FALSE(web::metrics_allowed(c, from(elsewhere)));
    // No token configured: no Authorization header opens it.
    EXPECT_FALSE(web::metrics_allowed(c, from(elsewhere, "Bearer ")));
}

TEST(MetricsAccess, TheTokensBearerFromElsewhere) {
    web::WebConfig c;
    c.metrics_token = "s3cret-scraper";
    EXPECT_TRUE(web::metrics_allowed(c, from(elsewhere, "Bearer s3cret-scraper")));
    EXPECT_FALSE(web::metrics_allowed(c, from(elsewhere, "Bearer s3cret")));
    EXPECT_FALSE(web::metrics_allowed(c, from(elsewhere, "Basic s3cret-scraper")));
    EXPECT_FALSE(web::metrics_allowed(c, from(elsewhere)));
}

TEST(MetricsAccess, AnyoneWhenSoConfigured) {
    web::WebConfig c;
    c.metrics_for_anyone = true;
    EXPECT_TRUE(web::metrics_allowed(c, from(elsewhere)));
}
