// Session: Stream Management (XEP-0198) — acknowledgements, resumption, and what was never
// acknowledged. The fixture: session_fixture.hpp.
#include "session_fixture.hpp"

namespace {
std::string attribute(const std::string& text, const std::string& element,
                      const std::string& name) {
    std::smatch m;
    std::regex re("<" + element + "[^>]* " + name + "='([^']*)'");
    return std::regex_search(text, m, re) ? m[1].str() : std::string();
}
size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++n;
    return n;
}
}  // namespace

// XEP-0198 acknowledgements: offered once authenticated, enabled once bound; the server
// counts what it handles and asks for acknowledgements of what it sends; an acknowledgement
// of more than was sent ends the stream.
TEST_F(SessionTest, StreamManagementCountsStanzasBothWays) {
    auto& t = open();
    send(t, kOpen);
    scram(t, "alice", "secret");
    auto features = send(t, kOpen);
    EXPECT_NE(features.find("<sm xmlns='urn:xmpp:sm:3'/>"), std::string::npos) << features;
    EXPECT_NE(send(t, "<enable xmlns='urn:xmpp:sm:3'/>").find("<unexpected-request"),
              std::string::npos);  // not bound yet

    auto& alice = bound("alice", "pc");
    auto enabled = send(alice, "<enable xmlns='urn:xmpp:sm:3'/>");
    EXPECT_EQ(enabled, "<enabled xmlns='urn:xmpp:sm:3'/>");  // no resumption asked for
    EXPECT_EQ(send(alice, "<r xmlns='urn:xmpp:sm:3'/>"), "<a xmlns='urn:xmpp:sm:3' h='0'/>");
    auto out = send(alice, "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    EXPECT_NE(out.find("id='p1'"), std::string::npos);
    EXPECT_NE(out.find("<r xmlns='urn:xmpp:sm:3'/>"), std::string::npos) << out;
    send(alice, "<iq type='get' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");  // <r/> is out
    EXPECT_EQ(send(alice, "<r xmlns='urn:xmpp:sm:3'/>"), "<a xmlns='urn:xmpp:sm:3' h='2'/>");
    EXPECT_EQ(send(alice, "<a xmlns='urn:xmpp:sm:3' h='2'/>"), "");
    EXPECT_NE(send(alice, "<enable xmlns='urn:xmpp:sm:3'/>").find("<unexpected-request"),
              std::string::npos);  // twice
    out = send(alice, "<a xmlns='urn:xmpp:sm:3' h='3'/>");
    EXPECT_NE(out.find("<undefined-condition"), std::string::npos) << out;
    EXPECT_TRUE(alice.transport->closed);
}

// XEP-0198 resumption: a session whose connection drops stays bound (nobody sees it leave)
// and keeps what it is sent; the client comes back on a new connection with the count it
// has, and gets the rest, in order, then what comes next. Another user cannot take it.
TEST_F(SessionTest, ADroppedSessionIsResumedWithEveryStanzaItMissed) {
    auto& alice = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    send(alice, "<presence/>");
    auto enabled = send(alice, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    auto id = attribute(enabled, "enabled", "id");
    ASSERT_FALSE(id.empty()) << enabled;
    EXPECT_EQ(attribute(enabled, "enabled", "max"), "60");
    send(bob, "<message to='alice@example.org/phone' type='chat'><body>one</body></message>");
    EXPECT_NE(alice.transport->take().find("one"), std::string::npos);
    // The phone handled "one" and a ping, then lost its connection.
    send(alice, "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    alice.transport->closed = true;
    alice.session->closed();
    loop_.drain();
    for (const char* text : {"two", "three"})
        send(bob, std::string("<message to='alice@example.org/phone' type='chat'><body>") + text +
                      "</body></message>");
    EXPECT_EQ(alice.transport->take(), "");
    EXPECT_TRUE(chat_.ended.empty());  // still in its rooms
    EXPECT_EQ(bob.transport->take().find("unavailable"), std::string::npos);

    // Bob cannot take it; a made-up id resumes nothing.
    auto& thief = authenticated("bob");
    EXPECT_NE(send(thief, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
                  .find("<failed xmlns='urn:xmpp:sm:3'><item-not-found"),
              std::string::npos);
    EXPECT_NE(
        send(thief, "<resume xmlns='urn:xmpp:sm:3' previd='nope' h='0'/>").find("<item-not-found"),
        std::string::npos);

    auto& again = authenticated("alice");
    // The phone saw "one" (the first stanza of the count) but not the ping's answer.
    auto out = send(again, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='1'/>");
    EXPECT_EQ(attribute(out, "resumed", "h"), "1") << out;  // the ping, handled
    EXPECT_EQ(attribute(out, "resumed", "previd"), id);
    EXPECT_EQ(out.find("<body>one<"), std::string::npos) << out;
    auto pong = out.find("id='p1'"), two = out.find("<body>two<"), three = out.find("<body>three<");
    ASSERT_NE(pong, std::string::npos) << out;
    EXPECT_LT(pong, two);
    EXPECT_LT(two, three);
    send(bob, "<message to='alice@example.org/phone' type='chat'><body>four</body></message>");
    EXPECT_NE(again.transport->take().find("four"), std::string::npos);
    EXPECT_EQ(send(again, "<r xmlns='urn:xmpp:sm:3'/>"), "<a xmlns='urn:xmpp:sm:3' h='1'/>");
    EXPECT_TRUE(chat_.ended.empty());
    ASSERT_TRUE(router_.find(*xmpp::Jid::parse("alice@example.org/phone")));

    // It can be resumed again with the same id, from a connection that is still up as far as
    // the server knows (the client saw it die first): the old one is closed.
    auto& third = authenticated("alice");
    out = send(third, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='5'/>");
    EXPECT_NE(out.find("<resumed"), std::string::npos) << out;
    EXPECT_TRUE(again.transport->closed);
    again.session->closed();  // its socket goes
    loop_.drain();
    EXPECT_TRUE(chat_.ended.empty());
    send(bob, "<message to='alice@example.org/phone' type='chat'><body>five</body></message>");
    EXPECT_NE(third.transport->take().find("five"), std::string::npos);
}

// A session nobody resumes ends after the timeout, as if its connection had just closed: its
// services are told and its contacts see it go. Until then a new login with its resource
// replaces it, as any session.
TEST_F(SessionTest, ASessionNotResumedInTimeEnds) {
    auto& alice = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    send(alice, "<presence/>");
    send(bob, "<presence/>");
    auto id =
        attribute(send(alice, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"), "enabled", "id");
    bob.transport->take();
    alice.transport->closed = true;
    alice.session->closed();
    EXPECT_EQ(resumption_.waiting(), 1u);
    resumption_.expire(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    loop_.drain();
    EXPECT_TRUE(chat_.ended.empty());  // not yet
    resumption_.expire(std::chrono::steady_clock::now() + std::chrono::seconds(61));
    loop_.drain();
    ASSERT_EQ(chat_.ended.size(), 1u);
    EXPECT_EQ(chat_.ended[0], "alice@example.org/phone");
    EXPECT_EQ(resumption_.waiting(), 0u);
    auto& late = authenticated("alice");
    EXPECT_NE(send(late, "<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>")
                  .find("<item-not-found"),
              std::string::npos);
    // The client binds a new session on the same stream.
    EXPECT_NE(send(late,
                   "<iq type='set' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                   "<resource>phone</resource></bind></iq>")
                  .find("<jid>alice@example.org/phone"),
              std::string::npos);

    auto& pc = bound("bob", "desk");
    send(pc, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    pc.transport->closed = true;
    pc.session->closed();
    bound("bob", "desk");  // the same resource logs in again
    loop_.drain();
    EXPECT_EQ(resumption_.waiting(), 0u);
    EXPECT_EQ(count(std::accumulate(chat_.ended.begin(), chat_.ended.end(), std::string()),
                    "bob@example.org/desk"),
              1u);
}

// XEP-0198: one-to-one messages a session was sent and never acknowledged wait for the user
// again when it ends (not resumed in time, or not resumable), as if never delivered: the next
// session gets them with its first presence. What was acknowledged does not come again.
TEST_F(SessionTest, MessagesNeverAcknowledgedWaitForTheNextSession) {
    auto& alice = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    send(alice, "<presence/>");
    send(alice, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    send(bob, "<message to='alice@example.org/phone' type='chat'><body>seen</body></message>");
    send(alice, "<a xmlns='urn:xmpp:sm:3' h='1'/>");
    send(bob, "<message to='alice@example.org' type='chat'><body>lost one</body></message>");
    send(bob, "<message to='alice@example.org/phone' type='chat'><body>lost two</body></message>");
    EXPECT_NE(alice.transport->take().find("lost two"), std::string::npos);
    alice.transport->closed = true;
    alice.session->closed();
    resumption_.expire(std::chrono::steady_clock::now() + std::chrono::seconds(61));
    loop_.drain();

    auto& next = bound("alice", "pc");
    auto out = send(next, "<presence/>");
    auto one = out.find("<body>lost one</body>"), two = out.find("<body>lost two</body>");
    ASSERT_NE(one, std::string::npos) << out;
    EXPECT_LT(one, two);
    EXPECT_NE(out.find("<delay xmlns='urn:xmpp:delay'"), std::string::npos);
    EXPECT_EQ(out.find("seen"), std::string::npos) << out;

    // Without resumption the same, when the stream ends.
    auto& desk = bound("bob", "desk");
    send(desk, "<presence/>");
    send(desk, "<enable xmlns='urn:xmpp:sm:3'/>");
    send(next, "<message to='bob@example.org/desk' type='chat'><body>for later</body></message>");
    desk.transport->closed = true;
    desk.session->closed();
    loop_.drain();
    EXPECT_NE(send(bound("bob", "laptop"), "<presence/>").find("for later"), std::string::npos);
}
