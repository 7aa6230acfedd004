#include "util/url.hpp"

#include "util/utf8.hpp"

#include <cctype>

namespace perch::util {

std::string url_path_segment(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::optional<std::string> url_decode(std::string_view s) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += char(hi * 16 + lo);
        i += 2;
    }
    // Names, words and ids come out of it: text, never a NUL (which C-string APIs would cut
    // at) or bytes that are not UTF-8 (which PostgreSQL refuses, and nothing stores).
    if (out.find('\0') != std::string::npos || !valid_utf8(out)) return std::nullopt;
    return out;
}

std::optional<std::string> url_origin(std::string_view url) {
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) return std::nullopt;
    std::string scheme(url.substr(0, scheme_end));
    if (scheme != "http" && scheme != "https") return std::nullopt;
    std::string_view rest = url.substr(scheme_end + 3);
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    std::string_view default_port = scheme == "http" ? ":80" : ":443";
    if (authority.ends_with(default_port)) authority.remove_suffix(default_port.size());
    return scheme + "://" + std::string(authority);
}

}  // namespace perch::util
