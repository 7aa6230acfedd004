#include "net/http_head.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>

#include <cctype>

#include "util/url.hpp"

namespace perch::net {

namespace http = boost::beast::http;

namespace {

// Where the head ends (after its empty line), or npos.
size_t head_end(std::string_view bytes) {
    size_t end = bytes.find("\r\n\r\n");
    return end == std::string_view::npos ? end : end + 4;
}

bool has_bare_line_feed(std::string_view head) {
    for (size_t at = head.find('\n'); at != std::string_view::npos; at = head.find('\n', at + 1))
        if (at == 0 || head[at - 1] != '\r') return true;
    return false;
}

}  // namespace

bool enough_for_a_head(std::string_view bytes) {
    return head_end(bytes) != std::string_view::npos || has_bare_line_feed(bytes);
}

std::variant<size_t, HeadRefusal> parse_request_head(std::string_view bytes, RequestHead& parser) {
    if (has_bare_line_feed(bytes.substr(0, head_end(bytes))))
        return HeadRefusal{400, "lines of a request head end in CR LF"};
    if (has_folded_line(bytes)) return HeadRefusal{400, "folded header lines are not accepted"};
    boost::beast::error_code ec;
    // The body's size is the handler's to judge (BodyPlan::limit, checked before the body is
    // read): the parser's own default of 1 MiB would refuse any larger upload as malformed.
    parser.body_limit(boost::none);
    size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec || !parser.is_header_done()) return HeadRefusal{400, "malformed request"};
    const auto& head = parser.get();
    if (auto te = head.find(http::field::transfer_encoding);
        te != head.end() && (!boost::beast::iequals(te->value(), "chunked") ||
                             head.count(http::field::transfer_encoding) > 1))
        return HeadRefusal{501, "only the chunked transfer coding is accepted"};
    return used;
}

bool has_folded_line(std::string_view head) {
    if (size_t end = head_end(head); end != std::string_view::npos) head = head.substr(0, end - 2);
    for (size_t at = head.find("\r\n"); at != std::string_view::npos && at + 2 < head.size();
         at = head.find("\r\n", at + 2))
        if (head[at + 2] == ' ' || head[at + 2] == '\t') return true;
    return false;
}

HttpRequest describe(const RequestHead::value_type& head, bool secure, const std::string& peer) {
    HttpRequest r;
    r.method = std::string(head.method_string());
    r.target = std::string(head.target());
    size_t q = r.target.find('?');
    r.path = util::url_decode(r.target.substr(0, q)).value_or(std::string());
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& field : head) {
        std::string name(field.name_string());
        for (auto& c : name) c = char(std::tolower(uint8_t(c)));
        r.headers[name] = std::string(field.value());
    }
    r.secure = secure;
    r.peer = peer;
    return r;
}

}  // namespace perch::net
