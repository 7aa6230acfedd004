// Presence to rooms: joins, status changes, new nicknames and leaves become room commands; a
// join's reply is shown to the joiner in XEP-0045 order.
#include <spdlog/spdlog.h>

#include "util/time.hpp"
#include "xml/serializer.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {

// What of a client's presence a room passes on: show, status, priority, capabilities and the
// like, never the MUC join element itself.
std::string kept_presence(const xml::Element& stanza) {
    std::string kept;
    for (const auto& c : stanza.children()) {
        if (c.is_text() || c.ns() == ns::muc || c.ns() == ns::muc_user || c.ns() == ns::occupant_id)
            continue;
        xml::serialize(kept, c, ns::client);
    }
    return kept;
}

std::optional<int> parse_int(const std::string* s) {
    if (!s) return std::nullopt;
    try {
        size_t used = 0;
        long v = std::stol(*s, &used);
        if (used != s->size() || v < 0) return std::nullopt;
        return int(std::min<long>(v, 1'000'000'000));
    } catch (...) {
        return std::nullopt;
    }
}

}  // namespace

chat::HistoryRequest parse_history_request(const xml::Element* history, int max_history) {
    chat::HistoryRequest req;
    if (!history) return req;
    req.max_stanzas = parse_int(history->attr("maxstanzas"));
    req.max_chars = parse_int(history->attr("maxchars"));
    if (auto seconds = parse_int(history->attr("seconds")))
        req.since_us = util::now_us() - int64_t(*seconds) * 1'000'000;
    if (auto* since = history->attr("since")) {
        if (auto t = util::parse_timestamp(*since))
            req.since_us = std::max(req.since_us.value_or(0), *t);
    }
    if (req.max_stanzas)
        req.max_stanzas = std::min(*req.max_stanzas, max_history);
    else if (history->attr("seconds") || history->attr("since"))
        req.max_stanzas = max_history;
    return req;
}

void MucService::on_presence(xml::Element stanza, const Jid& from, const Jid& to,
                             const SessionHandlePtr& sender, const chat::Actor& actor,
                             const util::Admission::TicketPtr& ticket) {
    std::string type = stanza.attr_or("type");
    const std::string& room = to.local();
    if (type == "unavailable") {
        rooms_.leave(chat::LeaveCommand{room, from.str(), kept_presence(stanza)}, {});
        return;
    }
    if (!type.empty()) return;  // probes and subscriptions mean nothing to a room
    if (to.resource().empty()) {
        auto mine = delivery_.rooms_of(from.str());
        if (std::find(mine.begin(), mine.end(), room) == mine.end())
            sender->deliver(Outgoing::element(
                make_error(stanza, StanzaError::jid_malformed, "A nickname is required")));
        return;
    }
    const xml::Element* x = stanza.child("x", ns::muc);
    chat::JoinCommand c;
    c.room = room;
    c.actor = actor;
    c.nick = to.resource();
    c.presence = kept_presence(stanza);
    c.join_element = x != nullptr;
    c.history =
        parse_history_request(x ? x->child("history", ns::muc) : nullptr, config_.max_history);
    auto reply =
        answer<chat::JoinResult>(stanza, sender, [this, room, sender](const chat::JoinResult& r) {
            if (!r.joined) return;  // shown by the events
            delivery_.joined(room, r.self.nick, sender);
            render_join(r, room, sender);
            // The session may have ended while the join was under way: it leaves
            // again (see SessionHandle::alive).
            if (!sender->alive())
                rooms_.leave(chat::LeaveCommand{room, sender->jid().str(), {}}, {});
        });
    if (ticket) {  // the join is under way until its answer
        reply = [ticket, reply = std::move(reply)](chat::Result<chat::JoinResult> r) {
            ticket->finish();
            reply(std::move(r));
        };
    }
    rooms_.join(std::move(c), std::move(reply));
}

void MucService::render_join(const chat::JoinResult& r, const std::string& room,
                             const SessionHandlePtr& to) const {
    // XEP-0045 7.2.3: the occupants first, the self-presence last with its status codes, then
    // the history, then the subject (always, empty if none).
    const std::string bare = room_jid(room);
    const std::string& me = r.self.full_jid;
    for (const auto& other : r.others)
        to->deliver(Outgoing::addressed(muc::render_presence({other, other.presence}, bare), me));
    std::vector<int> codes{100, 110, 170};
    if (r.created) codes.push_back(201);
    to->deliver(
        Outgoing::addressed(muc::render_presence({r.self, r.self.presence, codes}, bare), me));
    for (const auto& m : r.history)
        to->deliver(Outgoing::addressed(muc::render_message(m, bare, true), me));
    to->deliver(Outgoing::addressed(muc::render_subject(bare, r.subject, r.subject_nick), me));
}

}  // namespace perch::xmpp
