#include "util/json.hpp"

#include <cstdio>

#include "util/utf8.hpp"

namespace perch::util {

void json_string(std::string& out, std::string_view s) {
    out += '"';
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            // A character is copied whole; a byte that is not UTF-8 (a name kept from long
            // ago, given in another encoding) becomes U+FFFD, so the text stays JSON.
            size_t width = utf8_char_length(s, i);
            if (width == 0) {
                out += "\\ufffd";
                continue;
            }
            out.append(s, i, width);
            i += width - 1;
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
        }
    }
    out += '"';
}

std::string json_object(const JsonFields& fields) {
    std::string out = "{";
    for (const auto& [key, value] : fields) {
        if (out.size() > 1) out += ',';
        json_string(out, key);
        out += ':';
        json_string(out, value);
    }
    out += '}';
    return out;
}

}  // namespace perch::util
