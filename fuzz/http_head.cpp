// An HTTP/1.1 request as the web services read it (net/http_head): the head up to its empty
// line, parsed and checked as a connection does, then described for the handler; what follows
// read as its body (chunked or with a length) under a small limit, a longer declared length
// refused first as the connection refuses it.
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <string>
#include <variant>

#include "net/http_head.hpp"

using namespace perch::net;
namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr size_t kHeadLimit = 16 * 1024;
    size_t end = input.find("\r\n\r\n");
    if (end == std::string_view::npos || end >= kHeadLimit) return 0;
    RequestHead head;
    head.header_limit(kHeadLimit);
    auto parsed = parse_request_head(input, head);
    if (std::holds_alternative<HeadRefusal>(parsed)) return 0;
    input.remove_prefix(std::get<size_t>(parsed));
    (void)describe(head.get(), false, "[::1]:1");
    // As the connection does: a declared length over the limit is answered 413 before a body
    // parser exists (the string body would reserve the declared length at its first byte).
    constexpr uint64_t kBodyLimit = 4096;
    if (auto length = head.content_length(); length && *length > kBodyLimit) return 0;
    http::request_parser<http::string_body> body(std::move(head));
    body.body_limit(kBodyLimit);
    boost::beast::error_code ec;
    while (!body.is_done() && !input.empty()) {
        size_t used = body.put(boost::asio::buffer(input.data(), input.size()), ec);
        if (ec || used == 0) break;
        input.remove_prefix(used);
    }
    return 0;
}
