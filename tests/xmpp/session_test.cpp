// A client stream without sockets: Session against a fake transport, its store work on a
// manual loop (tests/manual_runtime.hpp). Transcripts: the client sends, the server answers.
#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <regex>

#include "manual_runtime.hpp"
#include "util/base64.hpp"
#include "util/ids.hpp"
#include "xmpp/service.hpp"
#include "xmpp/session.hpp"

using namespace perch;

namespace {

struct FakeTransport;

struct FakeHandle final : xmpp::SessionHandle {
    FakeHandle(xmpp::Jid jid, FakeTransport& t)
        : SessionHandle(jid.str()), jid_(std::move(jid)), transport(&t) {}
    const xmpp::Jid& jid() const override { return jid_; }
    void deliver(xmpp::Outgoing out) override;
    void terminate(std::string_view condition, std::string_view) override;
    void set_subject(std::shared_ptr<const chat::Subject> who) override;
    xmpp::Jid jid_;
    FakeTransport* transport;  // another one once the session is resumed elsewhere
};

struct FakeTransport final : xmpp::Transport {
    FakeTransport(manual::Loop& loop, bool secure, bool loopback)
        : loop(loop), is_secure(secure), is_loopback(loopback) {}
    manual::Loop& loop;
    xmpp::Session* session = nullptr;
    std::string out;  // everything written
    bool is_secure, is_loopback, closed = false, tls_started = false;
    std::shared_ptr<FakeHandle> handle_;
    std::string terminated;  // a stream error asked for from outside
    std::string address = "192.0.2.1:4000";

