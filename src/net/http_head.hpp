#pragma once
// The head of an HTTP/1.1 request, from the bytes that hold it to what the handler sees; apart
// from the connections (and their streams), so that it can be tested and fuzzed on its own.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <string>
#include <string_view>
#include <variant>

#include "net/http_message.hpp"

namespace perch::net {

using RequestHead = boost::beast::http::request_parser<boost::beast::http::empty_body>;

// Why a request head is refused: the status to answer with and a line for the client. The
// connection closes after it: what follows cannot be told apart from the body.
struct HeadRefusal {
    unsigned status = 400;
    std::string message;
};

// Parses the request head at the start of `bytes`, which must hold it whole (up to its empty
// line), into `parser` (a fresh one, its header limit set). Returns how many bytes the head
// took, or why it is refused:
// - a line that ends in a bare LF rather than CR LF (RFC 9112 section 2.2 allows taking it for
//   one, and for the same reason as a folded line it is not);
// - a folded line (obs-fold: a line that starts with a space or a tab), refused rather than
//   joined to the one before (RFC 9112 section 5.2 allows either), so that nobody in front of
//   the server can read the head differently from it;
// - a malformed head, or one over the parser's limit;
// - a transfer coding other than a lone `chunked`, which would leave the body's end to
//   guesswork (read as no body, the rest as another request; RFC 9112 section 6.1).
std::variant<size_t, HeadRefusal> parse_request_head(std::string_view bytes, RequestHead& parser);

// Whether the bytes read so far are enough to parse: they hold a whole head (up to its empty
// line), or a line of the head ends in a bare LF, which can never make one (refused).
bool enough_for_a_head(std::string_view bytes);

// Whether a head (up to its empty line) has a folded line.
bool has_folded_line(std::string_view head);

// The request as the handler sees it: the path percent-decoded (empty when it cannot be),
// header names in lower case.
HttpRequest describe(const RequestHead::value_type& head, bool secure, const std::string& peer);

}  // namespace perch::net
