// The client stream itself: bytes in, the stream header and its close, stream errors, and the
// hand-over from negotiation (negotiation.cpp) to the bound session (bound_session.cpp).
#include "xmpp/session.hpp"

#include <spdlog/spdlog.h>

#include "util/ids.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {
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
    : ctx_(ctx),
      transport_(transport),
      parser_(*this, ctx.limits),
      secure_(transport.secure()),
      negotiation_(*this) {}

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

void Session::emit(Outgoing out) {
    if (handed_over_) {
        // Work that was under way when the session moved to another connection: it follows.
        if (auto handle = transport_.handle()) handle->deliver(std::move(out));
        return;
    }
    if (state_ == State::closed) return;
    if (acks_) acks_->sent_one(out);
    if (state_ == State::detached) {
        if (!acks_ || !acks_->over_limit()) return;
        spdlog::info("{}: more than {} stanzas wait for a client that is gone: session ended",
                     jid_.str(), StreamAcks::kMaxUnacked);
        return finish();
    }
    transport_.send(std::move(out));
    if (!acks_) return;
    if (acks_->over_limit())
        return stream_error("policy-violation", "too many stanzas not acknowledged");
    if (!acks_->ack_requested) request_ack();
}

void Session::send_raw(std::string bytes) {
    transport_.send(Outgoing::raw(std::move(bytes)));
}

