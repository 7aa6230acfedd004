#include <gtest/gtest.h>

#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"

using namespace perch::xml;

namespace {
struct Recorder : StreamParser::Handler {
    std::vector<Element> headers, stanzas;
    int closes = 0;
    std::function<void(const Element&)> on_stanza;
    void on_stream_open(const Element& h) override { headers.push_back(h); }
    void on_element(Element&& e) override {
        stanzas.push_back(std::move(e));
        if (on_stanza) on_stanza(stanzas.back());
    }
    void on_stream_close() override { ++closes; }
};

constexpr const char* kHeader =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";
}  // namespace

TEST(StreamParser, DeliversHeaderStanzasAndClose) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(p.feed(kHeader));
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0].name(), "stream");
    EXPECT_EQ(r.headers[0].ns(), "http://etherx.jabber.org/streams");
    EXPECT_EQ(r.headers[0].attr_or("to"), "example.org");
    ASSERT_TRUE(p.feed("<message to='a@b' type='chat'><body>hi &amp; bye</body></message> "));
    ASSERT_TRUE(p.feed("</stream:stream>"));
    ASSERT_EQ(r.stanzas.size(), 1u);
    const Element& m = r.stanzas[0];
    EXPECT_TRUE(m.is("message", "jabber:client"));
    EXPECT_EQ(m.child_text("body", "jabber:client"), "hi & bye");
    EXPECT_EQ(r.closes, 1);
}

TEST(StreamParser, HandlesInputSplitAtEveryByte) {
    Recorder r;
    StreamParser p(r);
    std::string input = std::string(kHeader) +
                        "<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>"
                        "<message><body>caf\xc3\xa9</body></message>";
    for (char c : input) ASSERT_TRUE(p.feed(std::string_view(&c, 1)));
    ASSERT_EQ(r.stanzas.size(), 2u);
    EXPECT_TRUE(r.stanzas[0].first_element()->is("query", "jabber:iq:roster"));
    EXPECT_EQ(r.stanzas[1].child_text("body", "jabber:client"), "caf\xc3\xa9");
}

TEST(StreamParser, KeepsXmlLangAndRoundTrips) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(p.feed(kHeader));
    ASSERT_TRUE(p.feed(
        "<message xml:lang='en'><body>x</body><x xmlns='jabber:x:oob'><url>u</url></x></message>"));
    ASSERT_EQ(r.stanzas.size(), 1u);
    EXPECT_EQ(
        to_string(r.stanzas[0], "jabber:client"),
        "<message xml:lang='en'><body>x</body><x xmlns='jabber:x:oob'><url>u</url></x></message>");
}

TEST(StreamParser, RejectsMalformedXml) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(p.feed(kHeader));
    EXPECT_FALSE(p.feed("<message><body>oops</message>"));
    EXPECT_EQ(p.error(), ParseError::not_well_formed);
    EXPECT_FALSE(p.feed("<presence/>"));  // stays broken
}

TEST(StreamParser, RefusesBillionLaughs) {
    Recorder r;
    StreamParser p(r);
    std::string bomb =
        "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
        "<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
        "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
        "<message><body>&lol3;</body></message>";
    EXPECT_FALSE(p.feed(bomb));
    EXPECT_EQ(p.error(), ParseError::restricted_xml);
    EXPECT_TRUE(r.stanzas.empty());
}

TEST(StreamParser, RefusesCommentsAndProcessingInstructions) {
    for (const char* bad : {"<!-- hello -->", "<?php echo 1; ?>"}) {
        Recorder r;
        StreamParser p(r);
        ASSERT_TRUE(p.feed(kHeader));
        EXPECT_FALSE(p.feed(bad)) << bad;
        EXPECT_EQ(p.error(), ParseError::restricted_xml) << bad;
    }
}

TEST(StreamParser, RefusesUndeclaredEntity) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(p.feed(kHeader));
    EXPECT_FALSE(p.feed("<message><body>&xxe;</body></message>"));
    EXPECT_NE(p.error(), ParseError::none);
}

TEST(StreamParser, LimitsStanzaSizeEvenWhenIncomplete) {
    Recorder r;
    StreamParser p(r, ParserLimits{.max_stanza_bytes = 1000});
    ASSERT_TRUE(p.feed(kHeader));
    ASSERT_TRUE(p.feed("<message><body>" + std::string(500, 'a') + "</body></message>"));
    EXPECT_FALSE(p.feed("<message><body>" + std::string(2000, 'a')));
    EXPECT_EQ(p.error(), ParseError::too_large);
}

TEST(StreamParser, LimitsDepthAndAttributes) {
    {
        Recorder r;
        StreamParser p(r, ParserLimits{.max_depth = 5});
        ASSERT_TRUE(p.feed(kHeader));
        EXPECT_FALSE(p.feed("<a><b><c><d><e><f><g/></f></e></d></c></b></a>"));
        EXPECT_EQ(p.error(), ParseError::too_deep);
    }
    {
        Recorder r;
        StreamParser p(r, ParserLimits{.max_attrs = 3});
        ASSERT_TRUE(p.feed(kHeader));
        EXPECT_FALSE(p.feed("<a w='1' x='1' y='1' z='1'/>"));
    }
}

TEST(StreamParser, ResetFromInsideAHandlerStartsANewDocument) {
    Recorder r;
    StreamParser p(r);
    r.on_stanza = [&](const Element& e) {
        if (e.name() == "success") p.reset();
    };
    ASSERT_TRUE(p.feed(kHeader));
    ASSERT_TRUE(p.feed("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"));
    ASSERT_TRUE(p.feed(kHeader));
    EXPECT_EQ(r.headers.size(), 2u);
}

