// Session: stream negotiation (hosts, TLS, SASL, binding) and the stream's own rules (bad
// input, rates, services). The fixture: session_fixture.hpp.
#include "session_fixture.hpp"

TEST_F(SessionTest, AStreamToAnotherHostIsRefused) {
    auto& s = open();
    auto out =
        send(s,
             "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
             "to='elsewhere.example' version='1.0'>");
    EXPECT_NE(out.find("<host-unknown"), std::string::npos);
    EXPECT_TRUE(s.transport->closed);
}

// A pool's standby sends a new client to an active server (RFC 6120 4.9.3.19), and serves
// it when nowhere else would.
TEST_F(SessionTest, AStandbySendsClientsToAnotherServer) {
    std::optional<std::string> other = "chat2.example.org:5222";
    ctx_->elsewhere = [&other] { return other; };
    auto& s = open();
    auto out = send(s, kOpen);
    EXPECT_NE(out.find("<see-other-host xmlns='urn:ietf:params:xml:ns:xmpp-streams'>"
                       "chat2.example.org:5222</see-other-host>"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("<stream:features"), std::string::npos);
    EXPECT_TRUE(s.transport->closed);
    other.reset();
    auto& here = open();
    EXPECT_NE(send(here, kOpen).find("<stream:features"), std::string::npos);
}

// Over WebSocket the same with RFC 7395's see-other-uri.
TEST_F(SessionTest, AStandbySendsWebSocketClientsToAnotherServer) {
    ctx_->elsewhere_websocket = [] {
        return std::optional<std::string>("wss://chat2.example.org/xmpp-websocket");
    };
    auto& s = open();
    s.transport->framing_kind = xmpp::Transport::Framing::websocket;
    send(s, "<stream xmlns='jabber:client'>");
    auto out = send(s,
                    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.org' "
                    "version='1.0'/>");
    EXPECT_NE(out.find("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' "
                       "see-other-uri='wss://chat2.example.org/xmpp-websocket'/>"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("<stream:features"), std::string::npos);
    EXPECT_TRUE(s.transport->closed);
}

TEST_F(SessionTest, OutsideLoopbackAuthenticationWaitsForTls) {
    auto& s = open(false, false);
    auto out = send(s, kOpen);
    EXPECT_NE(out.find("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("<mechanisms"), std::string::npos);
    out = send(s,
               "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
               "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>");
    EXPECT_NE(out.find("<policy-violation"), std::string::npos);
    EXPECT_TRUE(s.transport->closed);

    auto& t = open(false, false);
    send(t, kOpen);
    EXPECT_NE(send(t, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>").find("<proceed"),
              std::string::npos);
    EXPECT_TRUE(t.transport->tls_started);
    // After TLS: the mechanisms, PLAIN among them.
    t.transport->is_secure = true;
    out = send(t, kOpen);
    EXPECT_NE(out.find("<mechanism>PLAIN</mechanism>"), std::string::npos) << out;
}

TEST_F(SessionTest, PlainIsNotOfferedWithoutTls) {
    auto& s = open(false, true);
    auto out = send(s, kOpen);
    EXPECT_NE(out.find("SCRAM-SHA-256"), std::string::npos);
    EXPECT_EQ(out.find(">PLAIN<"), std::string::npos);
    out = send(s,
               "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' "
               "mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>");
    EXPECT_NE(out.find("<invalid-mechanism/>"), std::string::npos) << out;
}

TEST_F(SessionTest, ScramLogsInAndWrongPasswordsEndTheStreamAfterThree) {
    auto& s = open();
    send(s, kOpen);
    auto out = scram(s, "alice", "secret");
    EXPECT_NE(out.find("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"), std::string::npos)
        << out;
    EXPECT_EQ(stats_.logins.load(), 1u);

    auto& w = open();
    send(w, kOpen);
    for (int i = 0; i < 3; ++i) {
        out = scram(w, "alice", "wrong");
        EXPECT_NE(out.find("<not-authorized/>"), std::string::npos) << out;
    }
    EXPECT_NE(out.find("<policy-violation"), std::string::npos);
    EXPECT_TRUE(w.transport->closed);
    EXPECT_EQ(credentials_->guard().failures(xmpp::LoginChannel::xmpp), 3u);
    // An unknown user fails the same way, after a challenge like anybody's.
    auto& u = open();
    send(u, kOpen);
    EXPECT_NE(scram(u, "nobody", "secret").find("<not-authorized/>"), std::string::npos);
    // A disabled account says so, but only to who proves its password.
    auto& d = open(false, true, "192.0.2.2:4000");
    send(d, kOpen);
    EXPECT_NE(scram(d, "carl", "wrong").find("<not-authorized/>"), std::string::npos);
    EXPECT_NE(scram(d, "carl", "secret").find("<account-disabled/>"), std::string::npos);
}

// Guessing is slowed per account and per address, whatever the stream: past the free
// failures each attempt must wait for the one before, and an attempt that comes too early is
// refused without a challenge (nothing is checked).
TEST_F(SessionTest, GuessingPasswordsIsSlowedPerAccountAndPerAddress) {
    const std::string owner = "192.0.2.10:5000", guesser = "198.51.100.7:6000",
                      stranger = "203.0.113.9:7000", sprayer = "198.51.100.8:6000";
    auto attempt = [&](const std::string& from, const std::string& user,
                       const std::string& password) {
        auto& s = open(false, true, from);
        send(s, kOpen);
        return scram(s, user, password);
    };
    ASSERT_NE(attempt(owner, "alice", "secret").find("<success"), std::string::npos);

    // Five free failures, then a sixth that is checked and starts the delay.
    for (int i = 0; i < 6; ++i)
        EXPECT_NE(attempt(guesser, "alice", "wrong" + std::to_string(i)).find("<not-authorized/>"),
                  std::string::npos)
            << i;
    auto out = attempt(guesser, "alice", "secret");  // even the right password is not looked at
    EXPECT_NE(out.find("<temporary-auth-failure/>"), std::string::npos) << out;
    EXPECT_NE(out.find("try again in 1 s"), std::string::npos) << out;
    EXPECT_EQ(out.find("<challenge"), std::string::npos) << out;
    // From another address too (the owner's own place would be refused a lock, not a delay:
    // see the LoginGuard tests); but not another account.
    EXPECT_NE(attempt(stranger, "alice", "secret").find("<temporary-auth-failure/>"),
              std::string::npos);
    EXPECT_NE(attempt(guesser, "bob", "secret").find("<success"), std::string::npos);

    // An address going through names waits after the fifth, whatever the name.
    for (int i = 0; i < 6; ++i)
        EXPECT_NE(attempt(sprayer, "user" + std::to_string(i), "secret").find("<not-authorized/>"),
                  std::string::npos)
            << i;
    EXPECT_NE(attempt(sprayer, "bob", "secret").find("<temporary-auth-failure/>"),
              std::string::npos);
    EXPECT_EQ(credentials_->guard().failures(xmpp::LoginChannel::xmpp), 12u);
    EXPECT_EQ(credentials_->guard().refusals(xmpp::LoginChannel::xmpp), 3u);
}

TEST_F(SessionTest, MalformedSaslIsAnsweredNotCrashedOn) {
    auto& s = open();
    send(s, kOpen);
    EXPECT_NE(
        send(s,
             "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>!!!</auth>")
            .find("<incorrect-encoding/>"),
        std::string::npos);
    EXPECT_NE(send(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                          util::base64_encode("garbage") + "</auth>")
                  .find("<malformed-request/>"),
              std::string::npos);
    EXPECT_NE(send(s, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>eA==</response>")
                  .find("<malformed-request/>"),
              std::string::npos);
    EXPECT_FALSE(s.transport->closed);
}

TEST_F(SessionTest, StanzasBeforeAuthenticationOrBindEndTheStream) {
    auto& s = open();
    send(s, kOpen);
    EXPECT_NE(
        send(s, "<message to='bob@example.org'><body>hi</body></message>").find("<not-authorized"),
        std::string::npos);
    EXPECT_TRUE(s.transport->closed);

    auto& t = open();
    send(t, kOpen);
    scram(t, "alice", "secret");
    send(t, kOpen);
    EXPECT_NE(send(t, "<presence/>").find("bind a resource first"), std::string::npos);
}

TEST_F(SessionTest, ANewLoginWithTheSameResourceReplacesTheOld) {
    auto& first = bound("alice", "pc");
    auto& second = bound("alice", "pc");
    EXPECT_EQ(first.transport->terminated, "conflict");
    EXPECT_TRUE(first.transport->closed);
    EXPECT_FALSE(second.transport->closed);
    EXPECT_EQ(router_.session_count(), 1u);
    EXPECT_EQ(chat_.ended, std::vector<std::string>{"alice@example.org/pc"});
}

TEST_F(SessionTest, BadInputGetsTheMatchingStreamError) {
    auto& a = open();
    EXPECT_NE(send(a, "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e 'x'>]><stream:stream>")
                  .find("<restricted-xml"),
              std::string::npos);
    auto& b = bound("alice", "b");
    EXPECT_NE(send(b, "<message><body>" + std::string(5000, 'x') + "</body></message>")
                  .find("<policy-violation"),
              std::string::npos);
    auto& c = bound("alice", "c");
    EXPECT_NE(send(c, "<message><body>x</wrong></message>").find("<not-well-formed"),
              std::string::npos);
    auto& d = bound("alice", "d");
    EXPECT_NE(send(d, "<foo/>").find("<unsupported-stanza-type"), std::string::npos);
    auto& e = bound("alice", "e");
    EXPECT_NE(
        send(e, "<message from='bob@example.org/x' to='alice@example.org'/>").find("<invalid-from"),
        std::string::npos);
    // A server-to-server content namespace on a client stream (RFC 6120 4.8.2).
    auto& f = open();
    EXPECT_NE(send(f,
                   "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
                   "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' "
                   "version='1.0'>")
                  .find("<invalid-namespace"),
              std::string::npos);
    EXPECT_EQ(stats_.stream_errors.load(), 6u);
    // Each counted under its condition.
    auto by = [&](std::string_view condition) {
        auto it =
            std::find(xmpp::kStreamConditions.begin(), xmpp::kStreamConditions.end(), condition);
        return stats_.stream_errors_by[size_t(it - xmpp::kStreamConditions.begin())].load();
    };
    EXPECT_EQ(by("restricted-xml"), 1u);
    EXPECT_EQ(by("policy-violation"), 1u);
    EXPECT_EQ(by("invalid-namespace"), 1u);
    EXPECT_EQ(by("unsupported-stanza-type"), 1u);
}

TEST_F(SessionTest, BadStanzasGetStanzaErrorsAndTheStreamGoesOn) {
    auto& s = bound("alice", "pc");
    EXPECT_NE(send(s, "<iq type='bogus' id='1'><query xmlns='jabber:iq:version'/></iq>")
                  .find("<bad-request"),
              std::string::npos);
    EXPECT_NE(
        send(s, "<iq type='get' id='2' to='elsewhere.example'><ping xmlns='urn:xmpp:ping'/></iq>")
            .find("<remote-server-not-found"),
        std::string::npos);
    EXPECT_NE(send(s,
                   "<message to='bob@example.org' type='chat'><active "
                   "xmlns='http://jabber.org/protocol/chatstates'/></message>")
                  .find("The recipient is offline"),
              std::string::npos);
    EXPECT_NE(send(s, "<iq type='get' id='3' to='@@'><ping xmlns='urn:xmpp:ping'/></iq>")
                  .find("<jid-malformed"),
              std::string::npos);
    EXPECT_FALSE(s.transport->closed);
}

TEST_F(SessionTest, StanzasForAServiceGoToItAndTheServerListsIt) {
    auto& s = bound("alice", "pc");
    send(s, "<presence to='room@chat.example.org/alice'/>");
    ASSERT_EQ(chat_.handled.size(), 1u);
    EXPECT_EQ(chat_.handled[0], "presence from alice@example.org/pc as alice");
    auto out = send(
        s, "<iq type='get' id='d'><query xmlns='http://jabber.org/protocol/disco#items'/></iq>");
    EXPECT_NE(out.find("jid='chat.example.org'"), std::string::npos) << out;
    // The service vets direct invitations naming it.
    auto& bob = bound("bob", "pc");
    out = send(s,
               "<message to='bob@example.org'><x xmlns='jabber:x:conference' "
               "jid='room@chat.example.org'/></message>");
    EXPECT_NE(out.find("<forbidden"), std::string::npos) << out;
    EXPECT_EQ(bob.transport->take(), "");
    // Unavailable presence and the end of the stream both tell the service.
    send(s, "<presence type='unavailable'/>");
    s.session->closed();
    EXPECT_EQ(chat_.ended,
              (std::vector<std::string>{"alice@example.org/pc", "alice@example.org/pc"}));
    EXPECT_EQ(router_.session_count(), 1u);
}

// A bound session sending faster than its rate is answered resource-constraint for each
// stanza over it (dropped, not queued) and stays connected; answers and departures always pass.
TEST_F(SessionTest, StanzasFasterThanTheSessionsRateAreRefusedNotQueued) {
    ctx_->stanza_rate = {0.001, 5};  // five, then (practically) none
    auto& s = bound("alice", "pc");
    std::string out;
    for (int i = 0; i < 8; ++i)
        out += send(
            s, "<iq type='get' id='p" + std::to_string(i) + "'><ping xmlns='urn:xmpp:ping'/></iq>");
    auto count = [&](const std::string& what) {
        size_t n = 0;
        for (size_t at = out.find(what); at != std::string::npos; at = out.find(what, at + 1)) ++n;
        return n;
    };
    EXPECT_EQ(count("type='result'"), 5u) << out;
    EXPECT_EQ(count("<resource-constraint"), 3u) << out;
    EXPECT_NE(out.find("Too many stanzas"), std::string::npos);
    out = send(s, "<iq type='result' id='answer'/>");
    out += send(s, "<presence type='unavailable'/>");
    EXPECT_EQ(out.find("<resource-constraint"), std::string::npos) << out;
    EXPECT_EQ(stats_.stanzas_over_rate.load(), 3u);
    EXPECT_FALSE(s.transport->closed);
}
