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

TEST(Serializer, DeclaresNamespacesWhereTheyChange) {
    Element iq("iq", "jabber:client");
    iq.add_child("query", "jabber:iq:roster")
        .add_child("item", "jabber:iq:roster")
        .set_attr("jid", "x@y");
    EXPECT_EQ(
        to_string(iq),
        "<iq xmlns='jabber:client'><query xmlns='jabber:iq:roster'><item jid='x@y'/></query></iq>");
}
