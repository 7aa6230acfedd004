#include "xmpp/stanza.hpp"

#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

std::string_view condition_name(StanzaError e) {
    switch (e) {
        case StanzaError::bad_request:
            return "bad-request";
        case StanzaError::conflict:
            return "conflict";
        case StanzaError::feature_not_implemented:
            return "feature-not-implemented";
        case StanzaError::forbidden:
            return "forbidden";
        case StanzaError::item_not_found:
            return "item-not-found";
        case StanzaError::jid_malformed:
            return "jid-malformed";
        case StanzaError::not_acceptable:
            return "not-acceptable";
        case StanzaError::not_allowed:
            return "not-allowed";
        case StanzaError::not_authorized:
            return "not-authorized";
        case StanzaError::recipient_unavailable:
            return "recipient-unavailable";
        case StanzaError::registration_required:
            return "registration-required";
        case StanzaError::remote_server_not_found:
            return "remote-server-not-found";
        case StanzaError::resource_constraint:
            return "resource-constraint";
        case StanzaError::service_unavailable:
            return "service-unavailable";
        case StanzaError::internal_server_error:
            return "internal-server-error";
        case StanzaError::policy_violation:
            return "policy-violation";
    }
    return "undefined-condition";
}

std::string_view error_type(StanzaError e) {
    switch (e) {
        case StanzaError::bad_request:
        case StanzaError::jid_malformed:
        case StanzaError::not_acceptable:
        case StanzaError::policy_violation:
            return "modify";
        case StanzaError::forbidden:
        case StanzaError::not_authorized:
        case StanzaError::registration_required:
            return "auth";
        case StanzaError::recipient_unavailable:
        case StanzaError::resource_constraint:
        case StanzaError::internal_server_error:
            return "wait";
        default:
            return "cancel";
    }
}

xml::Element make_error(const xml::Element& stanza, StanzaError e, std::string_view text) {
    xml::Element reply(stanza.name(), std::string(ns::client));
    if (auto* from = stanza.attr("from")) reply.set_attr("to", *from);
    if (auto* to = stanza.attr("to")) reply.set_attr("from", *to);
    if (auto* id = stanza.attr("id")) reply.set_attr("id", *id);
    reply.set_attr("type", "error");
    if (stanza.name() != "iq") {
        for (const auto& c : stanza.children()) reply.add(c);
    }
    auto& err = reply.add_child("error", std::string(ns::client));
    err.set_attr("type", std::string(error_type(e)));
    err.add_child(std::string(condition_name(e)), std::string(ns::stanzas_err));
    if (!text.empty())
        err.add_child("text", std::string(ns::stanzas_err)).add_text(std::string(text));
    return reply;
}

xml::Element make_iq_result(const xml::Element& iq) {
    xml::Element reply("iq", std::string(ns::client));
    if (auto* from = iq.attr("from")) reply.set_attr("to", *from);
    if (auto* to = iq.attr("to")) reply.set_attr("from", *to);
    reply.set_attr("id", iq.attr_or("id"));
    reply.set_attr("type", "result");
    return reply;
}

xml::Element make_stanza(std::string_view name, std::string_view from, std::string_view to,
                         std::string_view type) {
    xml::Element e{std::string(name), std::string(ns::client)};
    if (!from.empty()) e.set_attr("from", std::string(from));
    if (!to.empty()) e.set_attr("to", std::string(to));
    if (!type.empty()) e.set_attr("type", std::string(type));
    return e;
}

std::shared_ptr<const PreparedStanza> PreparedStanza::from(const xml::Element& stanza) {
    auto p = std::make_shared<PreparedStanza>();
    if (stanza.attr("to")) {
        xml::Element copy = stanza;
        copy.remove_attr("to");
        xml::serialize(p->text, copy, "");
    } else {
        xml::serialize(p->text, stanza, "");
    }
    p->split = 1 + stanza.name().size();
    return p;
}

Outgoing Outgoing::element(const xml::Element& stanza) {
    Outgoing o;
    // Declaring jabber:client on every top-level element keeps the bytes valid both inside a
    // TCP stream and as a stand-alone WebSocket frame (RFC 7395 section 3.3.3).
    xml::serialize(o.head, stanza, "");
    return o;
}

Outgoing Outgoing::addressed(std::shared_ptr<const PreparedStanza> p, std::string_view to) {
    Outgoing o;
    o.head.reserve(p->split + to.size() + 6);
    o.head.append(p->text, 0, p->split);
    o.head += " to='";
    xml::escape_attr(o.head, to);
    o.head += '\'';
    o.shared = std::move(p);
    return o;
}

}  // namespace perch::xmpp
