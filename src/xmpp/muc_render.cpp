#include "xmpp/muc_render.hpp"

#include "util/time.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp::muc {

std::string room_jid(const chat::Room& room, std::string_view domain) {
    return room.meta().node + "@" + std::string(domain);
}

std::string occupant_jid(const chat::Room& room, std::string_view domain, std::string_view nick) {
    return room_jid(room, domain) + "/" + std::string(nick);
}

namespace {
void attr(std::string& out, std::string_view name, std::string_view value) {
    out += ' ';
    out += name;
    out += "='";
    xml::escape_attr(out, value);
    out += '\'';
}
}  // namespace

std::shared_ptr<const PreparedStanza> render_message(const store::Message& m,
                                                     const std::string& room_bare, bool delayed) {
    auto p = std::make_shared<PreparedStanza>();
    std::string& s = p->text;
    s.reserve(m.body.size() + m.payload.size() + 400);
    s += "<message";
    p->split = s.size();
    s += " xmlns='jabber:client'";
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
    if (!m.occupant_id.empty()) {
        s += "<occupant-id xmlns='urn:xmpp:occupant-id:0'";
        attr(s, "id", m.occupant_id);
        s += "/>";
    }
    if (delayed) {
        s += "<delay xmlns='urn:xmpp:delay'";
        attr(s, "from", room_bare);
        attr(s, "stamp", util::format_timestamp(m.ts_us));
        s += "/>";
    }
    s += "</message>";
    return p;
}

std::shared_ptr<const PreparedStanza> render_relay(const xml::Element& original,
                                                   const std::string& from_occupant,
                                                   const std::string& occupant_id) {
    xml::Element m = original;
    m.remove_attr("to");
    m.set_attr("from", from_occupant);
    m.remove_children("occupant-id", ns::occupant_id);
    m.remove_children("stanza-id", ns::sid);
    m.add_child("occupant-id", std::string(ns::occupant_id)).set_attr("id", occupant_id);
    return PreparedStanza::from(m);
}

xml::Element render_subject(const chat::Room& room, std::string_view domain) {
    const auto& meta = room.meta();
    xml::Element m("message", std::string(ns::client));
    m.set_attr("from", meta.subject_nick.empty() ? room_jid(room, domain)
                                                 : occupant_jid(room, domain, meta.subject_nick));
    m.set_attr("type", "groupchat");
    m.set_attr("id", "subject");
    m.add_child("subject", std::string(ns::client)).add_text(meta.subject);
    return m;
}

xml::Element render_presence(const chat::Occupant& o, const std::string& from,
                             const std::vector<xml::Element>& extra_children,
                             const std::vector<int>& status_codes, bool unavailable) {
    xml::Element p("presence", std::string(ns::client));
    p.set_attr("from", from);
    if (unavailable) p.set_attr("type", "unavailable");
    for (const auto& c : extra_children) p.add(c);
    auto& x = p.add_child("x", std::string(ns::muc_user));
    auto& item = x.add_child("item", std::string(ns::muc_user));
    item.set_attr("affiliation", std::string(chat::to_string(o.affiliation)));
    item.set_attr("role", unavailable ? "none" : std::string(chat::to_string(o.role)));
    item.set_attr("jid", o.full_jid);
    for (int code : status_codes)
        x.add_child("status", std::string(ns::muc_user)).set_attr("code", std::to_string(code));
    p.add_child("occupant-id", std::string(ns::occupant_id)).set_attr("id", o.occupant_id);
    return p;
}

}  // namespace perch::xmpp::muc
