#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace perch::xml {

// One XML element with its namespace, attributes and children. Text is kept as child nodes
// whose name is empty, so mixed content (XHTML-IM) survives a round trip.
class Element {
  public:
    Element() = default;
    Element(std::string name, std::string ns) : name_(std::move(name)), ns_(std::move(ns)) {}
    static Element text_node(std::string text);

    const std::string& name() const { return name_; }
    const std::string& ns() const { return ns_; }
    bool is_text() const { return name_.empty(); }
    bool is(std::string_view name, std::string_view ns) const { return name_ == name && ns_ == ns; }

    // Attributes. Namespaced attributes are stored with their namespace URI and a space before
    // the local name ("http://www.w3.org/XML/1998/namespace lang" for xml:lang).
    const std::string* attr(std::string_view name) const;
    std::string attr_or(std::string_view name, std::string_view fallback = {}) const;
    Element& set_attr(std::string_view name, std::string value);
    void remove_attr(std::string_view name);
    const std::vector<std::pair<std::string, std::string>>& attrs() const { return attrs_; }

    // Children.
    const std::vector<Element>& children() const { return children_; }
    std::vector<Element>& children() { return children_; }
    Element& add(Element child);
    Element& add_child(std::string name, std::string ns);  // returns the new child
    Element& add_text(std::string text);
    const Element* child(std::string_view name, std::string_view ns) const;
    Element* child(std::string_view name, std::string_view ns);
    // The first element child, skipping text nodes (e.g. the payload of an IQ).
    const Element* first_element() const;
    void remove_children(std::string_view name, std::string_view ns);

    // Concatenated direct text content; for text nodes, the text itself.
    std::string text() const;
    const std::string& raw_text() const { return text_; }
    std::string& mutable_text() { return text_; }
    // Text of a child element, or empty.
    std::string child_text(std::string_view name, std::string_view ns) const;

  private:
    std::string name_;
    std::string ns_;
    std::string text_;  // only for text nodes
    std::vector<std::pair<std::string, std::string>> attrs_;
    std::vector<Element> children_;
};

inline constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";

}  // namespace perch::xml
