#include "xmpp/server_features.hpp"

#include "xmpp/namespaces.hpp"
#include "xmpp/stanza.hpp"

namespace perch::xmpp {

namespace {
void identity(xml::Element& q, const char* category, const char* type, const char* name = nullptr) {
    auto& id = q.add_child("identity", std::string(ns::disco_info));
    id.set_attr("category", category);
    id.set_attr("type", type);
    if (name) id.set_attr("name", name);
}
void feature(xml::Element& q, std::string_view var) {
    q.add_child("feature", std::string(ns::disco_info)).set_attr("var", std::string(var));
}
xml::Element result_for(const xml::Element& iq) {
    auto r = make_iq_result(iq);
    r.remove_attr("to");
    return r;
}
}  // namespace

std::optional<xml::Element> answer_server_iq(
    const xml::Element& iq, const std::string& domain,
    const std::vector<std::pair<std::string, std::string>>& services, const std::string& version,
    uint64_t upload_max_bytes) {
    const xml::Element* q = iq.first_element();
    if (iq.attr_or("type") != "get" || !q || q->attr("node")) return std::nullopt;
    if (q->is("query", ns::disco_info)) {
        auto r = result_for(iq);
        r.set_attr("from", domain);
        auto& query = r.add_child("query", std::string(ns::disco_info));
        identity(query, "server", "im", "Perch");
        for (auto f : {ns::disco_info, ns::disco_items, ns::ping, ns::version, ns::roster,
                       ns::carbons, ns::blocking, ns::offline, ns::vcard})
            feature(query, f);
        if (upload_max_bytes > 0) {
            feature(query, ns::upload);
            auto& form = query.add_child("x", std::string(ns::data_forms));
            form.set_attr("type", "result");
            auto field = [&](const char* var, std::string value, const char* type) {
                auto& f = form.add_child("field", std::string(ns::data_forms));
                f.set_attr("var", var);
                if (type) f.set_attr("type", type);
                f.add_child("value", std::string(ns::data_forms)).add_text(std::move(value));
            };
            field("FORM_TYPE", std::string(ns::upload), "hidden");
            field("max-file-size", std::to_string(upload_max_bytes), nullptr);
        }
        return r;
    }
    if (q->is("query", ns::disco_items)) {
        auto r = result_for(iq);
        r.set_attr("from", domain);
        auto& items = r.add_child("query", std::string(ns::disco_items));
        for (const auto& [jid, name] : services) {
            auto& item = items.add_child("item", std::string(ns::disco_items));
            item.set_attr("jid", jid);
            item.set_attr("name", name);
        }
        return r;
    }
    if (q->is("query", ns::version)) {
        auto r = result_for(iq);
        r.set_attr("from", domain);
        auto& query = r.add_child("query", std::string(ns::version));
        query.add_child("name", std::string(ns::version)).add_text("Perch");
        query.add_child("version", std::string(ns::version)).add_text(version);
        return r;
    }
    return std::nullopt;
}

std::optional<xml::Element> answer_account_iq(const xml::Element& iq) {
    const xml::Element* q = iq.first_element();
    if (iq.attr_or("type") != "get" || !q || q->attr("node")) return std::nullopt;
    if (q->is("query", ns::disco_info)) {
        auto r = make_iq_result(iq);
        r.set_attr("from", iq.attr_or("to"));
        r.remove_attr("to");
        auto& query = r.add_child("query", std::string(ns::disco_info));
        identity(query, "account", "registered");
        identity(query, "pubsub", "pep");
        feature(query, ns::disco_info);
        for (auto f :
             {"http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#publish",
              "http://jabber.org/protocol/pubsub#publish-options",
              "http://jabber.org/protocol/pubsub#retrieve-items",
              "http://jabber.org/protocol/pubsub#retract-items",
              "http://jabber.org/protocol/pubsub#auto-create", "jabber:iq:private",
              "urn:xmpp:bookmarks:1#compat", "urn:xmpp:mam:2", "urn:xmpp:mam:2#extended",
              "urn:xmpp:push:0"})
            feature(query, f);
        return r;
    }
    return std::nullopt;
}

}  // namespace perch::xmpp
