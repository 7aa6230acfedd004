#include <gtest/gtest.h>

#include "xmpp/ws_framing.hpp"

using perch::xmpp::websocket_frames;
using Frames = std::vector<std::string>;

TEST(WebSocketFrames, OneFramePerElementWithTheStanzaNamespaceDeclared) {
    EXPECT_EQ(websocket_frames("<message to='a@b'><body>hi</body></message><presence/>"),
              (Frames{"<message xmlns='jabber:client' to='a@b'><body>hi</body></message>",
                      "<presence xmlns='jabber:client'/>"}));
}

TEST(WebSocketFrames, ElementsThatDeclareTheirNamespaceAreLeftAlone) {
    std::string features =
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind "
        "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
    EXPECT_EQ(websocket_frames(features), Frames{features});
    EXPECT_EQ(websocket_frames("<iq xmlns='jabber:client' type='result' id='1'/>"),
              Frames{"<iq xmlns='jabber:client' type='result' id='1'/>"});
    EXPECT_EQ(websocket_frames("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>eA==</success>"),
              Frames{"<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>eA==</success>"});
}

TEST(WebSocketFrames, AStreamErrorAndCloseBecomeTwoFrames) {
    auto frames = websocket_frames(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict "
        "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error><close "
        "xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[1], "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
}

TEST(WebSocketFrames, NestedElementsOfTheSameNameAndEscapedTextStayWhole) {
    std::string m =
        "<message from='r@c/n'><body>a &lt;b&gt; c</body><x><x a='&gt;/'/></x></message>";
    EXPECT_EQ(websocket_frames(m),
              Frames{"<message xmlns='jabber:client' from='r@c/n'><body>a &lt;b&gt; "
                     "c</body><x><x a='&gt;/'/></x></message>"});
}
