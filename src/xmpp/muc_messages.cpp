// Messages to rooms: posts, relayed traffic, the subject, private messages, invitations and
// declines, each turned into its room command.
#include <spdlog/spdlog.h>

#include <set>

#include "xml/serializer.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {

// The ids of this server's files a message links to, in its body or XEP-0066 URL.
std::vector<std::string> linked_files(const xml::Element& stanza, const std::string& files_url) {
    std::set<std::string> ids;
    if (files_url.empty()) return {};
    std::vector<std::string> texts{stanza.child_text("body", ns::client)};
    if (const xml::Element* oob = stanza.child("x", ns::oob))
        texts.push_back(oob->child_text("url", ns::oob));
    for (const auto& text : texts) {
        for (size_t at = text.find(files_url); at != std::string::npos;
             at = text.find(files_url, at + 1)) {
            size_t start = at + files_url.size();
            size_t end = text.find_first_of("/ \t\r\n", start);
            if (end == std::string::npos) end = text.size();
            if (end > start) ids.insert(text.substr(start, end - start));
        }
    }
    return {ids.begin(), ids.end()};
}

// The text of an XHTML-IM body (XEP-0071), its lines and paragraphs kept apart.
void append_text(std::string& out, const xml::Element& e) {
    for (const auto& c : e.children()) {
        if (c.is_text()) {
            out += c.raw_text();
            continue;
        }
        bool block =
            c.name() == "p" || c.name() == "div" || c.name() == "li" || c.name() == "blockquote";
        if ((block || c.name() == "br") && !out.empty() && out.back() != '\n') out += '\n';
        append_text(out, c);
        if (block && !out.empty() && out.back() != '\n') out += '\n';
    }
}
std::string plain_text(const xml::Element& html) {
    std::string out;
    if (const xml::Element* body = html.child("body", ns::xhtml)) append_text(out, *body);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

// Every child of a message but the ones the room sets itself.
std::string relayed_payload(const xml::Element& stanza) {
    std::string payload;
    for (const auto& c : stanza.children()) {
        if (c.is_text() || c.is("stanza-id", ns::sid) || c.ns() == ns::occupant_id) continue;
        xml::serialize(payload, c, ns::client);
    }
    return payload;
}

}  // namespace

void MucService::on_message(xml::Element stanza, const Jid& from, const Jid& to,
                            const SessionHandlePtr& sender, const chat::Actor& actor) {
    auto reply = [&](const xml::Element& e) { sender->deliver(Outgoing::element(e)); };
    const std::string& room = to.local();
    std::string type = stanza.attr_or("type", "normal");
    if (const xml::Element* x = stanza.child("x", ns::muc_user); x && type != "groupchat") {
        if (x->child("invite", ns::muc_user)) return on_invite(stanza, *x, room, sender, actor);
        if (const xml::Element* decline = x->child("decline", ns::muc_user)) {
            // An invitee's no-thanks goes back to whoever invited them (XEP-0045 7.8.2).
            auto to_inviter = Jid::parse(decline->attr_or("to"));
            if (!to_inviter) return reply(make_error(stanza, StanzaError::jid_malformed));
            xml::Element m("message", std::string(ns::client));
            m.set_attr("from", room_jid(room));
            auto& out = m.add_child("x", std::string(ns::muc_user))
                            .add_child("decline", std::string(ns::muc_user));
            out.set_attr("from", from.bare_str());
            if (auto reason = decline->child_text("reason", ns::muc_user); !reason.empty())
                out.add_child("reason", std::string(ns::muc_user)).add_text(reason);
            auto prepared = PreparedStanza::from(m);
            for (auto& t : delivery_.router().resources(to_inviter->bare()))
                t->deliver(Outgoing::addressed(prepared, t->jid().str()));
            return;
        }
    }
    auto refused = [this, stanza, sender]() {
        return answer<chat::Ok>(stanza, sender, [](const chat::Ok&) {});
    };
    if (!to.resource().empty()) {
        // A private message to one occupant (XEP-0045 7.5), at each of its resources.
        if (type == "groupchat") return reply(make_error(stanza, StanzaError::bad_request));
        xml::Element pm = stanza;
        if (!pm.child("x", ns::muc_user)) pm.add_child("x", std::string(ns::muc_user));
        std::string payload;
        for (const auto& c : pm.children())
            if (!c.is_text()) xml::serialize(payload, c, ns::client);
        rooms_.send_private(
            chat::PrivateCommand{room, from.str(), to.resource(), stanza.attr_or("type"),
                                 stanza.attr_or("id"), std::move(payload)},
            refused());
        return;
    }
    if (type != "groupchat")
        return reply(make_error(stanza, StanzaError::bad_request,
                                "Messages to a room are of type groupchat"));
    bool has_body = stanza.child("body", ns::client) != nullptr;
    if (stanza.child("subject", ns::client) && !has_body)
        return rooms_.set_subject(
            chat::SubjectCommand{room, from.str(), stanza.child_text("subject", ns::client)},
            refused());
    // Every room is a persistent chat room: whatever it shows its occupants is kept (archive
    // and compliance record), so a no-store hint is not followed here (XEP-0334 leaves that to
    // the server), and a message whose only body is XHTML-IM is a message like any other.
    // What carries no content (chat states, markers, receipts) is relayed and not kept.
    if (!has_body && !stanza.child("html", ns::xhtml_im))
        return rooms_.relay(
            chat::RelayCommand{room, from.str(), stanza.attr_or("id"), relayed_payload(stanza)},
            refused());
    on_post(stanza, room, sender, actor);
}

