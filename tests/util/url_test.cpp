#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json.hpp"
#include "util/url.hpp"
#include "util/utf8.hpp"

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

TEST(Url, DecodesPercentEscapesIntoUtf8TextOnly) {
    using perch::util::url_decode;
    EXPECT_EQ(url_decode("caf%C3%A9%20au%2Blait"), "café au+lait");
    EXPECT_EQ(url_decode("a+b"), "a+b");
    EXPECT_FALSE(url_decode("%4"));
    EXPECT_FALSE(url_decode("%zz"));
    // Bytes that are not UTF-8 (PostgreSQL refuses them as text), and a NUL (which a C string
    // would end at), are not text a name, a word or an id can hold.
    EXPECT_FALSE(url_decode("%C1"));
    EXPECT_FALSE(url_decode("heron%FF"));
    EXPECT_FALSE(url_decode("%ED%A0%80"));  // a surrogate
    EXPECT_FALSE(url_decode("alice%00.txt"));
}

TEST(Utf8, ValidMeansWellFormed) {
    using perch::util::valid_utf8;
    EXPECT_TRUE(valid_utf8(""));
    EXPECT_TRUE(valid_utf8("plain"));
    EXPECT_TRUE(valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x90\xA6"));  // é € 🐦
    EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
    EXPECT_FALSE(valid_utf8("\x80"));                                 // a stray continuation
    EXPECT_FALSE(valid_utf8("\xC1\xBF"));                             // overlong
    EXPECT_FALSE(valid_utf8("\xE0\x9F\xBF"));                         // overlong
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));                         // a surrogate
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));                     // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xE2\x82"));                             // cut short
    EXPECT_FALSE(valid_utf8("\xF5\x80\x80\x80"));
}

TEST(Json, StringsAreJsonWhateverBytesTheyHold) {
    auto literal = [](std::string_view s) {
        std::string out;
        perch::util::json_string(out, s);
        return out;
    };
    EXPECT_EQ(literal("plain \"quoted\" \\ \n\t"), "\"plain \\\"quoted\\\" \\\\ \\n\\t\"");
    EXPECT_EQ(literal(std::string_view("nul\0", 4)), "\"nul\\u0000\"");
    EXPECT_EQ(literal("caf\xC3\xA9 \xF0\x9F\x90\xA6"), "\"caf\xC3\xA9 \xF0\x9F\x90\xA6\"");
    EXPECT_EQ(literal("x\xFFy"), "\"x\\ufffdy\"");  // not UTF-8: U+FFFD
    EXPECT_EQ(literal("cut \xE2\x82"), "\"cut \\ufffd\\ufffd\"");
    EXPECT_TRUE(nlohmann::json::accept(literal("x\xFF\xC0\xAFy")));
}
