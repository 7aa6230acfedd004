// Stream Management (XEP-0198): the counters, the sessions waiting to be resumed, and the
// session's side of enabling, acknowledging, handing over and resuming.
#include "xmpp/stream_management.hpp"

#include <spdlog/spdlog.h>

#include <charconv>

#include "util/ids.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/session.hpp"

namespace perch::xmpp {

void StreamAcks::sent_one(const Outgoing& stanza) {
    ++sent;
    unacked_bytes += stanza.size();
    unacked.push_back(stanza);
}

bool StreamAcks::acknowledged(uint32_t h) {
    uint32_t first_unacked = sent - uint32_t(unacked.size());  // how many were acked before
    uint32_t newly = h - first_unacked;                        // modulo 2^32, as the counters
    if (newly > unacked.size()) return false;
    for (uint32_t i = 0; i < newly; ++i) {
        unacked_bytes -= unacked.front().size();
        unacked.pop_front();
    }
    if (unacked.empty()) std::deque<Outgoing>().swap(unacked);  // an idle session holds nothing
    return true;
}

void Resumption::add(const std::string& id, Entry entry) {
    std::lock_guard lock(mutex_);
    entries_[id] = std::move(entry);
}

void Resumption::detached(const std::string& id) {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(id); it != entries_.end())
        it->second.detached_since = std::chrono::steady_clock::now();
}

std::optional<Resumption::Entry> Resumption::take(const std::string& id, const std::string& user) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.user != user) return std::nullopt;
    Entry e = std::move(it->second);
    entries_.erase(it);
    return e;
}

bool Resumption::remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    return entries_.erase(id) > 0;
}

