#include "xml/serializer.hpp"

#include <algorithm>
#include <array>

#include "util/utf8.hpp"

namespace perch::xml {

namespace {

// What XML 1.0 cannot carry at all (section 2.2): the C0 control characters but tab, line
// feed and carriage return, U+FFFE and U+FFFF, and bytes that are not UTF-8 (which a name
// given on the command line or kept from long ago may hold). Written as U+FFFD instead.
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

std::string_view entity_of(char c) {
    switch (c) {
        case '&':
            return "&amp;";
        case '<':
            return "&lt;";
        case '>':
            return "&gt;";
        case '\'':
            return "&apos;";
        case '"':
            return "&quot;";
        case '\n':
            return "&#10;";
        case '\r':
            return "&#13;";
        case '\t':
            return "&#9;";
        default:
            return kReplacement;  // a control character XML does not allow
    }
}

using Specials = std::array<bool, 256>;

// The bytes that may start something to write otherwise: `escaped`, the forbidden controls,
// and every byte of a character beyond ASCII (checked to be UTF-8 and not U+FFFE or U+FFFF).
constexpr Specials specials(std::string_view escaped) {
    Specials table{};
    for (unsigned c = 0; c < 0x20; ++c) table[c] = c != '\t' && c != '\n' && c != '\r';
    for (char c : escaped) table[static_cast<unsigned char>(c)] = true;
    for (unsigned c = 0x80; c < 0x100; ++c) table[c] = true;
    return table;
}

// Whether the character of `width` bytes at `in[i]` is U+FFFE or U+FFFF (EF BF BE, EF BF BF).
bool noncharacter(std::string_view in, size_t i, size_t width) {
    return width == 3 && in[i] == '\xEF' && in[i + 1] == '\xBF' &&
           (in[i + 2] == '\xBE' || in[i + 2] == '\xBF');
}

constexpr Specials kText = specials("&<>");
constexpr Specials kAttr = specials("&<>'\"\n\r\t");

// Appends `in` to `out`, what starts at each of `special` written as its entity or as U+FFFD:
// runs of other characters are appended whole (most values have nothing to escape).
void escape(std::string& out, std::string_view in, const Specials& special) {
    size_t run = 0;
    for (size_t i = 0; i < in.size(); ++i) {
        auto c = static_cast<unsigned char>(in[i]);
        if (!special[c]) continue;
        std::string_view instead;
        size_t width = 1;
        if (c >= 0x80) {
            width = util::utf8_char_length(in, i);
            if (width > 0 && !noncharacter(in, i, width)) {
                i += width - 1;  // a character XML carries, part of the run
                continue;
            }
            instead = kReplacement;
            width = std::max<size_t>(width, 1);  // a byte that is not UTF-8: one U+FFFD each
        } else {
            instead = entity_of(in[i]);
        }
        out.append(in, run, i - run);
        out += instead;
        run = i + width;
        i += width - 1;
    }
    out.append(in, run);
}

}  // namespace

void escape_text(std::string& out, std::string_view text) {
    escape(out, text, kText);
}

void escape_attr(std::string& out, std::string_view value) {
    escape(out, value, kAttr);
}

namespace {
void write_attr(std::string& out, std::string_view name, std::string_view value, int& prefixes) {
    out += ' ';
    if (auto space = name.find(' '); space != std::string_view::npos) {
        std::string_view ns = name.substr(0, space);
        std::string_view local = name.substr(space + 1);
        if (ns == kXmlNs) {
            out += "xml:";
        } else {
            // A namespaced attribute outside xml: declare a fresh prefix for it on this element.
            std::string prefix = "ns" + std::to_string(prefixes++);
            out += "xmlns:" + prefix + "='";
            escape_attr(out, ns);
            out += "' " + prefix + ":";
        }
        out += local;
    } else {
        out += name;
    }
    out += "='";
    escape_attr(out, value);
    out += '\'';
}
}  // namespace

void serialize(std::string& out, const Element& e, std::string_view parent_ns) {
    if (e.is_text()) {
        escape_text(out, e.raw_text());
        return;
    }
    out += '<';
    out += e.name();
    if (e.ns() != parent_ns) {
        out += " xmlns='";
        escape_attr(out, e.ns());
        out += '\'';
    }
    int prefixes = 0;
    for (const auto& [k, v] : e.attrs()) write_attr(out, k, v, prefixes);
    if (e.children().empty()) {
        out += "/>";
        return;
    }
    out += '>';
    for (const auto& c : e.children()) serialize(out, c, e.ns());
    out += "</";
    out += e.name();
    out += '>';
}

std::string to_string(const Element& e, std::string_view parent_ns) {
    std::string out;
    serialize(out, e, parent_ns);
    return out;
}

}  // namespace perch::xml
