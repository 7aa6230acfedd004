#include "xml/serializer.hpp"

namespace perch::xml {

void escape_text(std::string& out, std::string_view text) {
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            default:
                out += c;
        }
    }
}

void escape_attr(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\n':
                out += "&#10;";
                break;
            case '\r':
                out += "&#13;";
                break;
            case '\t':
                out += "&#9;";
                break;
            default:
                out += c;
        }
    }
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
