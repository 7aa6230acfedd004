#pragma once
// A client stream without sockets: Session against a fake transport, its store work on a
// manual loop (tests/manual_runtime.hpp). Transcripts: the client sends, the server answers.
// Shared by session_test.cpp (negotiation and the stream), session_im_test.cpp (what a bound
// session does between users) and session_resumption_test.cpp (Stream Management).
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
