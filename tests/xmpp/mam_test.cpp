#include <gtest/gtest.h>

#include "xml/stream_parser.hpp"
#include "xmpp/mam.hpp"

using namespace perch;

namespace {
// Parses one stanza given as text, the way the stream would deliver it.
xml::Element parse(const std::string& stanza) {
    struct One : xml::StreamParser::Handler {
        xml::Element got;
        void on_stream_open(const xml::Element&) override {}
        void on_element(xml::Element&& e) override { got = std::move(e); }
        void on_stream_close() override {}
    } h;
    xml::StreamParser p(h);
    EXPECT_TRUE(p.feed(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
        stanza));
    return h.got;
}

const std::string kRoom = "coven@chat.shakespeare.lit";

std::variant<store::ArchiveQuery, xmpp::mam::QueryError> query(const std::string& inner) {
    auto iq = parse("<iq type='set' id='q29302'><query xmlns='urn:xmpp:mam:2' queryid='f27'>" +
                    inner + "</query></iq>");
    return xmpp::mam::parse_query(*iq.first_element(), kRoom);
}

std::string form(const std::string& fields) {
    return "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "
           "type='hidden'><value>urn:xmpp:mam:2</value></field>" +
           fields + "</x>";
}
}  // namespace

TEST(Mam, Xep0313Example_QueryingTheWholeArchive) {
    auto q = std::get<store::ArchiveQuery>(query(""));
    EXPECT_EQ(q.max, xmpp::mam::kDefaultPage);
    EXPECT_FALSE(q.start_us || q.end_us || q.after_id || q.before_id || q.last_page);
}

TEST(Mam, Xep0313Example_FilteringByJidOfAnOccupantAndByTime) {
    auto q = std::get<store::ArchiveQuery>(
        query(form("<field var='with'><value>" + kRoom +
                   "/firstwitch</value></field>"
                   "<field var='start'><value>2010-06-07T00:00:00Z</value></field>"
                   "<field var='end'><value>2010-07-07T13:23:54Z</value></field>")));
    EXPECT_EQ(q.with_nick, "firstwitch");
    EXPECT_TRUE(q.with_sender.empty());
    EXPECT_EQ(*q.start_us, 1275868800LL * 1000000);
    EXPECT_TRUE(q.end_us.has_value());
}

TEST(Mam, WithAUserJidFiltersBySender) {
    auto q = std::get<store::ArchiveQuery>(
        query(form("<field var='with'><value>Juliet@Capulet.lit/balcony</value></field>")));
    EXPECT_EQ(q.with_sender, "juliet@capulet.lit");
}

TEST(Mam, Xep0059Example_PagingBackwardsFromTheEnd) {
    auto q = std::get<store::ArchiveQuery>(
        query("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><before/></set>"));
    EXPECT_EQ(q.max, 10);
    EXPECT_TRUE(q.last_page);
    q =
        std::get<store::ArchiveQuery>(query("<set "
                                            "xmlns='http://jabber.org/protocol/rsm'><max>10</"
                                            "max><before>09af3-cc343-b409f</before></set>"));
    EXPECT_EQ(*q.before_id, "09af3-cc343-b409f");
    q = std::get<store::ArchiveQuery>(query(
        "<set xmlns='http://jabber.org/protocol/rsm'><after>28482-98726-73623</after></set>"));
    EXPECT_EQ(*q.after_id, "28482-98726-73623");
}

