#include "xmpp/bookmarks.hpp"

#include "xmpp/jid.hpp"

#include <optional>

#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"

namespace perch::xmpp::bookmarks {

namespace {
constexpr const char* kLegacyNs = "storage:bookmarks";

std::optional<xml::Element> parse(const std::string& payload) {
    return xml::parse_fragment(payload);
}
}  // namespace

std::string to_legacy(const Items& items) {
    xml::Element storage("storage", kLegacyNs);
    for (const auto& [jid, payload] : items) {
        auto c = parse(payload);
        if (!c) continue;
        auto& conf = storage.add_child("conference", kLegacyNs);
        conf.set_attr("jid", jid);
        if (auto* name = c->attr("name")) conf.set_attr("name", *name);
        std::string autojoin = c->attr_or("autojoin", "false");
        conf.set_attr("autojoin", autojoin == "1" || autojoin == "true" ? "true" : "false");
        if (auto nick = c->child_text("nick", kNode); !nick.empty())
            conf.add_child("nick", kLegacyNs).add_text(nick);
        if (auto pw = c->child_text("password", kNode); !pw.empty())
            conf.add_child("password", kLegacyNs).add_text(pw);
    }
    return xml::to_string(storage);
}

Items from_legacy(const std::string& storage_xml) {
    Items out;
    auto storage = parse(storage_xml);
    if (!storage || !storage->is("storage", kLegacyNs)) return out;
    for (const auto& conf : storage->children()) {
        if (!conf.is("conference", kLegacyNs) || conf.attr_or("jid").empty()) continue;
        xml::Element c("conference", kNode);
        if (auto* name = conf.attr("name")) c.set_attr("name", *name);
        std::string autojoin = conf.attr_or("autojoin", "false");
        c.set_attr("autojoin", autojoin == "1" || autojoin == "true" ? "true" : "false");
        if (auto nick = conf.child_text("nick", kLegacyNs); !nick.empty())
            c.add_child("nick", kNode).add_text(nick);
        if (auto pw = conf.child_text("password", kLegacyNs); !pw.empty())
            c.add_child("password", kNode).add_text(pw);
        out.emplace_back(conf.attr_or("jid"), xml::to_string(c));
    }
    return out;
}

std::vector<std::string> followed_rooms(store::Store& s, const std::string& user,
                                        const std::string& muc_domain) {
    std::vector<std::string> nodes;
    if (auto items = s.pep_items(user, kNode))
        for (const auto& [jid, payload] : *items)
            if (auto room = Jid::parse(jid); room && room->domain() == muc_domain)
                nodes.push_back(room->local());
    return nodes;
}

}  // namespace perch::xmpp::bookmarks
