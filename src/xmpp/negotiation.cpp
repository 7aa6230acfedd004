// Stream negotiation: features, STARTTLS, SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN over TLS)
// and resource binding.
#include <spdlog/spdlog.h>

#include <utility>

#include "util/base64.hpp"
#include "util/ids.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/session.hpp"

namespace perch::xmpp {

namespace {
constexpr int kMaxAuthFailures = 3;
}  // namespace

Negotiation::Negotiation(Session& session) : session_(session) {}

std::string& Negotiation::username() const {
    return session_.username_;
}
std::shared_ptr<const chat::Subject>& Negotiation::subject() const {
    return session_.subject_;
}
Negotiation::~Negotiation() = default;

void Negotiation::enter(State state) {
    state_ = state;
    since_ = std::chrono::steady_clock::now();
}

std::string_view Negotiation::stage() const {
    switch (state_) {
        case State::auth_pending:
            return "for the store (the account's credentials, or the record of its sign-in)";
        case State::authenticated:
            return "for the client to bind a resource";
        case State::open:
            break;
    }
    if (scram_) return "for the client's SCRAM proof";
    return auth_allowed() ? "for the client to authenticate" : "for the client's STARTTLS";
}

bool Negotiation::auth_allowed() const {
    return session_.secure_ || !session_.ctx_.tls_required || session_.transport_.loopback();
}

void Negotiation::send_features() {
    auto& transport = session_.transport_;
    xml::Element f("features", std::string(ns::stream));
    if (state_ != State::authenticated) {
        if (!session_.secure_ && transport.can_start_tls()) {
            auto& tls = f.add_child("starttls", std::string(ns::tls));
            if (!auth_allowed()) tls.add_child("required", std::string(ns::tls));
        }
        if (auth_allowed()) {
            auto& mechs = f.add_child("mechanisms", std::string(ns::sasl));
            mechs.add_child("mechanism", std::string(ns::sasl)).add_text("SCRAM-SHA-256");
            mechs.add_child("mechanism", std::string(ns::sasl)).add_text("SCRAM-SHA-1");
            if (session_.secure_)
                mechs.add_child("mechanism", std::string(ns::sasl)).add_text("PLAIN");
        }
    } else {
        f.add_child("bind", std::string(ns::bind));
        f.add_child("session", std::string(ns::session))
            .add_child("optional", std::string(ns::session));
        f.add_child("csi", std::string(ns::csi));
        f.add_child("sm", std::string(ns::sm));
    }
    std::string out = "<stream:features";
    if (session_.websocket()) out += " xmlns:stream='http://etherx.jabber.org/streams'";
    out += '>';
    for (const auto& c : f.children()) xml::serialize(out, c, "");
    out += "</stream:features>";
    session_.send_raw(std::move(out));
}

void Negotiation::on_element(const xml::Element& e) {
    switch (state_) {
        case State::auth_pending:
            return session_.stream_error("policy-violation", "wait for the SASL answer");
        case State::authenticated:
            if (e.is("iq", ns::client) && e.attr_or("type") == "set" && e.child("bind", ns::bind))
                return on_bind(e);
            // XEP-0198: a session resumed instead of a resource bound; acknowledgements
            // are enabled once bound.
            if (e.is("resume", ns::sm)) return session_.on_resume(e);
            if (e.is("enable", ns::sm))
                return session_.send_raw(
                    "<failed xmlns='urn:xmpp:sm:3'><unexpected-request "
                    "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>");
            return session_.stream_error("not-authorized", "bind a resource first");
        case State::open:
            break;
    }
    if (e.is("starttls", ns::tls)) return on_starttls();
    if (e.is("auth", ns::sasl)) return on_auth(e);
    if (e.is("response", ns::sasl)) return on_sasl_response(e);
    if (e.is("abort", ns::sasl)) {
        scram_.reset();
        return sasl_failure("aborted");
    }
    session_.stream_error("not-authorized", "authenticate first");
}

void Negotiation::on_starttls() {
    auto& transport = session_.transport_;
    if (session_.secure_ || !transport.can_start_tls()) {
        session_.send_raw("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
        session_.finish();
        return transport.close();
    }
    session_.send_raw("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    transport.start_tls();
    session_.secure_ = true;
    session_.parser_.reset();
}

void Negotiation::sasl_failure(std::string_view condition, std::string_view text) {
    std::string out =
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + std::string(condition) + "/>";
    if (!text.empty()) {
        out += "<text>";
        xml::escape_text(out, text);
        out += "</text>";
    }
    out += "</failure>";
    session_.send_raw(std::move(out));
    enter(State::open);
    scram_.reset();
    subject().reset();
    disabled_ = false;
    if (condition == "not-authorized") {
        // A failed password, for the guard, only where it let an attempt through (a name that
        // cannot be prepared was never one).
        if (std::exchange(ticket_, {}).charge)
            session_.ctx_.credentials.guard().failed(username(), session_.transport_.peer(),
                                                     LoginChannel::xmpp);
        if (++failed_auth_ >= kMaxAuthFailures)
            session_.stream_error("policy-violation", "too many failed logins");
    }
}

bool Negotiation::admitted(const std::string& user) {
    auto admission = session_.ctx_.credentials.guard().admit(user, session_.transport_.peer(),
                                                             LoginChannel::xmpp);
    ticket_ = admission.ticket;
    if (admission.allowed) return true;
    sasl_failure("temporary-auth-failure", LoginGuard::refusal_text(admission.retry_after));
    return false;
}

void Negotiation::on_auth(const xml::Element& e) {
    if (!auth_allowed())
        return session_.stream_error("policy-violation", "use STARTTLS before authenticating");
    std::string mech = e.attr_or("mechanism");
    std::string text = e.text();
    std::optional<std::string> initial =
        text == "=" ? std::optional<std::string>("") : util::base64_decode(text);
    if (!initial) return sasl_failure("incorrect-encoding");
    const std::string& domain = session_.ctx_.domain;
    if (mech == "SCRAM-SHA-256" || mech == "SCRAM-SHA-1") {
        bool sha256 = mech == "SCRAM-SHA-256";
        scram_ =
            session_.ctx_.credentials.scram_server(sha256 ? util::Hash::sha256 : util::Hash::sha1);
        auto user = scram_->read_client_first(*initial);
        if (!user) return sasl_failure("malformed-request");
        if (!scram_->authzid().empty() && scram_->authzid() != *user &&
            scram_->authzid() != *user + "@" + domain)
            return sasl_failure("invalid-authzid");
        auto node = nodeprep(*user);
        if (!node) return sasl_failure("not-authorized");
        if (!admitted(*node)) return;
        username() = *node;
        enter(State::auth_pending);
        // The lookup answers on a store thread; the answer comes back to this session's
        // executor through the poster, and only while the connection exists.
        session_.ctx_.credentials.lookup(
            username(),
            [this, sha256, post = session_.transport_.poster()](std::optional<UserCredentials> c) {
                post([this, sha256, c = std::move(c)] {
                    if (state_ != State::auth_pending || !scram_) return;
                    enter(State::open);
                    subject() = c ? c->subject : nullptr;  // used only if the proof is right
                    // A disabled account is told so only to who proves its password.
                    disabled_ = c && c->disabled;
                    std::optional<ScramCredential> cred;
                    if (c) cred = sha256 ? c->sha256 : c->sha1;
                    std::string challenge = scram_->server_first(cred);
                    session_.send_raw("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                                      util::base64_encode(challenge) + "</challenge>");
                });
            });
        return;
    }
    if (mech == "PLAIN" && session_.secure_) {
        // authzid NUL authcid NUL password
        auto first = initial->find('\0');
        auto second = first == std::string::npos ? first : initial->find('\0', first + 1);
        if (second == std::string::npos) return sasl_failure("malformed-request");
        std::string authzid = initial->substr(0, first);
        auto node = nodeprep(initial->substr(first + 1, second - first - 1));
        std::string password = initial->substr(second + 1);
        if (!node) return sasl_failure("not-authorized");
        if (!authzid.empty() && authzid != *node && authzid != *node + "@" + domain)
            return sasl_failure("invalid-authzid");
        if (!admitted(*node)) return;
        username() = *node;
        enter(State::auth_pending);
        session_.ctx_.credentials.lookup(
            username(), [this, password,
                         post = session_.transport_.poster()](std::optional<UserCredentials> c) {
                // The password check costs a PBKDF2 run: done here, on the store thread,
                // touching nothing of the session.
                enum {
                    wrong,
                    right,
                    disabled
                } verdict = !c                                                     ? wrong
                            : c->disabled                                          ? disabled
                            : (c->sha256 && c->sha256->matches_password(password)) ? right
                                                                                   : wrong;
                post([this, verdict, found = c ? c->subject : nullptr] {
                    if (state_ != State::auth_pending) return;
                    enter(State::open);
                    subject() = found;
                    if (verdict == wrong) return sasl_failure("not-authorized");
                    disabled_ = verdict == disabled;
                    sasl_success({});
                });
            });
        return;
    }
    sasl_failure("invalid-mechanism");
}

void Negotiation::on_sasl_response(const xml::Element& e) {
    if (!scram_) return sasl_failure("malformed-request");
    auto message = util::base64_decode(e.text());
    if (!message) return sasl_failure("incorrect-encoding");
    auto result = scram_->read_client_final(*message);
    if (result.step != ScramServer::Step::success)
        return sasl_failure(result.message == "malformed-request" ? "malformed-request"
                                                                  : "not-authorized");
    sasl_success(result.message);
}

void Negotiation::sasl_success(std::string_view additional) {
    auto& ctx = session_.ctx_;
    ctx.credentials.guard().succeeded(username(), session_.transport_.peer(),
                                      std::exchange(ticket_, {}));
    if (disabled_) return sasl_failure("account-disabled", "This account is disabled");
    if (!ctx.compliance) return complete_sasl(additional);
    // With compliance on, a sign-in is on record before the client is told it succeeded.
    enter(State::auth_pending);
    auto& transport = session_.transport_;
    auto signin = store::make_event(
        "SIGNIN", username(), {}, {},
        {{"from", transport.peer()}, {"transport", session_.websocket() ? "websocket" : "tcp"}});
    bool queued = ctx.jobs.submit([this, signin, username = username(), post = transport.poster(),
                                   additional = std::string(additional)](store::Store& s) {
        bool recorded = true;
        try {
            s.record({signin});
        } catch (const std::exception& e) {
            spdlog::error("sign-in of {} not recorded: {}", username, e.what());
            recorded = false;
        }
        post([this, recorded, additional] {
            if (state_ != State::auth_pending) return;
            enter(State::open);
            if (!recorded) return sasl_failure("temporary-auth-failure");
            complete_sasl(additional);
        });
    });
    if (!queued) sasl_failure("temporary-auth-failure");
}

void Negotiation::complete_sasl(std::string_view additional) {
    scram_.reset();
    enter(State::authenticated);
    session_.ctx_.stats.logins.fetch_add(1, std::memory_order_relaxed);
    std::string out = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
    if (!additional.empty()) out += util::base64_encode(additional);
    out += "</success>";
    session_.send_raw(std::move(out));
    spdlog::debug("{} authenticated from {}", username(), session_.transport_.peer());
    session_.restart_stream();
}

void Negotiation::on_bind(const xml::Element& iq) {
    const xml::Element* bind = iq.child("bind", ns::bind);
    std::string wanted = bind->child_text("resource", ns::bind);
    std::optional<std::string> resource;
    if (!wanted.empty()) {
        resource = resourceprep(wanted);
        if (!resource)
            return session_.send(make_error(iq, StanzaError::bad_request, "Invalid resource"));
    } else {
        resource = "perch-" + util::random_id().substr(0, 10);
    }
    Jid jid = Jid::make(username(), session_.ctx_.domain, *resource);
    session_.bind(jid);
    // The new session wins over one bound to the same address (RFC 6120 7.7.2.2).
    if (auto replaced = session_.ctx_.router.bind(session_.transport_.handle()))
        replaced->terminate("conflict", "Replaced by a new login with the same resource");
    auto reply = make_iq_result(iq);
    reply.remove_attr("from");
    reply.remove_attr("to");
    reply.add_child("bind", std::string(ns::bind))
        .add_child("jid", std::string(ns::bind))
        .add_text(jid.str());
    // Counted before the answer: a client that reads the metrics next finds its login there.
    session_.ctx_.stats.login_seconds.observe_since(session_.opened_);
    session_.send(reply);
    spdlog::debug("bound {}", jid.str());
}

}  // namespace perch::xmpp
