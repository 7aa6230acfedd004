#pragma once
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace perch::xml {

void escape_text(std::string& out, std::string_view text);
void escape_attr(std::string& out, std::string_view value);

// Appends `e` to `out`. `parent_ns` is the default namespace in scope where `e` is written:
// an xmlns attribute is emitted only where an element's namespace differs from it. Inside a
// client stream pass "jabber:client"; for a standalone document pass "".
void serialize(std::string& out, const Element& e, std::string_view parent_ns);
std::string to_string(const Element& e, std::string_view parent_ns = "");

}  // namespace perch::xml