// Idle streams give their parser back between stanzas; the next stanza parses in the same
// namespaces, the stream is not reopened, and limits still hold.
TEST(StreamParser, ReleasesItsParserBetweenStanzasAndCarriesOn) {
    Recorder r;
    ParserLimits limits;
    limits.max_stanza_bytes = 200;
    StreamParser p(r, limits);
    ASSERT_TRUE(p.feed(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
        "xmlns:db='jabber:server:dialback'>"));
    p.release_if_idle();
    EXPECT_FALSE(p.holds_parser());
    ASSERT_TRUE(p.feed("<message><body>one</body></message>"));
    EXPECT_TRUE(p.holds_parser());
    p.release_if_idle();
    EXPECT_FALSE(p.holds_parser());
    // A stanza that ends in the next read: the parser stays until it is whole.
    ASSERT_TRUE(p.feed("<db:result from='a'>k"));
    p.release_if_idle();
    EXPECT_TRUE(p.holds_parser());
    ASSERT_TRUE(p.feed("ey</db:result> "));  // a keepalive space after it
    p.release_if_idle();
    EXPECT_FALSE(p.holds_parser());
    ASSERT_TRUE(p.feed("<iq type='get'><ping xmlns='urn:xmpp:ping'/></iq>"));
    ASSERT_EQ(r.headers.size(), 1u);
    ASSERT_EQ(r.stanzas.size(), 3u);
    EXPECT_TRUE(r.stanzas[0].is("message", "jabber:client"));
    EXPECT_EQ(r.stanzas[0].child_text("body", "jabber:client"), "one");
    EXPECT_TRUE(r.stanzas[1].is("result", "jabber:server:dialback"));
    EXPECT_EQ(r.stanzas[1].text(), "key");
    EXPECT_TRUE(r.stanzas[2].first_element()->is("ping", "urn:xmpp:ping"));
    p.release_if_idle();
    EXPECT_FALSE(p.feed("<message><body>" + std::string(300, 'x') + "</body></message>"));
    EXPECT_EQ(p.error(), ParseError::too_large);
}

TEST(StreamParser, ClosesAndRestartsAfterARelease) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(p.feed(kHeader));
    p.release_if_idle();
    ASSERT_TRUE(p.feed("</stream:stream>"));
    EXPECT_EQ(r.closes, 1);
    p.reset();
    ASSERT_TRUE(p.feed(kHeader));
    EXPECT_EQ(r.headers.size(), 2u);
    EXPECT_FALSE(p.feed("<message><unclosed></message>"));
}

// An element whose start tag never ends is not yet an element to expat: its bytes count
// against the limit all the same, fed in one piece or a little at a time.
TEST(StreamParser, AnUnfinishedStartTagCountsAgainstTheLimit) {
    for (size_t piece : {size_t{5000}, size_t{64}}) {
        Recorder r;
        StreamParser p(r, ParserLimits{.max_stanza_bytes = 1024});
        ASSERT_TRUE(p.feed(kHeader));
        ASSERT_TRUE(p.feed("<message x='"));
        std::string rest(5000, 'A');
        bool ok = true;
        for (size_t at = 0; ok && at < rest.size(); at += piece)
            ok = p.feed(std::string_view(rest).substr(at, piece));
        EXPECT_FALSE(ok) << "fed in pieces of " << piece;
        EXPECT_EQ(p.error(), ParseError::too_large);
    }
}

// Whitespace keepalives between stanzas are not a stanza: hours of them are fine.
TEST(StreamParser, KeepalivesBetweenStanzasNeverMeetTheLimit) {
    Recorder r;
    StreamParser p(r, ParserLimits{.max_stanza_bytes = 1024});
    ASSERT_TRUE(p.feed(kHeader));
    for (int i = 0; i < 5000; ++i) ASSERT_TRUE(p.feed(" "));
    ASSERT_TRUE(p.feed("<message><body>hi</body></message>"));
    EXPECT_EQ(r.stanzas.size(), 1u);
}

// The stream header is bounded too: a root start tag that never ends is cut off.
TEST(StreamParser, AStreamHeaderThatNeverEndsIsCutOff) {
    Recorder r;
    StreamParser p(r);
    ASSERT_TRUE(
        p.feed("<?xml version='1.0'?><stream:stream xmlns:stream='"
               "http://etherx.jabber.org/streams' xmlns='jabber:client' junk='"));
    bool ok = true;
    std::string chunk(4096, 'B');
    for (int i = 0; ok && i < 64; ++i) ok = p.feed(chunk);
    EXPECT_FALSE(ok);
    EXPECT_EQ(p.error(), ParseError::too_large);
    EXPECT_TRUE(r.headers.empty());
}

TEST(ParseFragment, ReadsBackOneElementAndRefusesAnythingElse) {
    auto e = perch::xml::parse_fragment("<vCard xmlns='vcard-temp'><FN>Al &amp; Co</FN></vCard>");
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->is("vCard", "vcard-temp"));
    EXPECT_EQ(e->child_text("FN", "vcard-temp"), "Al & Co");
    EXPECT_FALSE(perch::xml::parse_fragment("<a/><b/>"));
    EXPECT_FALSE(perch::xml::parse_fragment("just text"));
    EXPECT_FALSE(perch::xml::parse_fragment("<a>"));
    EXPECT_FALSE(perch::xml::parse_fragment("</root><x/><root>"));
}