void MucService::on_post(const xml::Element& stanza, const std::string& room,
                         const SessionHandlePtr& sender, const chat::Actor& actor) {
    auto reply = [&](const xml::Element& e) { sender->deliver(Outgoing::element(e)); };
    chat::PostCommand c;
    c.room = room;
    c.full_jid = actor.full_jid;
    c.origin_id = stanza.attr_or("id");
    c.body = stanza.child_text("body", ns::client);
    if (c.body.empty())
        if (const xml::Element* html = stanza.child("html", ns::xhtml_im))
            c.body = plain_text(*html);  // what search and plain-text readers see
    // The kind of message: <kind xmlns='urn:perch:kind:0' value='alert|story'>, kept with it.
    if (const xml::Element* k = stanza.child("kind", ns::kind)) {
        std::string value = k->attr_or("value");
        if (value == "alert")
            c.kind = store::MessageKind::alert;
        else if (value == "story")
            c.kind = store::MessageKind::story;
        else if (value != "normal")
            return reply(
                make_error(stanza, StanzaError::bad_request, "Unknown message kind " + value));
        if (c.kind == store::MessageKind::story && k->child_text("title", ns::kind).empty())
            return reply(make_error(stanza, StanzaError::bad_request, "A story needs a title"));
    }
    for (const auto& child : stanza.children()) {
        if (child.is_text()) continue;
        if (child.ns() == ns::client &&
            (child.name() == "body" || child.name() == "subject" || child.name() == "thread"))
            continue;
        // A client may not forge the room's stanza-id or occupant-id (XEP-0359, XEP-0421); its
        // origin-id stays: clients recognise their own reflected message by it.
        if (child.is("stanza-id", ns::sid) || child.ns() == ns::occupant_id ||
            child.ns() == ns::delay)
            continue;
        // The hints were not followed: readers of the archive must not follow them either.
        if (child.ns() == ns::hints) continue;
        xml::serialize(c.payload, child, ns::client);
    }
    c.files = linked_files(stanza, config_.files_url);
    // Everybody, the sender included, sees the message through the room's event once it is
    // stored; only a refusal is answered here.
    // A repeat (a retry of a stored message) is shown to its sender alone, as it was stored.
    std::string room_bare = room_jid(room);
    rooms_.post(std::move(c),
                answer<chat::Posted>(stanza, sender, [sender, room_bare](const chat::Posted& p) {
                    if (!p.repeated) return;
                    sender->deliver(Outgoing::addressed(
                        muc::render_message(*p.repeated, room_bare, false), sender->address()));
                }));
}

void MucService::on_invite(const xml::Element& stanza, const xml::Element& x,
                           const std::string& room, const SessionHandlePtr& sender,
                           const chat::Actor& actor) {
    for (const auto& inv : x.children()) {
        if (!inv.is("invite", ns::muc_user)) continue;
        auto invitee = Jid::parse(inv.attr_or("to"));
        if (!invitee || invitee->local().empty() || invitee->domain() != config_.user_domain)
            return sender->deliver(Outgoing::element(
                make_error(stanza, StanzaError::jid_malformed, "Invite a user of this server")));
        rooms_.invite(chat::InviteCommand{room, actor, invitee->local(),
                                          inv.child_text("reason", ns::muc_user)},
                      answer<chat::Ok>(stanza, sender, [](const chat::Ok&) {}));
    }
}

}  // namespace perch::xmpp
