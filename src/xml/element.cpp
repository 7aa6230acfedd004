#include "xml/element.hpp"

#include <algorithm>

namespace perch::xml {

Element Element::text_node(std::string text) {
    Element e;
    e.text_ = std::move(text);
    return e;
}

const std::string* Element::attr(std::string_view name) const {
    for (const auto& [k, v] : attrs_)
        if (k == name) return &v;
    return nullptr;
}

std::string Element::attr_or(std::string_view name, std::string_view fallback) const {
    const std::string* v = attr(name);
    return v ? *v : std::string(fallback);
}

Element& Element::set_attr(std::string_view name, std::string value) {
    for (auto& [k, v] : attrs_) {
        if (k == name) {
            v = std::move(value);
            return *this;
        }
    }
    attrs_.emplace_back(std::string(name), std::move(value));
    return *this;
}

void Element::remove_attr(std::string_view name) {
    std::erase_if(attrs_, [&](const auto& kv) { return kv.first == name; });
}

Element& Element::add(Element child) {
    children_.push_back(std::move(child));
    return children_.back();
}

Element& Element::add_child(std::string name, std::string ns) {
    return add(Element(std::move(name), std::move(ns)));
}

Element& Element::add_text(std::string text) {
    if (!text.empty()) children_.push_back(text_node(std::move(text)));
    return *this;
}

const Element* Element::child(std::string_view name, std::string_view ns) const {
    for (const auto& c : children_)
        if (!c.is_text() && c.name_ == name && c.ns_ == ns) return &c;
    return nullptr;
}

Element* Element::child(std::string_view name, std::string_view ns) {
    return const_cast<Element*>(std::as_const(*this).child(name, ns));
}

const Element* Element::first_element() const {
    for (const auto& c : children_)
        if (!c.is_text()) return &c;
    return nullptr;
}

void Element::remove_children(std::string_view name, std::string_view ns) {
    std::erase_if(children_, [&](const Element& c) { return c.name_ == name && c.ns_ == ns; });
}

std::string Element::text() const {
    if (is_text()) return text_;
    std::string out;
    for (const auto& c : children_)
        if (c.is_text()) out += c.text_;
    return out;
}

std::string Element::child_text(std::string_view name, std::string_view ns) const {
    const Element* c = child(name, ns);
    return c ? c->text() : std::string();
}

}  // namespace perch::xml