void Resumption::expire(std::chrono::steady_clock::time_point now) {
    auto deadline = now - timeout_;
    std::vector<Entry> due;
    {
        std::lock_guard lock(mutex_);
        for (auto it = entries_.begin(); it != entries_.end();) {
            if (it->second.detached_since && *it->second.detached_since <= deadline) {
                due.push_back(std::move(it->second));
                it = entries_.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto& e : due)
        e.run([session = e.session, keeper = std::move(e.keeper)] { session->expired(); });
}

size_t Resumption::waiting() const {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& [id, e] : entries_) n += e.detached_since.has_value();
    return n;
}

namespace {

std::optional<uint32_t> parse_count(const std::string& text) {
    uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

std::string failed(std::string_view condition) {
    return "<failed xmlns='urn:xmpp:sm:3'><" + std::string(condition) +
           " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>";
}

// Stanzas from the client arriving while a resumption is under way wait for it; a client
// that sends more than this before <resumed/> is misbehaving.
constexpr size_t kMaxEarly = 100;

}  // namespace

void Session::on_stream_management(const xml::Element& e) {
    const std::string& name = e.name();
    if (name == "r") {
        if (!acks_) return stream_error("unsupported-stanza-type", "enable first");
        return send_raw("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(acks_->received) + "'/>");
    }
    if (name == "a") {
        auto h = parse_count(e.attr_or("h"));
        if (!acks_ || !h) return stream_error("unsupported-stanza-type", "bad <a/>");
        acks_->ack_requested = false;
        if (!acks_->acknowledged(*h))
            return stream_error("undefined-condition",
                                "handled-count-too-high: h=" + std::to_string(*h) + ", sent " +
                                    std::to_string(acks_->sent));
        return;
    }
    if (name == "enable") return enable_acks(e);
    if (name == "resume") return send_raw(failed("unexpected-request"));  // already bound
    stream_error("unsupported-stanza-type", "<" + name + "/> is not a stream management element");
}

void Session::enable_acks(const xml::Element& e) {
    if (state_ != State::bound || acks_) return send_raw(failed("unexpected-request"));
    acks_ = std::make_unique<StreamAcks>();
    std::string resume = e.attr_or("resume");
    auto* registry = ctx_.resumption;
    std::string out = "<enabled xmlns='urn:xmpp:sm:3'";
    if ((resume == "true" || resume == "1") && registry && registry->timeout().count() > 0) {
        acks_->resume_id = util::random_id() + util::random_id();
        registry->add(acks_->resume_id, resumption_entry());
        out += " id='" + acks_->resume_id + "' resume='true' max='" +
               std::to_string(registry->timeout().count()) + "'";
    }
    send_raw(out + "/>");
}

Resumption::Entry Session::resumption_entry() {
    return Resumption::Entry{
        username_, this, transport_.runner(), transport_.keep(), transport_.handle(), std::nullopt};
}

void Session::on_resume(const xml::Element& e) {
    auto h = parse_count(e.attr_or("h"));
    std::optional<Resumption::Entry> entry;
    if (ctx_.resumption && h) entry = ctx_.resumption->take(e.attr_or("previd"), username_);
    if (!entry) return send_raw(failed("item-not-found"));
    state_ = State::resuming;
    // From here on the session's stanzas come to this connection, after all those handed to
    // the old one, which hands them over with its state on its own executor.
    transport_.adopt(entry->handle);
    entry->run([old = entry->session, keeper = std::move(entry->keeper), back = transport_.runner(),
                here = transport_.keep(), self = this, h = *h] {
        // Shared: posted work is copyable, the state is not.
        auto moved = std::make_shared<std::optional<Resumed>>(old->hand_over());
        if (*moved) (*moved)->keeper = keeper;
        back([self, here, moved, h] { self->resumed(std::move(*moved), h); });
    });
}

std::optional<Session::Resumed> Session::hand_over() {
    if (state_ != State::bound && state_ != State::detached) return std::nullopt;
    flush_held();
    if (state_ == State::closed) return std::nullopt;  // too much was waiting
    Resumed r;
    r.jid = jid_;
    r.available = bound_->available();
    r.inactive = held_ != nullptr;
    r.acks = std::move(acks_);
    bool connected = state_ == State::bound;
    state_ = State::closed;
    handed_over_ = true;  // from now on, what it still sends goes through the handle
    held_.reset();
    predecessor_.reset();
    if (connected) transport_.close();  // the client has left this connection for another
    return r;
}

void Session::resumed(std::optional<Resumed> moved, uint32_t h) {
    bool connected = state_ == State::resuming;
    if (!moved) {  // it ended meanwhile
        transport_.adopt(nullptr);
        if (!connected) return;
        state_ = State::negotiating;
        send_raw(failed("item-not-found"));
        return replay_early();
    }
    bind(std::move(moved->jid));
    bound_->set_available(moved->available);
    acks_ = std::move(moved->acks);
    predecessor_ = std::move(moved->keeper);
    if (moved->inactive) held_ = std::make_unique<Held>();
    auto entry = resumption_entry();
    transport_.handle()->set_connected(connected);
    if (!connected) {
        // This connection went too while the session came over: it waits again.
        state_ = State::detached;
        entry.detached_since = std::chrono::steady_clock::now();
        ctx_.resumption->add(acks_->resume_id, std::move(entry));
        return;
    }
    ctx_.resumption->add(acks_->resume_id, std::move(entry));
    if (!acks_->acknowledged(h))
        return stream_error("undefined-condition",
                            "handled-count-too-high: h=" + std::to_string(h) + ", sent " +
                                std::to_string(acks_->sent));
    send_raw("<resumed xmlns='urn:xmpp:sm:3' previd='" + acks_->resume_id + "' h='" +
             std::to_string(acks_->received) + "'/>");
    for (const auto& stanza : acks_->unacked) transport_.send(stanza);
    size_t again = acks_->unacked.size();
    ctx_.stats.sessions_resumed.fetch_add(1, std::memory_order_relaxed);
    acks_->ack_requested = false;
    if (again > 0) request_ack();
    spdlog::info("{} resumed its session from {} ({} stanzas sent again)", jid_.str(),
                 transport_.peer(), again);
    for (auto& out : std::exchange(pending_, {})) deliver_routed(std::move(out));
    replay_early();
}

void Session::request_ack() {
    acks_->ack_requested = true;
    send_raw("<r xmlns='urn:xmpp:sm:3'/>");
}

void Session::early_element(xml::Element&& e) {
    if (early_.size() >= kMaxEarly)
        return stream_error("policy-violation", "wait for the resumption to finish");
    early_.push_back(std::move(e));
}

void Session::replay_early() {
    for (auto& e : std::exchange(early_, {})) {
        if (state_ == State::closed) return;
        on_element(std::move(e));
    }
}

void Session::expired() {
    if (state_ != State::detached) return;
    spdlog::info("{} did not come back within {} s: session ended ({} stanzas unacknowledged)",
                 jid_.str(), ctx_.resumption->timeout().count(), acks_->unacked.size());
    finish();
}

}  // namespace perch::xmpp
