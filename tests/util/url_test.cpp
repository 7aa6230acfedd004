#include "util/url.hpp"

#include <gtest/gtest.h>

using perch::util::url_origin;

TEST(Url, OriginIsSchemeHostAndAnyPortButTheDefault) {
    EXPECT_EQ(url_origin("https://chat.example.com/rooms/"), "https://chat.example.com");
    EXPECT_EQ(url_origin("https://chat.example.com:443"), "https://chat.example.com");
    EXPECT_EQ(url_origin("http://chat.example.com:80/x"), "http://chat.example.com");
    EXPECT_EQ(url_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    EXPECT_EQ(url_origin("https://[::1]:8443/?q"), "https://[::1]:8443");
    EXPECT_FALSE(url_origin("ftp://example.com"));
    EXPECT_FALSE(url_origin("chat.example.com"));
    EXPECT_FALSE(url_origin("https://user@example.com/"));
    EXPECT_FALSE(url_origin("https:///path"));
}
