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
}

TEST(Serializer, WritesWhatXmlCannotCarryAsTheReplacementCharacter) {
    // A name set through JSON (the admin API, the web pages) may hold a NUL, another control
    // character or U+FFFF, one given on the command line bytes that are not UTF-8: XML 1.0
    // allows none of them anywhere; written as they are, every
    // client that lists the rooms would read a stream that is not well-formed, and leave.
    const std::string r = "\xEF\xBF\xBD";  // U+FFFD
    auto both = [](std::string_view in) {
        std::string text = "x", attr = "x";
        escape_text(text, in);
        escape_attr(attr, in);
        return std::pair{text, attr};
    };
    EXPECT_EQ(both(std::string_view("a\0b", 3)), std::pair("xa" + r + "b", "xa" + r + "b"));
    EXPECT_EQ(both("\x01\x08\x0B\x0C\x0E\x1F"),
              std::pair("x" + r + r + r + r + r + r, "x" + r + r + r + r + r + r));
    EXPECT_EQ(both("\xEF\xBF\xBE|\xEF\xBF\xBF"), std::pair("x" + r + "|" + r, "x" + r + "|" + r));
    // Bytes that are not UTF-8 (a name given on the command line): one U+FFFD each.
    EXPECT_EQ(both("x\xFFy"), std::pair("xx" + r + "y", "xx" + r + "y"));
    EXPECT_EQ(both("\xC0\xAF"), std::pair("x" + r + r, "x" + r + r));              // overlong
    EXPECT_EQ(both("\xED\xA0\x80"), std::pair("x" + r + r + r, "x" + r + r + r));  // surrogate
    EXPECT_EQ(both("cut \xE2\x82"), std::pair("xcut " + r + r, "xcut " + r + r));
    EXPECT_EQ(both("\xEF\xBF"), std::pair("x" + r + r, "x" + r + r));
    // What XML allows stays: tab, line feed and carriage return (escaped in attributes), the
    // characters around U+FFFF (U+FFFD itself, U+FF21, U+F900), and all of Unicode.
    EXPECT_EQ(both("\t\n\r"), std::pair(std::string("x\t\n\r"), std::string("x&#9;&#10;&#13;")));
    for (const char* kept : {"\xEF\xBF\xBD", "\xEF\xBC\xA1", "\xEF\xA4\x80",
                             "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\xA6 \xF4\x8F\xBF\xBD"})
        EXPECT_EQ(both(kept), std::pair("x" + std::string(kept), "x" + std::string(kept))) << kept;
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
