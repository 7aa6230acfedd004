#include <gtest/gtest.h>

#include "xml/serializer.hpp"

using namespace perch::xml;

TEST(Serializer, EscapesTextAndAttributes) {
    Element m("message", "jabber:client");
    m.set_attr("to", "a'b\"<c>&");
    m.add_child("body", "jabber:client").add_text("<b>&'\"");
    EXPECT_EQ(
        to_string(m, "jabber:client"),
        "<message to='a&apos;b&quot;&lt;c&gt;&amp;'><body>&lt;b&gt;&amp;'\"</body></message>");
}

TEST(Serializer, EscapesEverySpecialCharacterWhereverItIs) {
    auto text = [](std::string_view in) {
        std::string out = "x";  // appended to, never replaced
        escape_text(out, in);
        return out;
    };
    auto attr = [](std::string_view in) {
        std::string out = "x";
        escape_attr(out, in);
        return out;
    };
    EXPECT_EQ(text(""), "x");
    EXPECT_EQ(text("plain words, 'quoted' \"too\"\n"), "xplain words, 'quoted' \"too\"\n");
    EXPECT_EQ(text("&start middle< end>"), "x&amp;start middle&lt; end&gt;");
    EXPECT_EQ(text("<<&&>>"), "x&lt;&lt;&amp;&amp;&gt;&gt;");
    EXPECT_EQ(attr(""), "x");
    EXPECT_EQ(attr("alice@example.org/phone"), "xalice@example.org/phone");
    EXPECT_EQ(attr("'a\"b\nc\rd\te&f<g>"), "x&apos;a&quot;b&#10;c&#13;d&#9;e&amp;f&lt;g&gt;");
    EXPECT_EQ(attr("ends with '"), "xends with &apos;");
    EXPECT_EQ(attr(std::string_view("nul\0kept", 8)), std::string("xnul\0kept", 9));
}

TEST(Serializer, DeclaresNamespacesWhereTheyChange) {
    Element iq("iq", "jabber:client");
    iq.add_child("query", "jabber:iq:roster")
        .add_child("item", "jabber:iq:roster")
        .set_attr("jid", "x@y");
    EXPECT_EQ(
        to_string(iq),
        "<iq xmlns='jabber:client'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>");
}