void Session::send_stream_open() {
    stream_id_ = util::random_id();
    std::string out;
    if (websocket()) {
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
    send_raw(std::move(out));
}

void Session::restart_stream() {
    if (!websocket()) parser_.reset();
}

void Session::login_timed_out() {
    if (state_ == State::closed || bound()) return;
    bool negotiating = state_ == State::negotiating;
    std::string_view waiting = negotiating                 ? negotiation_.stage()
                               : state_ == State::resuming ? "for the session it resumes"
                                                           : "for the client's stream header";
    auto now = std::chrono::steady_clock::now();
    auto seconds = [&](auto since) { return std::chrono::duration<double>(now - since).count(); };
    spdlog::info("{} not logged in {:.0f} s after it connected: waiting {} for {:.1f} s",
                 transport_.peer(), seconds(opened_), waiting,
                 seconds(negotiating ? negotiation_.stage_since() : opened_));
    stream_error("connection-timeout", "Log in faster");
}

void Session::stream_error(std::string_view condition, std::string_view text) {
    // RFC 6120 4.9.3.19: where the client goes is the condition element's content.
    std::string_view content;
    if (condition == "see-other-host") std::swap(content, text);
    if (state_ == State::closed) return;
    ctx_.stats.count_stream_error(condition);
    spdlog::info("stream error {} for {} ({}): {}", condition,
                 jid().empty() ? transport_.peer() : jid().str(), transport_.peer(),
                 text.empty() ? (content.empty() ? "-" : content) : text);
    std::string out = "<stream:error";
    if (websocket()) out += " xmlns:stream='http://etherx.jabber.org/streams'";
    out += "><" + std::string(condition) + " xmlns='urn:ietf:params:xml:ns:xmpp-streams'";
    if (content.empty()) {
        out += "/>";
    } else {
        out += ">";
        xml::escape_text(out, content);
        out += "</" + std::string(condition) + ">";
    }
    if (!text.empty()) {
        out += "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>";
        xml::escape_text(out, text);
        out += "</text>";
    }
    out += "</stream:error>";
    out +=
        websocket() ? "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>" : "</stream:stream>";
    send_raw(std::move(out));
    finish();
    transport_.close();
}

void Session::redirect_websocket(std::string_view uri) {
    ctx_.stats.count_stream_error("see-other-host");
    spdlog::info("WebSocket client {} sent to {}", transport_.peer(), uri);
    std::string out = "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='";
    xml::escape_attr(out, uri);
    out += "'/>";
    send_raw(std::move(out));
    finish();
    transport_.close();
}

void Session::closed() {
    if (state_ == State::bound && acks_ && !acks_->resume_id.empty()) {
        // XEP-0198: the session stays (in its rooms, receiving) for the client to resume.
        state_ = State::detached;
        ctx_.resumption->detached(acks_->resume_id);
        transport_.handle()->set_connected(false);
        spdlog::info("{} lost its connection; the session waits {} s to be resumed", jid_.str(),
                     ctx_.resumption->timeout().count());
        return;
    }
    if (state_ != State::detached) finish();
}

void Session::finish() {
    if (state_ == State::closed) return;
    bool was_bound = bound();
    state_ = State::closed;
    if (acks_ && !acks_->resume_id.empty()) ctx_.resumption->remove(acks_->resume_id);
    if (was_bound && acks_ && !acks_->unacked.empty()) bound_->keep_unacknowledged(acks_->unacked);
    if (was_bound) bound_->ended();
}

void Session::bind(Jid jid) {
    jid_ = std::move(jid);
    bound_.emplace(*this);
    state_ = State::bound;
}

void Session::on_stream_open(const xml::Element& header) {
    if (websocket()) return;  // the synthetic root of the frames
    send_stream_open();
    if (!header.is("stream", ns::stream))
        return stream_error("invalid-namespace", "expected a stream:stream element");
    // RFC 6120 4.8.2: a client's stanzas are in jabber:client (jabber:server is for servers).
    if (parser_.default_namespace() != ns::client)
        return stream_error("invalid-namespace",
                            "a client stream's content namespace is jabber:client");
    auto to = Jid::parse(header.attr_or("to"));
    if (!to || to->str() != ctx_.domain)
        return stream_error("host-unknown", "this server serves " + ctx_.domain);
    if (header.attr_or("version") != "1.0") return stream_error("unsupported-version");
    if (state_ == State::start) {
        // A standby of a pool serves nobody: the client is sent to an active server.
        if (auto other = ctx_.elsewhere ? ctx_.elsewhere() : std::nullopt)
            return stream_error("see-other-host", *other);
        state_ = State::negotiating;
    }
    negotiation_.send_features();
}

void Session::on_stream_close() {
    if (state_ == State::closed) return;
    send_raw("</stream:stream>");
    finish();
    transport_.close();
}

void Session::on_element(xml::Element&& e) {
    if (state_ == State::closed) return;
    if (websocket()) {
        if (e.is("open", ns::framing)) {
            send_stream_open();
            if (e.attr_or("to") != ctx_.domain) return stream_error("host-unknown");
            if (state_ == State::start) {
                // A standby's WebSocket client goes to an active server (RFC 7395 3.6.1).
                auto other = ctx_.elsewhere_websocket ? ctx_.elsewhere_websocket() : std::nullopt;
                if (other) return redirect_websocket(*other);
                state_ = State::negotiating;
            }
            return negotiation_.send_features();
        }
        if (e.is("close", ns::framing)) {
            send_raw("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
            finish();
            return transport_.close();
        }
        if (state_ == State::start) return stream_error("not-authorized", "open the stream first");
    }
    switch (state_) {
        case State::start:
        case State::negotiating:
            return negotiation_.on_element(e);
        case State::resuming:
            return early_element(std::move(e));
        case State::bound:
            if (e.ns() == ns::csi) return on_client_state(e);
            if (e.ns() == ns::sm) return on_stream_management(e);
            if (acks_) ++acks_->received;
            return bound_->on_stanza(std::move(e));
        case State::detached:
        case State::closed:
            return;
    }
}

namespace {
// The value of attribute `name` in the start tag of the stanza, or "".
std::string start_tag_attr(const Outgoing& out, std::string_view name) {
    std::string text = out.head;
    if (out.shared) text.append(out.shared->text, out.shared->split);
    size_t end = text.find('>');
    std::string key = " " + std::string(name) + "='";
    size_t at = text.find(key);
    if (at == std::string::npos || at > end) return {};
    at += key.size();
    size_t close = text.find('\'', at);
    return close == std::string::npos ? std::string() : text.substr(at, close - at);
}
bool contains(const Outgoing& out, std::string_view needle) {
    return out.head.find(needle) != std::string::npos ||
           (out.shared && out.shared->text.find(needle, out.shared->split) != std::string::npos);
}
}  // namespace

void Session::on_client_state(const xml::Element& e) {
    if (e.name() == "inactive") {
        if (!held_) held_ = std::make_unique<Held>();
    } else if (e.name() == "active") {
        flush_held();
        held_.reset();
    } else {
        stream_error("unsupported-stanza-type", "<" + e.name() + "/> is not a client state");
    }
}

void Session::flush_held() {
    if (!held_) return;
    for (auto& o : held_->stanzas) emit(std::move(o));
    held_->stanzas.clear();
    held_->from.clear();
    held_->bytes = 0;
}

void Session::deliver_routed(Outgoing out) {
    if (state_ == State::resuming) return pending_.push_back(std::move(out));
    if (!held_ || !bound()) return emit(std::move(out));
    bool presence = out.head.rfind("<presence", 0) == 0;
    bool message = out.head.rfind("<message", 0) == 0;
    bool can_wait = presence || (message && !contains(out, "<body") && !contains(out, "<subject"));
    if (!can_wait) {
        flush_held();
        return emit(std::move(out));
    }
    std::string from = presence ? start_tag_attr(out, "from") : std::string();
    if (presence && !from.empty()) {
        for (size_t i = 0; i < held_->stanzas.size(); ++i) {
            if (held_->from[i] != from) continue;
            held_->bytes -= held_->stanzas[i].size();
            held_->stanzas.erase(held_->stanzas.begin() + long(i));
            held_->from.erase(held_->from.begin() + long(i));
            break;
        }
    }
    held_->bytes += out.size();
    held_->stanzas.push_back(std::move(out));
    held_->from.push_back(std::move(from));
    if (held_->stanzas.size() > Held::kMaxStanzas || held_->bytes > Held::kMaxBytes) flush_held();
}

}  // namespace perch::xmpp
