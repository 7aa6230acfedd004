#include "xmpp/push.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/ids.hpp"
#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/session.hpp"

namespace perch::xmpp::push {

namespace {
constexpr const char* kNs = "urn:perch:push:0";
}  // namespace

std::vector<Registration> decode(const std::string& stored) {
    std::vector<Registration> out;
    auto root = xml::parse_fragment(stored);
    if (!root) return out;
    for (const auto& app : root->children()) {
        if (!app.is("app", kNs)) continue;
        Registration r{app.attr_or("jid"), app.attr_or("node"), {}};
        if (const xml::Element* form = app.first_element()) r.options = xml::to_string(*form);
        if (!r.jid.empty()) out.push_back(std::move(r));
    }
    return out;
}

std::string encode(const std::vector<Registration>& registrations) {
    xml::Element root("push", kNs);
    for (const auto& r : registrations) {
        auto& app = root.add_child("app", kNs);
        app.set_attr("jid", r.jid);
        app.set_attr("node", r.node);
        if (auto form = xml::parse_fragment(r.options)) app.add(std::move(*form));
    }
    return xml::to_string(root);
}

void enable(std::vector<Registration>& registrations, Registration added) {
    std::erase_if(registrations, [&](const Registration& r) {
        return r.jid == added.jid && r.node == added.node;
    });
    registrations.push_back(std::move(added));
    if (registrations.size() > kMaxRegistrations)
        registrations.erase(registrations.begin(),
                            registrations.end() - std::ptrdiff_t(kMaxRegistrations));
}

void disable(std::vector<Registration>& registrations, const std::string& jid,
             const std::string& node) {
    std::erase_if(registrations, [&](const Registration& r) {
        return r.jid == jid && (node.empty() || r.node == node);
    });
}

std::string notification(const Registration& to, const std::string& user_bare,
                         const std::string& sender, int count) {
    xml::Element iq("iq", "jabber:client");
    iq.set_attr("type", "set");
    iq.set_attr("from", user_bare);
    iq.set_attr("to", to.jid);
    iq.set_attr("id", "push-" + util::random_id());
    auto& pubsub = iq.add_child("pubsub", "http://jabber.org/protocol/pubsub");
    auto& publish = pubsub.add_child("publish", "http://jabber.org/protocol/pubsub");
    publish.set_attr("node", to.node);
    auto& form = publish.add_child("item", "http://jabber.org/protocol/pubsub")
                     .add_child("notification", "urn:xmpp:push:0")
                     .add_child("x", "jabber:x:data");
    form.set_attr("type", "submit");
    auto field = [&](const char* var, const std::string& value) {
        auto& f = form.add_child("field", "jabber:x:data");
        f.set_attr("var", var);
        f.add_child("value", "jabber:x:data").add_text(value);
    };
    field("FORM_TYPE", "urn:xmpp:push:summary");
    field("message-count", std::to_string(count));
    field("last-message-sender", sender);
    if (auto options = xml::parse_fragment(to.options))
        pubsub.add_child("publish-options", "http://jabber.org/protocol/pubsub")
            .add(std::move(*options));
    return xml::to_string(iq);
}

void notify(store::Store& s, Router& router, const std::string& domain, const std::string& user,
            const std::string& sender, int count) {
    auto stored = s.private_xml(user, std::string(kKey));
    if (!stored) return;
    std::string bare = Jid::make(user, domain).bare_str();
    for (const auto& r : decode(*stored)) {
        auto app = Jid::parse(r.jid);
        if (!app) continue;
        SessionHandlePtr target;
        if (!app->is_bare()) {
            target = router.find(*app);
        } else if (auto sessions = router.resources(*app); !sessions.empty()) {
            target = sessions.front();
        }
        if (!target) {
            spdlog::info("push to {} for {} not sent: the app server is not connected", r.jid,
                         user);
            continue;
        }
        target->deliver(Outgoing::raw(notification(r, bare, sender, count)));
    }
}

}  // namespace perch::xmpp::push

namespace perch::xmpp {

void BoundSession::on_push(const xml::Element& iq, const xml::Element& request) {
    if (iq.attr_or("type") != "set") return send(make_error(iq, StanzaError::bad_request));
    auto app = Jid::parse(request.attr_or("jid"));
    if (!app) return send(make_error(iq, StanzaError::bad_request, "Name the app server's jid"));
    std::string node = request.attr_or("node");
    bool enabling = request.name() == "enable";
    if (enabling && app->domain() != ctx().domain)
        return send(make_error(iq, StanzaError::remote_server_not_found,
                               "Perch does not connect to other servers: the app server must be "
                               "an account of " +
                                   ctx().domain));
    push::Registration added{app->str(), node, {}};
    for (const auto& c : request.children())
        if (c.is("x", "jabber:x:data")) added.options = xml::to_string(c);
    std::string user = username();
    bool queued = ctx().jobs.submit(
        [this, post = transport().poster(), user, iq, enabling, added](store::Store& s) {
            std::string key(push::kKey);
            auto registrations = push::decode(s.private_xml(user, key).value_or(""));
            if (enabling)
                push::enable(registrations, added);
            else
                push::disable(registrations, added.jid, added.node);
            s.set_private_xml(user, key, push::encode(registrations));
            post([this, iq] { send(make_iq_result(iq)); });
        });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

}  // namespace perch::xmpp