TEST(Mam, ExtendedIdsAndFullText) {
    auto q = std::get<store::ArchiveQuery>(query(
        form("<field var='ids'><value>a</value><value>b</value></field>"
             "<field var='{urn:xmpp:fulltext:0}fulltext'><value>\"hail and\" snow</value></field>"
             "<field var='{urn:perch:search:0}any'><value>1</value></field>")));
    EXPECT_EQ(q.ids, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(q.text, "\"hail and\" snow");
    EXPECT_TRUE(q.any_word);
    q = std::get<store::ArchiveQuery>(
        query(form("<field var='withtext'><value>snow</value></field>")));
    EXPECT_EQ(q.text, "snow");  // ejabberd's name for it
}

TEST(Mam, ThePageSizeIsCapped) {
    auto q = std::get<store::ArchiveQuery>(
        query("<set xmlns='http://jabber.org/protocol/rsm'><max>100000</max></set>"));
    EXPECT_EQ(q.max, xmpp::mam::kMaxPage);
}

TEST(Mam, BadInputIsRefusedWithTheRightCondition) {
    auto condition = [](const std::string& inner) {
        auto r = query(inner);
        return std::holds_alternative<xmpp::mam::QueryError>(r)
                   ? std::get<xmpp::mam::QueryError>(r).condition
                   : xmpp::StanzaError::internal_server_error;
    };
    EXPECT_EQ(condition(form("<field var='start'><value>yesterday</value></field>")),
              xmpp::StanzaError::bad_request);
    EXPECT_EQ(condition(form("<field var='with'><value>@@</value></field>")),
              xmpp::StanzaError::jid_malformed);
    EXPECT_EQ(condition(form("<field var='surprise'><value>1</value></field>")),
              xmpp::StanzaError::feature_not_implemented);
    EXPECT_EQ(condition("<set xmlns='http://jabber.org/protocol/rsm'><max>ten</max></set>"),
              xmpp::StanzaError::bad_request);
    EXPECT_EQ(condition("<set xmlns='http://jabber.org/protocol/rsm'><after/></set>"),
              xmpp::StanzaError::bad_request);
    EXPECT_EQ(condition("<x xmlns='jabber:x:data' type='submit'><field "
                        "var='FORM_TYPE'><value>urn:other</value></field></x>"),
              xmpp::StanzaError::bad_request);
}

TEST(Mam, FinCarriesRsmFirstLastAndCount) {
    auto iq = parse("<iq type='set' id='q1' from='a@b/c' to='" + kRoom + "'/>");
    store::ArchivePage page;
    page.count = 3;
    page.first_index = 1;
    page.complete = true;
    store::Message m;
    m.stanza_id = "x1";
    page.messages.push_back(m);
    m.stanza_id = "x2";
    page.messages.push_back(m);
    auto fin = xmpp::mam::render_fin(iq, page, false);
    const xml::Element* f = fin.child("fin", "urn:xmpp:mam:2");
    ASSERT_TRUE(f);
    EXPECT_EQ(f->attr_or("complete"), "true");
    const xml::Element* set = f->child("set", "http://jabber.org/protocol/rsm");
    EXPECT_EQ(set->child_text("first", "http://jabber.org/protocol/rsm"), "x1");
    EXPECT_EQ(set->child("first", "http://jabber.org/protocol/rsm")->attr_or("index"), "1");
    EXPECT_EQ(set->child_text("last", "http://jabber.org/protocol/rsm"), "x2");
    EXPECT_EQ(set->child_text("count", "http://jabber.org/protocol/rsm"), "3");
    EXPECT_EQ(set->child("count", "http://jabber.org/protocol/rsm")->attr_or("exact"), "true");
    // Asked backwards, the index is left out: slixmpp stops paging backwards when index + page
    // size = count, which holds on the newest page.
    auto backward = xmpp::mam::render_fin(iq, page, true);
    const xml::Element* bset =
        backward.child("fin", "urn:xmpp:mam:2")->child("set", "http://jabber.org/protocol/rsm");
    EXPECT_EQ(bset->child("first", "http://jabber.org/protocol/rsm")->attr_or("index", "none"),
              "none");
    EXPECT_EQ(bset->child_text("count", "http://jabber.org/protocol/rsm"), "3");
}

TEST(Mam, FinSaysWhenTheCountStoppedAtItsLimit) {
    auto iq = parse("<iq type='set' id='q1' from='a@b/c' to='" + kRoom + "'/>");
    store::ArchivePage page;
    page.count = 10000;
    page.count_exact = false;
    store::Message m;
    m.stanza_id = "x9";
    page.messages.push_back(m);
    auto fin = xmpp::mam::render_fin(iq, page, false);
    const xml::Element* set =
        fin.child("fin", "urn:xmpp:mam:2")->child("set", "http://jabber.org/protocol/rsm");
    const xml::Element* count = set->child("count", "http://jabber.org/protocol/rsm");
    EXPECT_EQ(count->text(), "10000");
    EXPECT_EQ(count->attr_or("exact"), "false");
    // Where it is not known, the first item's position is left out rather than guessed.
    EXPECT_EQ(set->child("first", "http://jabber.org/protocol/rsm")->attr_or("index", "none"),
              "none");
}
