// The request head as the HTTP server reads it, before it decides about the body.
#include "net/http_head.hpp"

#include <gtest/gtest.h>

using perch::net::HeadRefusal;
using perch::net::parse_request_head;
using perch::net::RequestHead;

namespace {

std::variant<size_t, HeadRefusal> parse(const std::string& head) {
    RequestHead parser;
    return parse_request_head(head, parser);
}

}  // namespace

TEST(HttpHead, ALargeDeclaredBodyIsLeftToTheHandlerToJudge) {
    // A file upload or a data import of gigabytes: the head parses; the handler's limit
    // (BodyPlan) decides.
    auto got = parse("PUT /upload/x/f HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000000\r\n\r\n");
    ASSERT_TRUE(std::holds_alternative<size_t>(got));
}

TEST(HttpHead, FoldedLinesAndOtherCodingsAreRefused) {
    auto folded = parse("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n");
    ASSERT_TRUE(std::holds_alternative<HeadRefusal>(folded));
    EXPECT_EQ(std::get<HeadRefusal>(folded).status, 400u);
    auto gzip = parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n");
    ASSERT_TRUE(std::holds_alternative<HeadRefusal>(gzip));
    EXPECT_EQ(std::get<HeadRefusal>(gzip).status, 501u);
}
