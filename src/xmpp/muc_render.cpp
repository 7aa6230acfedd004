#include "xmpp/muc_render.hpp"

#include "util/time.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp::muc {

namespace {

void attr(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "='";
    xml::escape_attr(out, value);
    out += '\'';
}

// "<name" + (the split: where each delivery inserts its `to`) + " xmlns='jabber:client'".
std::shared_ptr<PreparedStanza> open(std::string_view name, size_t reserve) {
    auto p = std::make_shared<PreparedStanza>();
    p->text.reserve(reserve + 200);
    p->text += '<';
    p->text += name;
    p->split = p->text.size();
    p->text += " xmlns='jabber:client'";
    return p;
}

void occupant_id(std::string& s, std::string_view id) {
    if (id.empty()) return;
    s += "<occupant-id xmlns='urn:xmpp:occupant-id:0'";
    attr(s, "id", id);
    s += "/>";
}

}  // namespace

std::shared_ptr<const PreparedStanza> render_message(const store::Message& m,
                                                     const std::string& room_bare, bool delayed) {
    auto p = open("message", m.body.size() + m.payload.size() + room_bare.size());
    std::string& s = p->text;
    attr(s, "from", room_bare + "/" + m.nick);
    attr(s, "type", "groupchat");
    // The sender's own id comes back unchanged: clients match their echo by it.
    attr(s, "id", m.origin_id.empty() ? m.stanza_id : m.origin_id);
    s += '>';
    if (!m.body.empty()) {
        s += "<body>";
        xml::escape_text(s, m.body);
        s += "</body>";
    }
    s += m.payload;
    s += "<stanza-id xmlns='urn:xmpp:sid:0'";
    attr(s, "id", m.stanza_id);
    attr(s, "by", room_bare);
    s += "/>";
    occupant_id(s, m.occupant_id);
    if (delayed) {
        s += "<delay xmlns='urn:xmpp:delay'";
        attr(s, "from", room_bare);
        attr(s, "stamp", util::format_timestamp(m.ts_us));
        s += "/>";
    }
    s += "</message>";
    return p;
}

std::shared_ptr<const PreparedStanza> render_relay(const chat::MessageRelayed& r,
                                                   const std::string& room_bare) {
    auto p = open("message", r.payload.size() + room_bare.size());
    std::string& s = p->text;
    attr(s, "from", room_bare + "/" + r.nick);
    attr(s, "type", "groupchat");
    if (!r.id.empty()) attr(s, "id", r.id);
    s += '>';
    s += r.payload;
    occupant_id(s, r.occupant_id);
    s += "</message>";
    return p;
}

std::shared_ptr<const PreparedStanza> render_private(const chat::PrivateMessage& m,
                                                     const std::string& room_bare) {
    auto p = open("message", m.payload.size() + room_bare.size());
    std::string& s = p->text;
    attr(s, "from", room_bare + "/" + m.from_nick);
    if (!m.type.empty()) attr(s, "type", m.type);
    if (!m.id.empty()) attr(s, "id", m.id);
    s += '>';
    s += m.payload;
    s += "</message>";
    return p;
}

std::shared_ptr<const PreparedStanza> render_subject(const std::string& room_bare,
                                                     const std::string& subject,
                                                     const std::string& nick) {
    auto p = open("message", subject.size() + room_bare.size());
    std::string& s = p->text;
    attr(s, "from", nick.empty() ? room_bare : room_bare + "/" + nick);
    attr(s, "type", "groupchat");
    attr(s, "id", "subject");
    s += '>';
    if (subject.empty()) {
        s += "<subject/>";
    } else {
        s += "<subject>";
        xml::escape_text(s, subject);
        s += "</subject>";
    }
    s += "</message>";
    return p;
}

std::shared_ptr<const PreparedStanza> render_retraction(const std::string& room_bare,
                                                        const std::string& stanza_id,
                                                        const std::string& by,
                                                        const std::string& reason) {
    xml::Element m("message", std::string(ns::client));
    m.set_attr("from", room_bare);
    m.set_attr("type", "groupchat");
    m.set_attr("id", "retract-" + stanza_id);
    auto& apply = m.add_child("apply-to", std::string(ns::fasten));
    apply.set_attr("id", stanza_id);
    auto& old_form = apply.add_child("moderated", std::string(ns::moderate0));
    old_form.set_attr("by", by);
    old_form.add_child("retract", std::string(ns::retract0));
    if (!reason.empty()) old_form.add_child("reason", std::string(ns::moderate0)).add_text(reason);
    auto& retract = m.add_child("retract", std::string(ns::retract1));
    retract.set_attr("id", stanza_id);
    retract.add_child("moderated", std::string(ns::moderate1)).set_attr("by", by);
    if (!reason.empty()) retract.add_child("reason", std::string(ns::retract1)).add_text(reason);
    return PreparedStanza::from(m);
}

std::string render_tombstone(const std::string& by, const std::string& reason, int64_t at_us) {
    xml::Element tombstone("moderated", std::string(ns::moderate0));
    tombstone.set_attr("by", by);
    tombstone.add_child("retracted", std::string(ns::retract0))
        .set_attr("stamp", util::format_timestamp(at_us));
    if (!reason.empty()) tombstone.add_child("reason", std::string(ns::moderate0)).add_text(reason);
    std::string payload;
    xml::serialize(payload, tombstone, ns::client);
    return payload;
}

std::shared_ptr<const PreparedStanza> render_invitation(const chat::Invitation& inv,
                                                        const std::string& room_bare) {
    xml::Element m("message", std::string(ns::client));
    m.set_attr("from", room_bare);
    auto& out =
        m.add_child("x", std::string(ns::muc_user)).add_child("invite", std::string(ns::muc_user));
    out.set_attr("from", inv.from_jid);
    if (!inv.reason.empty())
        out.add_child("reason", std::string(ns::muc_user)).add_text(inv.reason);
    return PreparedStanza::from(m);
}

std::shared_ptr<const PreparedStanza> render_presence(const PresenceView& v,
                                                      const std::string& room_bare) {
    const chat::Occupant& o = v.occupant;
    auto p = open("presence", v.payload.size() + room_bare.size() + o.full_jid.size());
    std::string& s = p->text;
    attr(s, "from", room_bare + "/" + o.nick);
    if (v.unavailable) attr(s, "type", "unavailable");
    s += '>';
    s += v.payload;
    s += "<x xmlns='http://jabber.org/protocol/muc#user'><item";
    attr(s, "affiliation", chat::to_string(o.affiliation));
    attr(s, "role", v.unavailable ? "none" : chat::to_string(o.role));
    attr(s, "jid", o.full_jid);
    if (!v.new_nick.empty()) attr(s, "nick", v.new_nick);
    if (v.reason.empty()) {
        s += "/>";
    } else {
        s += "><reason>";
        xml::escape_text(s, v.reason);
        s += "</reason></item>";
    }
    if (v.destroyed) s += "<destroy/>";
    for (int code : v.codes) {
        s += "<status";
        attr(s, "code", std::to_string(code));
        s += "/>";
    }
    s += "</x>";
    occupant_id(s, o.occupant_id);
    s += "</presence>";
    return p;
}

}  // namespace perch::xmpp::muc
