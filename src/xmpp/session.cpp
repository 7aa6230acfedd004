#include "xmpp/session.hpp"

#include <spdlog/spdlog.h>

#include "util/base64.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/url.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/server_features.hpp"

namespace perch::xmpp {

namespace {
constexpr int kMaxAuthFailures = 3;

std::string_view stream_condition(xml::ParseError e) {
    switch (e) {
        case xml::ParseError::restricted_xml:
            return "restricted-xml";
        case xml::ParseError::too_large:
        case xml::ParseError::too_deep:
            return "policy-violation";
        default:
            return "not-well-formed";
    }
}
}  // namespace

Session::Session(ServerContext& ctx, Transport& transport)
    : ctx_(ctx), transport_(transport), parser_(*this, ctx.limits), secure_(transport.secure()) {}

Session::~Session() = default;

bool Session::feed(std::string_view bytes) {
    if (state_ == State::closed) return false;
    if (!parser_.feed(bytes) && state_ != State::closed) {
        if (state_ == State::start) send_stream_open();
        stream_error(stream_condition(parser_.error()), parser_.error_text());
    }
    // Most connections are idle most of the time: they keep no parser between stanzas.
    if (state_ != State::closed) parser_.release_if_idle();
    return state_ != State::closed;
}

void Session::send(const xml::Element& e) {
    transport_.send(Outgoing::element(e));
}

void Session::send_stream_open() {
    stream_id_ = util::random_id();
    std::string out;
    if (transport_.framing() == Transport::Framing::websocket) {
        out = "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='";
        xml::escape_attr(out, ctx_.domain);
        out += "' id='" + stream_id_ + "' version='1.0' xml:lang='en'/>";
    } else {
        out =
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' from='";
        xml::escape_attr(out, ctx_.domain);
        out += "' id='" + stream_id_ + "' version='1.0' xml:lang='en'>";
    }
    transport_.send(Outgoing::raw(std::move(out)));
}

void Session::stream_error(std::string_view condition, std::string_view text) {
    if (state_ == State::closed) return;
    ctx_.stats.stream_errors.fetch_add(1, std::memory_order_relaxed);
    spdlog::info("stream error {} for {} ({}): {}", condition,
                 jid_.empty() ? transport_.peer() : jid_.str(), transport_.peer(),
                 text.empty() ? "-" : text);
    std::string out = "<stream:error";
    if (transport_.framing() == Transport::Framing::websocket)
        out += " xmlns:stream='http://etherx.jabber.org/streams'";
    out += "><" + std::string(condition) + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>";
    if (!text.empty()) {
        out += "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>";
        xml::escape_text(out, text);
        out += "</text>";
    }
    out += "</stream:error>";
    out += transport_.framing() == Transport::Framing::websocket
               ? "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
               : "</stream:stream>";
    transport_.send(Outgoing::raw(std::move(out)));
    finish();
    transport_.close();
}

void Session::closed() {
    finish();
}

void Session::finish() {
    if (state_ == State::closed) return;
    bool was_bound = state_ == State::bound;
    state_ = State::closed;
    if (!was_bound) return;
    ctx_.router.unbind(*transport_.handle());
    ctx_.muc.session_gone(jid_);
    if (ctx_.muc.config().compliance) {
        auto signout = store::make_event("SIGNOUT", username_, {}, {}, {{"jid", jid_.str()}});
        ctx_.workers.submit([signout](store::Store& s) { s.record({signout}); });
    }
    if (available_) {
        auto p = make_stanza("presence", jid_.str(), {}, "unavailable");
        auto prepared = PreparedStanza::from(p);
        for (auto& r : ctx_.router.resources(jid_.bare()))
            r->deliver(Outgoing::addressed(prepared, r->jid().str()));
    }
    spdlog::debug("session {} ended", jid_.str());
}

// Stream negotiation ------------------------------------------------------------------------

void Session::on_stream_open(const xml::Element& header) {
    if (transport_.framing() == Transport::Framing::websocket) return;  // synthetic root
    send_stream_open();
    if (!header.is("stream", ns::stream))
        return stream_error("invalid-namespace", "expected a stream:stream element");
    std::string to = header.attr_or("to");
    auto to_jid = Jid::parse(to);
    if (!to_jid || to_jid->str() != ctx_.domain)
        return stream_error("host-unknown", "this server serves " + ctx_.domain);
    if (header.attr_or("version") != "1.0") return stream_error("unsupported-version");
    if (state_ == State::start) state_ = State::negotiating;
    send_features();
}

void Session::on_stream_close() {
    if (state_ == State::closed) return;
    transport_.send(Outgoing::raw("</stream:stream>"));
    finish();
    transport_.close();
}

void Session::send_features() {
    xml::Element f("features", std::string(ns::stream));
    bool auth_allowed = secure_ || !ctx_.tls_required || transport_.loopback();
    if (!authenticated_) {
        if (!secure_ && transport_.can_start_tls()) {
            auto& tls = f.add_child("starttls", std::string(ns::tls));
            if (!auth_allowed) tls.add_child("required", std::string(ns::tls));
        }
        if (auth_allowed) {
            auto& mechs = f.add_child("mechanisms", std::string(ns::sasl));
            mechs.add_child("mechanism", std::string(ns::sasl)).add_text("SCRAM-SHA-256");
            mechs.add_child("mechanism", std::string(ns::sasl)).add_text("SCRAM-SHA-1");
            if (secure_) mechs.add_child("mechanism", std::string(ns::sasl)).add_text("PLAIN");
        }
    } else {
        f.add_child("bind", std::string(ns::bind));
        f.add_child("session", std::string(ns::session))
            .add_child("optional", std::string(ns::session));
    }
    std::string out = "<stream:features";
    if (transport_.framing() == Transport::Framing::websocket)
        out += " xmlns:stream='http://etherx.jabber.org/streams'";
    out += '>';
    for (const auto& c : f.children()) xml::serialize(out, c, "");
    out += "</stream:features>";
    transport_.send(Outgoing::raw(std::move(out)));
}

void Session::on_element(xml::Element&& e) {
    if (state_ == State::closed) return;
    if (transport_.framing() == Transport::Framing::websocket) {
        if (e.is("open", ns::framing)) {
            send_stream_open();
            if (e.attr_or("to") != ctx_.domain) return stream_error("host-unknown");
            if (state_ == State::start) state_ = State::negotiating;
            return send_features();
        }
        if (e.is("close", ns::framing)) {
            transport_.send(Outgoing::raw("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"));
            finish();
            return transport_.close();
        }
        if (state_ == State::start) return stream_error("not-authorized", "open the stream first");
    }
    switch (state_) {
        case State::start:
        case State::negotiating:
            return on_negotiation_element(e);
        case State::auth_pending:
            return stream_error("policy-violation", "wait for the SASL answer");
        case State::authenticated:
            if (e.is("iq", ns::client) && e.attr_or("type") == "set" && e.child("bind", ns::bind))
                return on_bind(e);
            return stream_error("not-authorized", "bind a resource first");
        case State::bound:
            return on_stanza(std::move(e));
        case State::closed:
            return;
    }
}

void Session::on_negotiation_element(const xml::Element& e) {
    if (e.is("starttls", ns::tls)) return on_starttls();
    if (e.is("auth", ns::sasl)) return on_auth(e);
    if (e.is("response", ns::sasl)) return on_sasl_response(e);
    if (e.is("abort", ns::sasl)) {
        scram_.reset();
        return sasl_failure("aborted");
    }
    stream_error("not-authorized", "authenticate first");
}

void Session::on_starttls() {
    if (secure_ || !transport_.can_start_tls()) {
        transport_.send(
            Outgoing::raw("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>"));
        finish();
        return transport_.close();
    }
    transport_.send(Outgoing::raw("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"));
    transport_.start_tls();
    secure_ = true;
    parser_.reset();
}

void Session::sasl_failure(std::string_view condition, std::string_view text) {
    std::string out =
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><" + std::string(condition) + "/>";
    if (!text.empty()) {
        out += "<text>";
        xml::escape_text(out, text);
        out += "</text>";
    }
    out += "</failure>";
    transport_.send(Outgoing::raw(std::move(out)));
    state_ = State::negotiating;
    scram_.reset();
    subject_.reset();
    if (condition == "not-authorized") {
        ctx_.stats.failed_logins.fetch_add(1, std::memory_order_relaxed);
        spdlog::info("authentication failed for '{}' from {}", username_, transport_.peer());
        if (++failed_auth_ >= kMaxAuthFailures)
            stream_error("policy-violation", "too many failed logins");
    }
}

void Session::on_auth(const xml::Element& e) {
    bool auth_allowed = secure_ || !ctx_.tls_required || transport_.loopback();
    if (!auth_allowed)
        return stream_error("policy-violation", "use STARTTLS before authenticating");
    std::string mech = e.attr_or("mechanism");
    std::string text = e.text();
    std::optional<std::string> initial =
        text == "=" ? std::optional<std::string>("") : util::base64_decode(text);
    if (!initial) return sasl_failure("incorrect-encoding");
    plain_ = false;
    if (mech == "SCRAM-SHA-256" || mech == "SCRAM-SHA-1") {
        scram_ = std::make_unique<ScramServer>(mech == "SCRAM-SHA-256" ? util::Hash::sha256
                                                                       : util::Hash::sha1);
        auto user = scram_->read_client_first(*initial);
        if (!user) return sasl_failure("malformed-request");
        if (!scram_->authzid().empty() && scram_->authzid() != *user &&
            scram_->authzid() != *user + "@" + ctx_.domain)
            return sasl_failure("invalid-authzid");
        auto node = nodeprep(*user);
        if (!node) return sasl_failure("not-authorized");
        username_ = *node;
        state_ = State::auth_pending;
        bool sha256 = mech == "SCRAM-SHA-256";
        ctx_.credentials.lookup(username_, [this, sha256, post = transport_.poster()](
                                               std::optional<UserCredentials> c) {
            post([this, sha256, c = std::move(c)] {
                if (state_ != State::auth_pending || !scram_) return;
                state_ = State::negotiating;
                subject_ = c ? c->subject : nullptr;  // used only if the proof is right
                if (c && c->disabled)
                    return sasl_failure("account-disabled", "This account is disabled");
                std::optional<ScramCredential> cred;
                if (c) cred = sha256 ? c->sha256 : c->sha1;
                std::string challenge = scram_->server_first(cred);
                transport_.send(
                    Outgoing::raw("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
                                  util::base64_encode(challenge) + "</challenge>"));
            });
        });
        return;
    }
    if (mech == "PLAIN" && secure_) {
        // authzid NUL authcid NUL password
        auto first = initial->find('\0');
        auto second = first == std::string::npos ? first : initial->find('\0', first + 1);
        if (second == std::string::npos) return sasl_failure("malformed-request");
        std::string authzid = initial->substr(0, first);
        auto node = nodeprep(initial->substr(first + 1, second - first - 1));
        std::string password = initial->substr(second + 1);
        if (!node) return sasl_failure("not-authorized");
        if (!authzid.empty() && authzid != *node && authzid != *node + "@" + ctx_.domain)
            return sasl_failure("invalid-authzid");
        username_ = *node;
        state_ = State::auth_pending;
        ctx_.credentials.lookup(username_, [this, password, post = transport_.poster()](
                                               std::optional<UserCredentials> c) {
            // The password check costs a PBKDF2 run: done here, on the store thread.
            int verdict = !c                                                     ? 0
                          : c->disabled                                          ? 2
                          : (c->sha256 && c->sha256->matches_password(password)) ? 1
                                                                                 : 0;
            post([this, verdict, subject = c ? c->subject : nullptr] {
                if (state_ != State::auth_pending) return;
                state_ = State::negotiating;
                subject_ = subject;
                if (verdict == 2)
                    return sasl_failure("account-disabled", "This account is disabled");
                if (verdict == 0) return sasl_failure("not-authorized");
                sasl_success(username_, {});
            });
        });
        return;
    }
    sasl_failure("invalid-mechanism");
}

void Session::on_sasl_response(const xml::Element& e) {
    if (!scram_) return sasl_failure("malformed-request");
    auto message = util::base64_decode(e.text());
    if (!message) return sasl_failure("incorrect-encoding");
    auto result = scram_->read_client_final(*message);
    if (result.step != ScramServer::Step::success)
        return sasl_failure(result.message == "malformed-request" ? "malformed-request"
                                                                  : "not-authorized");
    sasl_success(username_, result.message);
}

void Session::sasl_success(const std::string& username, std::string_view additional) {
    if (ctx_.muc.config().compliance) {
        // With compliance on, a sign-in is on record before the client is told it succeeded.
        state_ = State::auth_pending;
        auto signin = store::make_event(
            "SIGNIN", username, {}, {},
            {{"from", transport_.peer()},
             {"transport",
              transport_.framing() == Transport::Framing::websocket ? "websocket" : "tcp"}});
        bool queued = ctx_.workers.submit([this, signin, username, post = transport_.poster(),
                                           additional = std::string(additional)](store::Store& s) {
            bool recorded = true;
            try {
                s.record({signin});
            } catch (const std::exception& e) {
                spdlog::error("sign-in of {} not recorded: {}", username, e.what());
                recorded = false;
            }
            post([this, recorded, username, additional] {
                if (state_ != State::auth_pending) return;
                state_ = State::negotiating;
                if (!recorded) return sasl_failure("temporary-auth-failure");
                complete_sasl(username, additional);
            });
        });
        if (!queued) sasl_failure("temporary-auth-failure");
        return;
    }
    complete_sasl(username, additional);
}

void Session::complete_sasl(const std::string& username, std::string_view additional) {
    scram_.reset();
    authenticated_ = true;
    state_ = State::authenticated;
    ctx_.stats.logins.fetch_add(1, std::memory_order_relaxed);
    std::string out = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>";
    if (!additional.empty()) out += util::base64_encode(additional);
    out += "</success>";
    transport_.send(Outgoing::raw(std::move(out)));
    spdlog::debug("{} authenticated from {}", username, transport_.peer());
    if (transport_.framing() == Transport::Framing::tcp_stream) parser_.reset();
}

void Session::on_bind(const xml::Element& iq) {
    const xml::Element* bind = iq.child("bind", ns::bind);
    std::string wanted = bind->child_text("resource", ns::bind);
    std::optional<std::string> resource;
    if (!wanted.empty()) {
        resource = resourceprep(wanted);
        if (!resource) return send(make_error(iq, StanzaError::bad_request, "Invalid resource"));
    } else {
        resource = "perch-" + util::random_id().substr(0, 10);
    }
    jid_ = Jid::make(username_, ctx_.domain, *resource);
    if (auto replaced = ctx_.router.bind(transport_.handle()))
        replaced->terminate("conflict", "Replaced by a new login with the same resource");
    state_ = State::bound;
    auto reply = make_iq_result(iq);
    reply.remove_attr("from");
    reply.remove_attr("to");
    reply.add_child("bind", std::string(ns::bind))
        .add_child("jid", std::string(ns::bind))
        .add_text(jid_.str());
    send(reply);
    spdlog::debug("bound {}", jid_.str());
}

// Stanzas --------------------------------------------------------------------------------

void Session::on_stanza(xml::Element e) {
    if (e.ns() != ns::client ||
        (e.name() != "message" && e.name() != "presence" && e.name() != "iq"))
        return stream_error("unsupported-stanza-type", "<" + e.name() + "/> is not a stanza");
    if (const std::string* from = e.attr("from")) {
        auto f = Jid::parse(*from);
        if (!f || (*f != jid_ && *f != jid_.bare())) return stream_error("invalid-from");
    }
    e.set_attr("from", jid_.str());
    std::optional<Jid> to;
    if (const std::string* t = e.attr("to")) {
        to = Jid::parse(*t);
        if (!to) {
            if (e.attr_or("type") != "error") send(make_error(e, StanzaError::jid_malformed));
            return;
        }
    }
    if (e.name() == "presence") return on_presence(e, to);
    if (e.name() == "message") return on_message(e, to);

    std::string type = e.attr_or("type");
    if (type != "get" && type != "set" && type != "result" && type != "error")
        return send(make_error(e, StanzaError::bad_request));
    bool to_server = !to || to->str() == ctx_.domain || *to == jid_.bare();
    if (to_server) {
        if (type == "get" || type == "set") on_iq_to_server(e);
        return;
    }
    if (to->domain() == ctx_.muc.config().domain)
        return ctx_.muc.handle(std::move(e), jid_, *to, transport_.handle(), subject_);
    if (to->domain() != ctx_.domain) {
        if (type == "get" || type == "set")
            send(make_error(e, StanzaError::remote_server_not_found));
        return;
    }
    deliver_to_user(e, *to);
}

void Session::on_iq_to_server(const xml::Element& iq) {
    const xml::Element* q = iq.first_element();
    if (!q) return send(make_error(iq, StanzaError::bad_request));
    bool to_self = iq.attr("to") && *iq.attr("to") != ctx_.domain;
    if (q->is("query", ns::roster)) return on_roster(iq);
    if (q->is("session", ns::session)) return send(make_iq_result(iq));
    if (q->is("ping", ns::ping)) return send(make_iq_result(iq));
    if (q->is("pubsub", ns::pubsub)) return on_pubsub(iq, *q);
    if (q->is("query", ns::private_storage)) return on_private(iq, *q);
    if (q->is("request", ns::upload) && !to_self) return on_upload_request(iq, *q);
    if (!to_self) {
        if (auto answer = answer_server_iq(iq, ctx_.domain, ctx_.muc.config().domain, ctx_.version,
                                           ctx_.uploads ? ctx_.uploads->max_bytes() : 0))
            return send(*answer);
    } else if (auto answer = answer_account_iq(iq)) {
        return send(*answer);
    }
    send(make_error(iq, StanzaError::service_unavailable));
}

void Session::on_upload_request(const xml::Element& iq, const xml::Element& request) {
    if (!ctx_.uploads) return send(make_error(iq, StanzaError::service_unavailable));
    if (iq.attr_or("type") != "get") return send(make_error(iq, StanzaError::bad_request));
    uint64_t size = 0;
    try {
        size_t used = 0;
        std::string text = request.attr_or("size");
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
            throw std::invalid_argument(text);
        size = std::stoull(text, &used);
    } catch (...) {
        return send(make_error(iq, StanzaError::bad_request, "The size must be a number"));
    }
    auto issued = ctx_.uploads->issue(username_, request.attr_or("filename"), size,
                                      request.attr_or("content-type"), util::now_us());
    if (auto* refused = std::get_if<chat::SlotRefusal>(&issued)) {
        if (refused->why == chat::SlotRefusal::Why::bad_request)
            return send(make_error(iq, StanzaError::bad_request, refused->text));
        auto err = make_error(iq, StanzaError::not_acceptable, refused->text);
        if (auto* e = err.child("error", ns::client))
            e->add_child("file-too-large", std::string(ns::upload))
                .add_child("max-file-size", std::string(ns::upload))
                .add_text(std::to_string(ctx_.uploads->max_bytes()));
        return send(err);
    }
    const auto& slot = std::get<chat::UploadSlot>(issued);
    spdlog::info("{} may upload {} ({} bytes)", username_, slot.name, slot.size);
    auto reply = make_iq_result(iq);
    reply.remove_attr("to");
    reply.set_attr("from", ctx_.domain);
    auto& s = reply.add_child("slot", std::string(ns::upload));
    std::string name = slot.name;
    s.add_child("put", std::string(ns::upload))
        .set_attr("url",
                  ctx_.public_url + "/upload/" + slot.token + "/" + util::url_path_segment(name));
    s.add_child("get", std::string(ns::upload))
        .set_attr("url",
                  ctx_.public_url + "/files/" + slot.file_id + "/" + util::url_path_segment(name));
    send(reply);
}

void Session::on_roster(const xml::Element& iq) {
    std::string type = iq.attr_or("type");
    std::string user = username_;
    if (type == "get") {
        bool queued =
            ctx_.workers.submit([this, post = transport_.poster(), user, iq](store::Store& s) {
                auto items = s.roster(user);
                post([this, iq, items = std::move(items)] {
                    auto reply = make_iq_result(iq);
                    reply.remove_attr("to");
                    auto& q = reply.add_child("query", std::string(ns::roster));
                    for (const auto& it : items) {
                        auto& item = q.add_child("item", std::string(ns::roster));
                        item.set_attr("jid", it.jid);
                        if (!it.name.empty()) item.set_attr("name", it.name);
                        item.set_attr("subscription", it.subscription);
                        for (const auto& g : it.groups)
                            item.add_child("group", std::string(ns::roster)).add_text(g);
                    }
                    send(reply);
                });
            });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    // set: exactly one item (RFC 6121 2.3.3)
    const xml::Element* q = iq.child("query", ns::roster);
    std::vector<const xml::Element*> items;
    for (const auto& c : q->children())
        if (c.is("item", ns::roster)) items.push_back(&c);
    if (items.size() != 1)
        return send(make_error(iq, StanzaError::bad_request, "Exactly one item expected"));
    auto contact = Jid::parse(items[0]->attr_or("jid"));
    if (!contact) return send(make_error(iq, StanzaError::jid_malformed));
    store::RosterItem item;
    item.jid = contact->str();
    item.name = items[0]->attr_or("name");
    bool remove = items[0]->attr_or("subscription") == "remove";
    for (const auto& g : items[0]->children())
        if (g.is("group", ns::roster)) item.groups.push_back(g.text());
    bool queued = ctx_.workers.submit(
        [this, post = transport_.poster(), user, iq, item, remove](store::Store& s) {
            if (remove)
                s.remove_roster_item(user, item.jid);
            else
                s.set_roster_item(user, item);
            post([this, iq, item, remove] {
                auto reply = make_iq_result(iq);
                reply.remove_attr("to");
                send(reply);
                // Roster push to every resource of the user (RFC 6121 2.1.6).
                xml::Element push("iq", std::string(ns::client));
                push.set_attr("type", "set");
                push.set_attr("id", "push-" + util::random_id().substr(0, 8));
                auto& pi = push.add_child("query", std::string(ns::roster))
                               .add_child("item", std::string(ns::roster));
                pi.set_attr("jid", item.jid);
                pi.set_attr("subscription", remove ? "remove" : "none");
                if (!remove && !item.name.empty()) pi.set_attr("name", item.name);
                for (const auto& g : item.groups)
                    pi.add_child("group", std::string(ns::roster)).add_text(g);
                auto prepared = PreparedStanza::from(push);
                for (auto& r : ctx_.router.resources(jid_.bare()))
                    r->deliver(Outgoing::addressed(prepared, r->jid().str()));
            });
        });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void Session::on_presence(xml::Element& p, const std::optional<Jid>& to) {
    std::string type = p.attr_or("type");
    if (!to || *to == jid_.bare()) {
        if (type.empty()) {
            available_ = true;
        } else if (type == "unavailable") {
            available_ = false;
            ctx_.muc.session_gone(jid_);
        } else {
            return;  // probes and subscriptions to oneself: nothing to do
        }
        // Broadcast to the user's other resources (no presence subscriptions are kept yet).
        auto prepared = PreparedStanza::from(p);
        for (auto& r : ctx_.router.resources(jid_.bare()))
            if (r->jid() != jid_) r->deliver(Outgoing::addressed(prepared, r->jid().str()));
        return;
    }
    if (to->domain() == ctx_.muc.config().domain)
        return ctx_.muc.handle(std::move(p), jid_, *to, transport_.handle(), subject_);
    if (to->domain() != ctx_.domain) {
        if (type != "error") send(make_error(p, StanzaError::remote_server_not_found));
        return;
    }
    if (type == "subscribe" || type == "subscribed" || type == "unsubscribe" ||
        type == "unsubscribed")
        p.set_attr("from", jid_.bare_str());
    deliver_to_user(p, *to);
}

void Session::on_message(xml::Element& m, const std::optional<Jid>& to) {
    if (!to || to->str() == ctx_.domain || *to == jid_.bare())
        return;  // nothing is stored for self
    if (to->domain() == ctx_.muc.config().domain)
        return ctx_.muc.handle(std::move(m), jid_, *to, transport_.handle(), subject_);
    if (to->domain() != ctx_.domain) {
        if (m.attr_or("type") != "error") send(make_error(m, StanzaError::remote_server_not_found));
        return;
    }
    // A direct invitation (XEP-0249) into a room passes only where the sender may invite.
    if (const xml::Element* invite = m.child("x", ns::conference)) {
        auto room = Jid::parse(invite->attr_or("jid"));
        if (room && room->domain() == ctx_.muc.config().domain && subject_) {
            if (auto refused = ctx_.muc.check_direct_invitation(*subject_, *room)) {
                spdlog::info("direct invitation from {} to {} refused", jid_.str(),
                             room->bare_str());
                return send(make_error(m, *refused,
                                       *refused == StanzaError::forbidden
                                           ? "Invitations are not allowed in this room"
                                           : "No such room"));
            }
        }
    }
    deliver_to_user(m, *to);
}

void Session::deliver_to_user(xml::Element& stanza, const Jid& to) {
    const std::string& kind = stanza.name();
    std::string type = stanza.attr_or("type");
    if (!to.is_bare()) {
        if (auto s = ctx_.router.find(to)) return s->deliver(Outgoing::element(stanza));
        if (kind == "iq") {
            if (type == "get" || type == "set")
                send(make_error(stanza, StanzaError::service_unavailable));
            return;
        }
        if (kind == "presence") return;
    } else if (kind == "iq") {
        // IQs to another user's bare JID would be answered by their server on their behalf
        // (vCard, PEP): not offered yet.
        if (type == "get" || type == "set")
            send(make_error(stanza, StanzaError::service_unavailable));
        return;
    }
    auto targets = ctx_.router.resources(to.bare());
    if (targets.empty()) {
        if (kind == "message" && (type.empty() || type == "normal" || type == "chat"))
            send(make_error(stanza, StanzaError::service_unavailable, "The recipient is offline"));
        return;
    }
    auto prepared = PreparedStanza::from(stanza);
    for (auto& s : targets) s->deliver(Outgoing::addressed(prepared, s->jid().str()));
}

}  // namespace perch::xmpp
