#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace perch::util {

// Percent-encodes everything but unreserved characters (RFC 3986), for one URL path segment.
std::string url_path_segment(std::string_view s);
// Percent-decoding of a URL path or query part ('+' stays '+'); nullopt when malformed, or
// when what it decodes to holds a NUL or is not UTF-8.
std::optional<std::string> url_decode(std::string_view s);
// The origin of an absolute http(s) URL: "scheme://host[:port]" as browsers send it in Origin
// (a default port left out); nullopt when it is not one.
std::optional<std::string> url_origin(std::string_view url);

}  // namespace perch::util