    Framing framing_kind = Framing::tcp_stream;
    Framing framing() const override { return framing_kind; }
    void send(xmpp::Outgoing o) override {
        out += o.head;
        if (o.shared) out.append(o.shared->text, o.shared->split);
    }
    bool secure() const override { return is_secure; }
    bool can_start_tls() const override { return !is_secure; }
    void start_tls() override { tls_started = true; }
    void close() override { closed = true; }
    bool loopback() const override { return is_loopback; }
    std::string peer() const override { return address; }
    Poster poster() override {
        return [this](std::function<void()> work) {
            loop.post([this, work = std::move(work)] {
                if (!session->over()) work();
            });
        };
    }
    Poster runner() override {
        return [this](std::function<void()> work) { loop.post(std::move(work)); };
    }
    std::shared_ptr<void> keep() override { return nullptr; }  // the test keeps them all
    xmpp::SessionHandlePtr handle() override {
        if (!handle_) handle_ = std::make_shared<FakeHandle>(session->jid(), *this);
        return handle_;
    }
    void adopt(xmpp::SessionHandlePtr h) override {
        handle_ = std::static_pointer_cast<FakeHandle>(std::move(h));
        if (handle_) handle_->transport = this;
    }
    // What was written since the last call.
    std::string take() { return std::exchange(out, {}); }
};

void FakeHandle::deliver(xmpp::Outgoing o) {
    // As the connections do: on the session's executor.
    transport->loop.post(
        [t = transport, o = std::move(o)]() mutable { t->session->deliver_routed(std::move(o)); });
}
void FakeHandle::terminate(std::string_view condition, std::string_view) {
    transport->terminated = std::string(condition);
    transport->session->stream_error(condition);
}
void FakeHandle::set_subject(std::shared_ptr<const chat::Subject> who) {
    transport->loop.post([t = transport, who = std::move(who)]() mutable {
        t->session->set_subject(std::move(who));
    });
}

// A service on chat.example.org that keeps what it was handed.
struct FakeService final : xmpp::Service {
    std::string domain_ = "chat.example.org";
    std::vector<std::string> handled, ended;
    const std::string& domain() const override { return domain_; }
    std::string name() const override { return "Chat rooms"; }
    void handle(xml::Element stanza, const xmpp::Jid& from, const xmpp::Jid&,
                xmpp::SessionHandlePtr, std::shared_ptr<const chat::Subject> who) override {
        handled.push_back(stanza.name() + " from " + from.str() + " as " + (who ? who->user : "?"));
    }
    void session_ended(const xmpp::Jid& full) override { ended.push_back(full.str()); }
    std::optional<xmpp::StanzaError> vet_invitation(const chat::Subject&,
                                                    const xmpp::Jid&) const override {
        return xmpp::StanzaError::forbidden;
    }
};

const char* kOpen =
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.org' version='1.0'>";

class SessionTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-session-" + util::random_id());
        std::filesystem::create_directories(dir_);
        store::StoreConfig sc;
        sc.path = (dir_ / "content.db").string();
        sc.synchronous_full = false;
        store_ = store::open_store(sc);
        for (const char* name : {"alice", "bob"}) {
            store::User u;
            u.username = name;
            xmpp::Credentials::set_password(u, "secret", 64);
            store_->add_user(u);
        }
        store::User off;
        off.username = "carl";
        off.disabled = true;
        xmpp::Credentials::set_password(off, "secret", 64);
        store_->add_user(off);
        manual_ = std::make_unique<manual::Store>(loop_, *store_);
        credentials_ = std::make_unique<xmpp::Credentials>(*manual_, "test-secret");
        router_.add_service(chat_);
        ctx_ = std::make_unique<xmpp::ServerContext>(xmpp::ServerContext{
            "example.org", router_, *credentials_, *manual_,
            xml::ParserLimits{.max_stanza_bytes = 4096}, true, "test", stats_, nullptr, "", false});
        ctx_->blocklists = &blocklists_;
        ctx_->resumption = &resumption_;
        ctx_->directory = &directory_;
        ctx_->muc_domain = "chat.example.org";
        auto everyone = std::make_shared<chat::CategoryRules>();
        everyone->allowed = {store::Principal::all()};
        directory_.put_category(1, everyone);
    }
    void TearDown() override {
        streams_.clear();
        std::filesystem::remove_all(dir_);
    }

    struct Stream {
        std::unique_ptr<FakeTransport> transport;
        std::unique_ptr<xmpp::Session> session;
        std::string send(const std::string& bytes, manual::Loop& loop) {
            session->feed(bytes);
            loop.drain();
            return transport->take();
        }
    };
    Stream& open(bool secure = false, bool loopback = true,
                 const std::string& address = "192.0.2.1:4000") {
        auto& s = streams_.emplace_back();
        s.transport = std::make_unique<FakeTransport>(loop_, secure, loopback);
        s.transport->address = address;
        s.session = std::make_unique<xmpp::Session>(*ctx_, *s.transport);
        s.transport->session = s.session.get();
        return s;
    }
    std::string send(Stream& s, const std::string& bytes) { return s.send(bytes, loop_); }

    // SCRAM-SHA-256 with `password`; returns the server's last answer.
    std::string scram(Stream& s, const std::string& user, const std::string& password) {
        std::string first_bare = "n=" + user + ",r=clientnonce";
        auto challenge =
            send(s, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
                        util::base64_encode("n,," + first_bare) + "</auth>");
        auto start = challenge.find("<challenge");
        if (start == std::string::npos) return challenge;
        start = challenge.find('>', start) + 1;
        auto server_first =
            *util::base64_decode(challenge.substr(start, challenge.find('<', start) - start));
        auto salt = *util::base64_decode(*xmpp::scram_attribute(server_first, 's'));
        int iterations = std::stoi(*xmpp::scram_attribute(server_first, 'i'));
        auto proof =
            xmpp::scram_client_final(util::Hash::sha256, first_bare, server_first,
                                     util::pbkdf2(util::Hash::sha256, password, salt, iterations));
        return send(s, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                           util::base64_encode(proof->client_final) + "</response>");
    }
    std::string bind(Stream& s, const std::string& resource) {
        send(s, kOpen);
        return send(
            s, "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
                   resource + "</resource></bind></iq>");
    }
    // Authenticated as `user`, on the restarted stream: ready to bind or resume.
    Stream& authenticated(const std::string& user) {
        auto& s = open();
        send(s, kOpen);
        EXPECT_NE(scram(s, user, "secret").find("<success"), std::string::npos);
        send(s, kOpen);
        return s;
    }
    Stream& bound(const std::string& user, const std::string& resource) {
        auto& s = open();
        send(s, kOpen);
        EXPECT_NE(scram(s, user, "secret").find("<success"), std::string::npos);
        EXPECT_NE(bind(s, resource).find("<jid>" + user + "@example.org/" + resource),
                  std::string::npos);
        return s;
    }

    std::filesystem::path dir_;
    std::unique_ptr<store::Store> store_;
    manual::Loop loop_;
    std::unique_ptr<manual::Store> manual_;
    std::unique_ptr<xmpp::Credentials> credentials_;
    xmpp::Router router_;
    FakeService chat_;
    xmpp::ServerStats stats_;
    xmpp::direct::Blocklists blocklists_;
    xmpp::Resumption resumption_{std::chrono::seconds(60)};
    chat::Directory directory_;
    std::unique_ptr<xmpp::ServerContext> ctx_;
    std::deque<Stream> streams_;
};

}  // namespace

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

