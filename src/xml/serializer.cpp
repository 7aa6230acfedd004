#include "xml/serializer.hpp"

namespace perch::xml {

namespace {

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
            return {};
    }
}

// Appends `in` to `out`, each of `specials` replaced by its entity: runs of other characters
// are appended whole (most values have nothing to escape).
void escape(std::string& out, std::string_view in, std::string_view specials) {
    size_t run = 0;
    for (size_t i = in.find_first_of(specials); i != std::string_view::npos;
         i = in.find_first_of(specials, run)) {
        out.append(in, run, i - run);
        out += entity_of(in[i]);
        run = i + 1;
    }
    out.append(in, run);
}

}  // namespace

void escape_text(std::string& out, std::string_view text) {
    escape(out, text, "&<>");
}

void escape_attr(std::string& out, std::string_view value) {
    escape(out, value, "&<>'\"\n\r\t");
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
