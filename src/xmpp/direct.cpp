#include "xmpp/direct.hpp"

#include <algorithm>
#include <mutex>

#include "util/time.hpp"
#include "xml/serializer.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp::direct {

Keeping keeping(const xml::Element& m) {
    Keeping k;
    std::string type = m.attr_or("type", "normal");
    if (type != "chat" && type != "normal") {
        k.copies = false;
        return k;
    }
    bool body = m.child("body", ns::client) != nullptr;
    bool content = body || m.child("html", ns::xhtml_im) || m.child("store", ns::hints);
    k.offline = content && !m.child("no-store", ns::hints);
    k.archive = k.offline && !m.child("no-permanent-store", ns::hints);
    // XEP-0280 section 6: chat messages, and normal ones with a body.
    k.copies = (type == "chat" || body) && !m.child("no-copy", ns::hints) &&
               !m.child("private", ns::carbons);
    return k;
}

bool ArchivePrefs::archives(const std::string& peer, bool on_roster) const {
    if (std::find(never.begin(), never.end(), peer) != never.end()) return false;
    if (std::find(always.begin(), always.end(), peer) != always.end()) return true;
    if (by_default == "never") return false;
    if (by_default == "roster") return on_roster;
    return true;
}

std::string ArchivePrefs::encode() const {
    std::string out = by_default + "\n";
    for (const auto& j : always) out += "+" + j + "\n";
    for (const auto& j : never) out += "-" + j + "\n";
    return out;
}

ArchivePrefs ArchivePrefs::decode(std::string_view text) {
    ArchivePrefs p;
    size_t at = 0;
    bool first = true;
    while (at < text.size()) {
        size_t end = text.find('\n', at);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        if (first) {
            first = false;
            if (line == "always" || line == "never" || line == "roster") p.by_default = line;
        } else if (line.size() > 1 && line[0] == '+') {
            p.always.emplace_back(line.substr(1));
        } else if (line.size() > 1 && line[0] == '-') {
            p.never.emplace_back(line.substr(1));
        }
    }
    return p;
}

ArchivePrefs ArchivePrefs::from_element(const xml::Element& prefs) {
    ArchivePrefs p;
    std::string d = prefs.attr_or("default", "always");
    if (d == "always" || d == "never" || d == "roster") p.by_default = d;
    auto jids = [&](std::string_view list, std::vector<std::string>& out) {
        if (const xml::Element* l = prefs.child(list, ns::mam))
            for (const auto& j : l->children())
                if (j.is("jid", ns::mam))
                    if (auto parsed = Jid::parse(j.text())) out.push_back(parsed->bare_str());
    };
    jids("always", p.always);
    jids("never", p.never);
    return p;
}

xml::Element ArchivePrefs::to_element() const {
    xml::Element prefs("prefs", std::string(ns::mam));
    prefs.set_attr("default", by_default);
    auto list = [&](const char* name, const std::vector<std::string>& jids) {
        auto& l = prefs.add_child(name, std::string(ns::mam));
        for (const auto& j : jids) l.add_child("jid", std::string(ns::mam)).add_text(j);
    };
    list("always", always);
    list("never", never);
    return prefs;
}

std::string with_delay(const std::string& stanza, const std::string& domain, int64_t ts_us) {
    std::string delay = "<delay xmlns='urn:xmpp:delay' from='";
    xml::escape_attr(delay, domain);
    delay += "' stamp='" + util::format_timestamp(ts_us) + "'/>";
    size_t close = stanza.rfind("</message>");
    if (close != std::string::npos) return stanza.substr(0, close) + delay + stanza.substr(close);
    // <message .../>: never kept (a kept message has content), but made whole all the same
    if (stanza.size() >= 2 && stanza.compare(stanza.size() - 2, 2, "/>") == 0)
        return stanza.substr(0, stanza.size() - 2) + ">" + delay + "</message>";
    return stanza;
}

std::string carbon(const xml::Element& message, std::string_view kind, const std::string& from_bare,
                   const std::string& to) {
    std::string out = "<message xmlns='jabber:client' type='";
    xml::escape_attr(out, message.attr_or("type", "normal"));
    out += "' from='";
    xml::escape_attr(out, from_bare);
    out += "' to='";
    xml::escape_attr(out, to);
    out += "'><";
    out += kind;
    out += " xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>";
    xml::serialize(out, message, "");
    out += "</forwarded></";
    out += kind;
    out += "></message>";
    return out;
}

void Blocklists::set(const std::string& username, std::vector<std::string> items) {
    std::unique_lock lock(mutex_);
    if (items.empty()) {
        lists_.erase(username);
        return;
    }
    lists_[username] = std::set<std::string>(items.begin(), items.end());
}

void Blocklists::add(const std::string& username, const std::vector<std::string>& items) {
    std::unique_lock lock(mutex_);
    auto& list = lists_[username];
    list.insert(items.begin(), items.end());
}

void Blocklists::remove(const std::string& username, const std::vector<std::string>& items) {
    std::unique_lock lock(mutex_);
    auto it = lists_.find(username);
    if (it == lists_.end()) return;
    for (const auto& i : items) it->second.erase(i);
    if (it->second.empty()) lists_.erase(it);
}

void Blocklists::clear(const std::string& username) {
    std::unique_lock lock(mutex_);
    lists_.erase(username);
}

std::vector<std::string> Blocklists::of(const std::string& username) const {
    std::shared_lock lock(mutex_);
    auto it = lists_.find(username);
    if (it == lists_.end()) return {};
    return {it->second.begin(), it->second.end()};
}

bool Blocklists::blocks(const std::string& username, const Jid& other) const {
    std::shared_lock lock(mutex_);
    auto it = lists_.find(username);
    if (it == lists_.end()) return false;
    const auto& list = it->second;
    // XEP-0191 section 3.4 matches as privacy lists do (XEP-0016 section 2.1).
    return list.count(other.str()) || list.count(other.bare_str()) || list.count(other.domain()) ||
           (!other.resource().empty() && list.count(other.domain() + "/" + other.resource()));
}

}  // namespace perch::xmpp::direct