// XEP-0160: a message to a user who is offline waits for them, and comes with their first
// presence, stamped with when it was sent; it is in both parties' archives (XEP-0313).
TEST_F(SessionTest, MessagesToAnOfflineUserWaitForTheirFirstPresence) {
    auto& alice = bound("alice", "pc");
    EXPECT_EQ(send(alice,
                   "<message to='bob@example.org' type='chat' id='m1'><body>first</body>"
                   "</message>"),
              "");
    send(alice, "<message to='bob@example.org/phone' type='chat'><body>second</body></message>");
    // Chat states and other content-free messages are not kept: the sender hears so.
    EXPECT_NE(send(alice,
                   "<message to='bob@example.org' type='chat'><gone "
                   "xmlns='http://jabber.org/protocol/chatstates'/></message>")
                  .find("The recipient is offline"),
              std::string::npos);
    // Nor is a message with a no-store hint.
    send(alice,
         "<message to='bob@example.org' type='chat'><body>secret</body><no-store "
         "xmlns='urn:xmpp:hints'/></message>");
    // Nobody of that name: refused, not kept.
    EXPECT_NE(send(alice, "<message to='nobody@example.org'><body>x</body></message>")
                  .find("No such user"),
              std::string::npos);

    auto& bob = bound("bob", "phone");
    EXPECT_EQ(bob.transport->take(), "");  // bound, but nothing until the first presence
    auto out = send(bob, "<presence/>");
    auto first = out.find("first"), second = out.find("second");
    ASSERT_NE(first, std::string::npos) << out;
    ASSERT_NE(second, std::string::npos) << out;
    EXPECT_LT(first, second);
    EXPECT_EQ(out.find("secret"), std::string::npos);
    EXPECT_NE(out.find("<delay xmlns='urn:xmpp:delay' from='example.org' stamp='"),
              std::string::npos);
    EXPECT_NE(out.find("<stanza-id xmlns='urn:xmpp:sid:0' id='"), std::string::npos);
    EXPECT_EQ(send(bob, "<presence/>"), "");  // delivered once
    auto& later = bound("bob", "tablet");
    EXPECT_EQ(send(later, "<presence/>").find("first"), std::string::npos);

    // Both archives hold the two kept messages; the recipient's says who sent them.
    out = send(bob, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2' queryid='a'/></iq>");
    EXPECT_NE(out.find("<result xmlns='urn:xmpp:mam:2' queryid='a'"), std::string::npos) << out;
    EXPECT_NE(out.find("from='alice@example.org/pc'"), std::string::npos);
    EXPECT_NE(out.find("<count exact='true'>2</count>"), std::string::npos) << out;
    out = send(alice,
               "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>"
               "<field var='with'><value>bob@example.org</value></field></x></query></iq>");
    EXPECT_NE(out.find("<count exact='true'>2</count>"), std::string::npos) << out;
    out = send(alice,
               "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='with'><value>carl@example.org</value></field></x>"
               "</query></iq>");
    EXPECT_NE(out.find("<count exact='true'>0</count>"), std::string::npos) << out;
}

// XEP-0313 section 6: a user who archives nothing keeps no copy; the other party still does.
TEST_F(SessionTest, ArchivingPreferencesDecideWhatGoesIntoAUsersArchive) {
    auto& alice = bound("alice", "pc");
    auto& bob = bound("bob", "pc");
    auto out = send(bob,
                    "<iq type='set' id='p'><prefs xmlns='urn:xmpp:mam:2' default='never'>"
                    "<always><jid>carl@example.org</jid></always></prefs></iq>");
    EXPECT_NE(out.find("default='never'"), std::string::npos) << out;
    EXPECT_NE(out.find("<jid>carl@example.org</jid>"), std::string::npos) << out;
    send(alice, "<message to='bob@example.org' type='chat'><body>hello</body></message>");
    EXPECT_NE(bob.transport->take().find("hello"), std::string::npos);
    out = send(bob, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("<count exact='true'>0</count>"), std::string::npos) << out;
    out = send(alice, "<iq type='set' id='q'><query xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("<count exact='true'>1</count>"), std::string::npos) << out;
    out = send(bob, "<iq type='get' id='g'><prefs xmlns='urn:xmpp:mam:2'/></iq>");
    EXPECT_NE(out.find("default='never'"), std::string::npos) << out;
    // Words are not searched in a user's archive: said so, not silently ignored.
    out = send(alice,
               "<iq type='set' id='w'><query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data' "
               "type='submit'><field var='{urn:xmpp:fulltext:0}fulltext'><value>hello"
               "</value></field></x></query></iq>");
    EXPECT_NE(out.find("<feature-not-implemented"), std::string::npos) << out;
}

// XEP-0280: a resource that enabled carbons sees what its user's other resources send and
// receive; a message marked private is not copied.
TEST_F(SessionTest, CarbonsCopyConversationsToTheUsersOtherResources) {
    auto& pc = bound("alice", "pc");
    auto& phone = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    EXPECT_NE(send(phone, "<iq type='set' id='c'><enable xmlns='urn:xmpp:carbons:2'/></iq>")
                  .find("type='result'"),
              std::string::npos);
    send(pc, "<message to='bob@example.org/pc' type='chat' id='x'><body>out</body></message>");
    auto copy = phone.transport->take();
    EXPECT_NE(copy.find("<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"),
              std::string::npos)
        << copy;
    EXPECT_NE(copy.find("from='alice@example.org' to='alice@example.org/phone'"),
              std::string::npos);
    EXPECT_NE(copy.find("<body>out</body>"), std::string::npos);
    EXPECT_NE(bob.transport->take().find("out"), std::string::npos);

    send(bob, "<message to='alice@example.org/pc' type='chat'><body>back</body></message>");
    EXPECT_NE(pc.transport->take().find("back"), std::string::npos);
    copy = phone.transport->take();
    EXPECT_NE(copy.find("<received xmlns='urn:xmpp:carbons:2'>"), std::string::npos) << copy;

    send(bob,
         "<message to='alice@example.org/pc' type='chat'><body>psst</body><private "
         "xmlns='urn:xmpp:carbons:2'/></message>");
    EXPECT_EQ(phone.transport->take(), "");
    send(phone, "<iq type='set' id='d'><disable xmlns='urn:xmpp:carbons:2'/></iq>");
    phone.transport->take();
    send(pc, "<message to='bob@example.org/pc' type='chat'><body>again</body></message>");
    EXPECT_EQ(phone.transport->take(), "");
    // The pc has no carbons: it saw none of the phone's copies.
    EXPECT_EQ(pc.transport->take(), "");
}

// XEP-0191: nothing passes between a user and an address they block, either way; the list is
// shown, pushed to the user's resources, and lifted.
TEST_F(SessionTest, BlockedAddressesNeitherReachNorHearFromTheBlocker) {
    auto& alice = bound("alice", "pc");
    auto& other = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    auto out = send(alice,
                    "<iq type='set' id='b'><block xmlns='urn:xmpp:blocking'><item "
                    "jid='bob@example.org'/></block></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    EXPECT_NE(out.find("<block xmlns='urn:xmpp:blocking'>"), std::string::npos);  // the push
    EXPECT_NE(other.transport->take().find("<block xmlns='urn:xmpp:blocking'>"), std::string::npos);
    EXPECT_NE(send(alice, "<iq type='get' id='l'><blocklist xmlns='urn:xmpp:blocking'/></iq>")
                  .find("<item jid='bob@example.org'/>"),
              std::string::npos);

    out = send(bob, "<message to='alice@example.org' type='chat'><body>let me in</body></message>");
    EXPECT_NE(out.find("<service-unavailable"), std::string::npos) << out;
    EXPECT_EQ(alice.transport->take(), "");
    send(bob, "<presence to='alice@example.org'/>");
    EXPECT_EQ(alice.transport->take(), "");
    out = send(alice, "<message to='bob@example.org/pc'><body>hi</body></message>");
    EXPECT_NE(out.find("<blocked xmlns='urn:xmpp:blocking:errors'/>"), std::string::npos) << out;
    EXPECT_EQ(bob.transport->take(), "");
    // Blocked offline too: nothing waits for alice from bob.
    alice.session->closed();
    other.session->closed();
    send(bob, "<message to='alice@example.org' type='chat'><body>later</body></message>");
    auto& back = bound("alice", "pc2");
    EXPECT_EQ(send(back, "<presence/>").find("later"), std::string::npos);

    send(back, "<iq type='set' id='u'><unblock xmlns='urn:xmpp:blocking'/></iq>");
    EXPECT_TRUE(blocklists_.of("alice").empty());
    send(bob, "<message to='alice@example.org' type='chat'><body>now</body></message>");
    EXPECT_NE(back.transport->take().find("now"), std::string::npos);
    EXPECT_NE(send(back, "<iq type='set' id='e'><block xmlns='urn:xmpp:blocking'/></iq>")
                  .find("<bad-request"),
              std::string::npos);
    // The lists live in memory: each holds at most 1000 addresses.
    std::vector<std::string> many;
    for (int i = 0; i < 1000; ++i) many.push_back("spam" + std::to_string(i) + ".example");
    blocklists_.add("alice", many);
    EXPECT_NE(send(back,
                   "<iq type='set' id='m'><block xmlns='urn:xmpp:blocking'><item "
                   "jid='one-more.example'/></block></iq>")
                  .find("at most 1000"),
              std::string::npos);
    EXPECT_EQ(blocklists_.of("alice").size(), 1000u);
}

// XEP-0054: a user's card is theirs to set and everyone's to read; before they set one it
// shows their account's name. A photo in it is their PEP avatar too (XEP-0084), and a PEP
// avatar published by a client becomes the card's photo.
TEST_F(SessionTest, VcardsAndAvatarsStayInStep) {
    auto& alice = bound("alice", "pc");
    auto& bob = bound("bob", "pc");
    auto out = send(bob,
                    "<iq type='get' id='v' to='alice@example.org'><vCard xmlns='vcard-temp'/>"
                    "</iq>");
    EXPECT_NE(out.find("from='alice@example.org'"), std::string::npos) << out;
    EXPECT_NE(out.find("<NICKNAME>alice</NICKNAME>"), std::string::npos) << out;
    EXPECT_NE(send(bob,
                   "<iq type='set' id='s' to='alice@example.org'><vCard "
                   "xmlns='vcard-temp'><FN>Mallory</FN></vCard></iq>")
                  .find("<forbidden"),
              std::string::npos);
    EXPECT_NE(send(bob,
                   "<iq type='get' id='n' to='nobody@example.org'><vCard "
                   "xmlns='vcard-temp'/></iq>")
                  .find("<service-unavailable"),
              std::string::npos);

    // "hello" in base64, folded as vCards fold it; its SHA-1 names the avatar.
    out = send(alice,
               "<iq type='set' id='s'><vCard xmlns='vcard-temp'><FN>Alice A.</FN><PHOTO>"
               "<TYPE>image/png</TYPE><BINVAL>aGVs\nbG8=</BINVAL></PHOTO></vCard></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    EXPECT_NE(out.find("<info bytes='5' id='aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d' "
                       "type='image/png'/>"),
              std::string::npos)
        << out;  // the user's resources hear of the new avatar
    out = send(bob,
               "<iq type='get' id='v' to='alice@example.org'><vCard xmlns='vcard-temp'/>"
               "</iq>");
    EXPECT_NE(out.find("<FN>Alice A.</FN>"), std::string::npos) << out;
    out = send(bob,
               "<iq type='get' id='a' to='alice@example.org'><pubsub "
               "xmlns='http://jabber.org/protocol/pubsub'><items "
               "node='urn:xmpp:avatar:data'/></pubsub></iq>");
    EXPECT_NE(out.find("<data xmlns='urn:xmpp:avatar:data'>aGVsbG8=</data>"), std::string::npos)
        << out;
    EXPECT_NE(send(bob,
                   "<iq type='get' id='b' to='alice@example.org'><pubsub "
                   "xmlns='http://jabber.org/protocol/pubsub'><items "
                   "node='urn:xmpp:bookmarks:1'/></pubsub></iq>")
                  .find("<forbidden"),
              std::string::npos);

    // The other way: bob's client publishes a PEP avatar ("bye"), his card follows.
    send(bob,
         "<iq type='set' id='d'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
         "node='urn:xmpp:avatar:data'><item id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61'>"
         "<data xmlns='urn:xmpp:avatar:data'>Ynll</data></item></publish></pubsub></iq>");
    send(bob,
         "<iq type='set' id='m'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish "
         "node='urn:xmpp:avatar:metadata'><item id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61'>"
         "<metadata xmlns='urn:xmpp:avatar:metadata'><info bytes='3' "
         "id='78c9a53e2f28b543ea62c8266acfdf36d5c63e61' type='image/jpeg'/></metadata>"
         "</item></publish></pubsub></iq>");
    out =
        send(alice, "<iq type='get' id='v' to='bob@example.org'><vCard xmlns='vcard-temp'/></iq>");
    EXPECT_NE(out.find("<PHOTO><TYPE>image/jpeg</TYPE><BINVAL>Ynll</BINVAL></PHOTO>"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("<NICKNAME>bob</NICKNAME>"), std::string::npos);
}

// XEP-0352: while the client says it is inactive, presence and messages without a body wait
// (a newer presence from the same address replacing the older); a message with a body lets
// them out first, in order; being active again lets them out; the waiting is bounded.
TEST_F(SessionTest, AnInactiveClientGetsWhatCanWaitWithTheNextThingThatCannot) {
    auto& t = open();
    send(t, kOpen);
    scram(t, "alice", "secret");
    EXPECT_NE(send(t, kOpen).find("<csi xmlns='urn:xmpp:csi:0'/>"), std::string::npos);

    auto& alice = bound("alice", "phone");
    auto& bob = bound("bob", "pc");
    EXPECT_EQ(send(alice, "<inactive xmlns='urn:xmpp:csi:0'/>"), "");
    send(bob, "<presence to='alice@example.org'><status>one</status></presence>");
    send(bob, "<presence to='alice@example.org'><status>two</status></presence>");
    send(bob,
         "<message to='alice@example.org' type='chat'><composing "
         "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_EQ(alice.transport->take(), "");
    send(bob, "<message to='alice@example.org' type='chat'><body>wake up</body></message>");
    auto out = alice.transport->take();
    EXPECT_EQ(out.find("<status>one"), std::string::npos) << out;  // replaced by the newer one
    auto two = out.find("<status>two</status>"), typing = out.find("composing"),
         body = out.find("wake up");
    ASSERT_NE(two, std::string::npos) << out;
    EXPECT_LT(two, typing);
    EXPECT_LT(typing, body);

    send(bob, "<presence to='alice@example.org'><status>three</status></presence>");
    EXPECT_EQ(alice.transport->take(), "");
    EXPECT_NE(send(alice, "<active xmlns='urn:xmpp:csi:0'/>").find("three"), std::string::npos);
    send(bob, "<presence to='alice@example.org'><status>four</status></presence>");
    EXPECT_NE(alice.transport->take().find("four"), std::string::npos);  // active: at once

    send(alice, "<inactive xmlns='urn:xmpp:csi:0'/>");
    for (int i = 0; i < 100; ++i)
        send(bob,
             "<message to='alice@example.org' type='chat'><paused "
             "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_EQ(alice.transport->take(), "");
    send(bob,
         "<message to='alice@example.org' type='chat'><gone "
         "xmlns='http://jabber.org/protocol/chatstates'/></message>");
    EXPECT_NE(alice.transport->take().find("gone"), std::string::npos);  // past 100: all go
    EXPECT_FALSE(alice.transport->closed);
}

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

// XEP-0402: the rooms a user belongs to are among their bookmarks the first time a client
// reads them, joining at sign-in, so that a client opens on them; a room taken out of the
// bookmarks stays out; a room the user joins later comes in at the next read.
TEST_F(SessionTest, TheRoomsAUserBelongsToAreAmongTheirBookmarks) {
    auto room = [](int64_t id, const std::string& node, const std::string& name) {
        store::Room r;
        r.id = id;
        r.node = node;
        r.name = name;
        r.category_id = 1;
        r.privacy = store::Privacy::closed;
        return r;
    };
    chat::RoomRules members;
    members.privacy = store::Privacy::closed;
    members.members = {store::Principal::user("alice")};
    directory_.put_room(room(1, "budget", "Budget"), members);
    directory_.put_room(room(2, "lobby", "Lobby"), chat::RoomRules{});  // open, not a member's
    auto& alice = bound("alice", "pc");
    const std::string items =
        "<iq type='get' id='i'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items "
        "node='urn:xmpp:bookmarks:1'/></pubsub></iq>";
    auto out = send(alice, items);
    EXPECT_NE(out.find("<item id='budget@chat.example.org'><conference "
                       "xmlns='urn:xmpp:bookmarks:1' name='Budget' autojoin='true'><nick>alice"),
              std::string::npos)
        << out;
    EXPECT_EQ(out.find("lobby@"), std::string::npos);
    auto legacy = send(alice,
                       "<iq type='get' id='l'><pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                       "<items node='storage:bookmarks'/></pubsub></iq>");
    EXPECT_NE(legacy.find("jid='budget@chat.example.org'"), std::string::npos) << legacy;

    send(
        alice,
        "<iq type='set' id='r'><pubsub xmlns='http://jabber.org/protocol/pubsub'><retract "
        "node='urn:xmpp:bookmarks:1'><item id='budget@chat.example.org'/></retract></pubsub></iq>");
    EXPECT_EQ(send(alice, items).find("budget@"), std::string::npos);  // stays out

    members.members.push_back(store::Principal::user("bob"));
    auto board = members;
    directory_.put_room(room(3, "board", "Board"), board);
    out = send(alice, items);
    EXPECT_NE(out.find("board@chat.example.org"), std::string::npos) << out;
    EXPECT_EQ(out.find("budget@"), std::string::npos);
    // Bob's own first read: the room he belongs to, not alice's.
    out = send(bound("bob", "pc"), items);
    EXPECT_EQ(out.find("budget@chat.example.org"), std::string::npos);
    EXPECT_NE(out.find("board@chat.example.org"), std::string::npos);
}

// XEP-0357: a client registers an app server (an account of this server: Perch does not
// federate); a message that reaches nobody connected — the user offline, or every session
// waiting to be resumed — is announced to it, without the text; disabled, nothing more.
TEST_F(SessionTest, PushNotificationsGoToTheAppServerWhenNobodyIsConnected) {
    store::User dave;
    dave.username = "dave";
    xmpp::Credentials::set_password(dave, "secret", 64);
    store_->add_user(dave);
    auto& phone = bound("alice", "phone");
    auto& app = bound("bob", "pushbot");
    auto out = send(phone,
                    "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                    "jid='bob@example.org' node='n1'><x xmlns='jabber:x:data' type='submit'>"
                    "<field var='FORM_TYPE'><value>http://jabber.org/protocol/"
                    "pubsub#publish-options</value></field><field var='secret'><value>s3cret"
                    "</value></field></x></enable></iq>");
    EXPECT_NE(out.find("type='result'"), std::string::npos) << out;
    out = send(phone,
               "<iq type='set' id='f'><enable xmlns='urn:xmpp:push:0' "
               "jid='push.example.net' node='n2'/></iq>");
    EXPECT_NE(out.find("<remote-server-not-found"), std::string::npos) << out;
    send(phone, "<presence/>");
    phone.transport->closed = true;
    phone.session->closed();  // no stream management: offline
    loop_.drain();

    auto& sender = bound("dave", "pc");
    send(sender,
         "<message to='alice@example.org' type='chat'><body>private words</body></message>");
    out = app.transport->take();
    EXPECT_NE(out.find("<publish node='n1'><item><notification xmlns='urn:xmpp:push:0'>"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("<value>urn:xmpp:push:summary</value>"), std::string::npos);
    EXPECT_NE(out.find("<field var='message-count'><value>1</value>"), std::string::npos);
    EXPECT_NE(out.find("<field var='last-message-sender'><value>dave@example.org</value>"),
              std::string::npos);
    EXPECT_NE(out.find("<publish-options><x xmlns='jabber:x:data' type='submit'>"),
              std::string::npos);
    EXPECT_NE(out.find("s3cret"), std::string::npos);
    EXPECT_NE(out.find("from='alice@example.org'"), std::string::npos);
    EXPECT_EQ(out.find("private words"), std::string::npos);

    // A session waiting to be resumed: announced too; a connected one: not.
    auto& again = bound("alice", "phone");
    send(again, "<presence/>");
    send(again, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
    send(sender, "<message to='alice@example.org' type='chat'><body>seen</body></message>");
    EXPECT_EQ(app.transport->take(), "");
    again.transport->closed = true;
    again.session->closed();
    send(sender, "<message to='alice@example.org' type='chat'><body>asleep</body></message>");
    EXPECT_NE(app.transport->take().find("<publish node='n1'>"), std::string::npos);

    auto& desk = bound("alice", "desk");
    send(desk,
         "<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='bob@example.org'/></iq>");
    desk.transport->closed = true;
    desk.session->closed();
    send(sender, "<message to='alice@example.org' type='chat'><body>quiet</body></message>");
    EXPECT_EQ(app.transport->take(), "");
}
