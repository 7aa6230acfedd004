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

TEST(HttpHead, AHeadWithALineEndedByABareLineFeedIsRefusedWithoutWaitingForItsEnd) {
    // Lines end in CR LF (RFC 9112 section 2.2). A head of bare LFs never has the CR LF CR LF
    // the reading waits for: the first bare LF is enough to answer, not a minute later.
    using perch::net::enough_for_a_head;
    EXPECT_FALSE(enough_for_a_head(""));
    EXPECT_FALSE(enough_for_a_head("GET / HTTP/1.1\r\nHost: a\r\n"));
    EXPECT_FALSE(enough_for_a_head("GET / HTTP/1.1\r"));
    EXPECT_TRUE(enough_for_a_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_TRUE(enough_for_a_head("GET / HTTP/1.1\nHost"));
    EXPECT_TRUE(enough_for_a_head("GET / HTTP/1.1\r\nHost: a\n"));
    EXPECT_TRUE(enough_for_a_head("\n"));
    for (const char* head : {"GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\nHost: a\n\r\n",
                             "GET / HTTP/1.1\nHost"}) {
        auto got = parse(head);
        ASSERT_TRUE(std::holds_alternative<HeadRefusal>(got)) << head;
        EXPECT_EQ(std::get<HeadRefusal>(got).status, 400u);
        EXPECT_NE(std::get<HeadRefusal>(got).message.find("CR LF"), std::string::npos);
    }
    // A body after the head may hold bare LFs: only the head is looked at.
    auto post = parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\na\nb");
    ASSERT_TRUE(std::holds_alternative<size_t>(post));
}
