// Personal eventing on the user's own bare JID (XEP-0163: publish, items, retract, with
// notifications to the user's resources) and private XML storage (XEP-0049): what clients
// keep bookmarks and settings in.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "util/ids.hpp"
#include "util/utf8.hpp"
#include "xml/serializer.hpp"
#include "xml/stream_parser.hpp"
#include "xmpp/bookmarks.hpp"
#include "xmpp/namespaces.hpp"
#include "xmpp/session.hpp"
#include "xmpp/vcard.hpp"

namespace perch::xmpp {

namespace {
std::string attr(std::string_view name, std::string_view value) {
    std::string out = " ";
    out += name;
    out += "='";
    xml::escape_attr(out, value);
    out += '\'';
    return out;
}

// An IQ result whose payload is already serialized.
std::string iq_result(const xml::Element& iq, const std::string& payload) {
    std::string out = "<iq xmlns='jabber:client' type='result'" + attr("id", iq.attr_or("id"));
    if (auto* to = iq.attr("to")) out += attr("from", *to);
    if (auto* from = iq.attr("from")) out += attr("to", *from);
    return out + ">" + payload + "</iq>";
}
// After a change to one of the two bookmark nodes, rewrites the other (XEP-0402 section 5.3);
// runs on a store thread and returns the events the user's resources must then get.
std::vector<std::string> mirror_bookmarks(store::Store& s, const std::string& user,
                                          const std::string& node) {
    std::vector<std::string> events;
    if (node == bookmarks::kNode) {
        auto items = s.pep_items(user, bookmarks::kNode).value_or(bookmarks::Items{});
        std::string legacy = bookmarks::to_legacy(items);
        s.put_pep_item(user, bookmarks::kLegacyNode, "current", legacy);
        events.push_back("<items" + attr("node", bookmarks::kLegacyNode) + "><item id='current'>" +
                         legacy + "</item></items>");
    } else if (node == bookmarks::kLegacyNode) {
        auto legacy = s.pep_items(user, bookmarks::kLegacyNode).value_or(bookmarks::Items{});
        auto wanted =
            bookmarks::from_legacy(legacy.empty() ? std::string() : legacy.front().second);
        auto existing = s.pep_items(user, bookmarks::kNode).value_or(bookmarks::Items{});
        std::string event = "<items" + attr("node", bookmarks::kNode) + ">";
        for (const auto& entry : existing) {
            const std::string& id = entry.first;
            bool kept = std::any_of(wanted.begin(), wanted.end(),
                                    [&](const auto& w) { return w.first == id; });
            if (kept) continue;
            s.remove_pep_item(user, bookmarks::kNode, id);
            event += "<retract" + attr("id", id) + "/>";
        }
        for (const auto& [id, payload] : wanted) {
            s.put_pep_item(user, bookmarks::kNode, id, payload);
            event += "<item" + attr("id", id) + ">" + payload + "</item>";
        }
        events.push_back(event + "</items>");
    }
    return events;
}

// Which rooms have been made bookmarks for the user as a member (room JIDs, one per line).
constexpr const char* kSeededKey = "perch:member-bookmarks";

// The rooms the user belongs to become bookmarks that join at sign-in (XEP-0402 autojoin), so
// that every client opens on them; each room once, so that one the user has taken out stays
// out. `rooms`: JID and name. On a store thread; the events for the user's resources, if the
// bookmarks changed.
std::vector<std::string> bookmark_memberships(store::Store& s, const std::string& user,
                                              const bookmarks::Items& rooms) {
    if (rooms.empty()) return {};
    std::string seeded = s.private_xml(user, kSeededKey).value_or("");
    std::set<std::string> done;
    for (size_t at = 0; at < seeded.size();) {
        size_t end = std::min(seeded.find('\n', at), seeded.size());
        if (end > at) done.insert(seeded.substr(at, end - at));
        at = end + 1;
    }
    auto existing = s.pep_items(user, bookmarks::kNode).value_or(bookmarks::Items{});
    std::string event;
    bool listed = false;
    for (const auto& room : rooms) {
        const std::string& jid = room.first;
        const std::string& name = room.second;
        if (!done.insert(jid).second) continue;
        listed = true;
        if (std::any_of(existing.begin(), existing.end(),
                        [&](const auto& e) { return e.first == jid; }))
            continue;
        xml::Element c("conference", bookmarks::kNode);
        if (!name.empty()) c.set_attr("name", name);
        c.set_attr("autojoin", "true");
        c.add_child("nick", bookmarks::kNode).add_text(user);
        std::string payload = xml::to_string(c);
        s.put_pep_item(user, bookmarks::kNode, jid, payload);
        event += "<item" + attr("id", jid) + ">" + payload + "</item>";
    }
    if (listed) {
        std::string list;
        for (const auto& jid : done) list += jid + "\n";
        s.set_private_xml(user, kSeededKey, list);
    }
    if (event.empty()) return {};
    auto events = mirror_bookmarks(s, user, bookmarks::kNode);
    events.insert(events.begin(),
                  "<items" + attr("node", bookmarks::kNode) + ">" + event + "</items>");
    return events;
}

void avatar_to_vcard(store::Store& s, const std::string& user, const std::string& metadata) {
    // XEP-0398's direction: the PEP avatar becomes the vCard's photo. The metadata names
    // the data item, published before it; a metadata without one takes the photo away.
    std::optional<vcard::Photo> photo;
    if (auto meta = xml::parse_fragment(metadata)) {
        if (const xml::Element* info = meta->child("info", vcard::kAvatarMetadata)) {
            auto data = s.pep_items(user, vcard::kAvatarData).value_or(bookmarks::Items{});
            for (const auto& [id, payload] : data)
                if (id == info->attr_or("id")) photo = vcard::photo_from_pep(metadata, payload);
            if (!photo) return;  // not (yet) a photo it can find: the card stays as it is
        }
    }
    std::optional<xml::Element> card;
    if (auto stored = s.vcard(user)) card = xml::parse_fragment(*stored);
    if (!card) {
        auto account = s.find_user(user);
        if (!account) return;
        card = vcard::from_account(*account);
    }
    vcard::set_photo(*card, photo);
    s.set_vcard(user, xml::to_string(*card));
}

// Whether writing `content` in place of `replaced` would take a user's personal storage past
// `limit` (0: none). On a store thread.
bool beyond(store::Store& s, int64_t limit, const std::string& user,
            const store::PersonalEntry& replaced, const std::string& content) {
    return limit > 0 &&
           s.personal_size(user, replaced) + int64_t(util::utf8_length(content)) > limit;
}
}  // namespace

void BoundSession::refuse_as_full(const xml::Element& iq, int64_t limit) {
    send(make_error(iq, StanzaError::resource_constraint,
                    fmt::format("Your personal storage is full ({} KB at most): retract "
                                "items or remove private data first",
                                limit / 1024)));
}

void BoundSession::notify_own_resources(const std::string& event_body) {
    // One headline per resource, from the account itself (XEP-0163 section 4.3).
    auto prepared = std::make_shared<PreparedStanza>();
    prepared->text = "<message xmlns='jabber:client'" + attr("from", jid().bare_str()) +
                     " type='headline'><event xmlns='http://jabber.org/protocol/pubsub#event'>" +
                     event_body + "</event></message>";
    prepared->split = std::string_view("<message").size();
    for (auto& r : ctx().router.resources(jid().bare()))
        r->deliver(Outgoing::addressed(prepared, r->jid().str()));
}

void BoundSession::on_pubsub(const xml::Element& iq, const xml::Element& pubsub) {
    std::string type = iq.attr_or("type");
    const xml::Element* op = pubsub.first_element();
    if (!op) return send(make_error(iq, StanzaError::bad_request));
    std::string node = op->attr_or("node");
    if (node.empty()) return send(make_error(iq, StanzaError::bad_request, "A node is required"));
    std::string user = username();

    if (type == "set" && op->is("publish", ns::pubsub)) {
        const xml::Element* item = op->child("item", ns::pubsub);
        const xml::Element* payload = item ? item->first_element() : nullptr;
        if (!payload)
            return send(
                make_error(iq, StanzaError::bad_request, "Publish one item with a payload"));
        std::string id = item->attr_or("id");
        if (id.empty()) id = util::random_id();
        std::string xml_payload = xml::to_string(*payload);
        // publish-options (access model, persistence) are accepted: a user's nodes are always
        // persistent and only the user reads them.
        bool queued =
            ctx().jobs.submit([this, post = transport().poster(), user, node, id, xml_payload, iq,
                               limit = ctx().personal_storage](store::Store& s) {
                if (beyond(s, limit, user, {node, id, ""}, xml_payload))
                    return post([this, iq, limit] { refuse_as_full(iq, limit); });
                s.put_pep_item(user, node, id, xml_payload);
                auto mirrored = mirror_bookmarks(s, user, node);
                if (node == vcard::kAvatarMetadata) avatar_to_vcard(s, user, xml_payload);
                post([this, node, id, xml_payload, iq, mirrored] {
                    session_.emit(Outgoing::raw(
                        iq_result(iq, "<pubsub xmlns='http://jabber.org/protocol/pubsub'><publish" +
                                          attr("node", node) + "><item" + attr("id", id) +
                                          "/></publish></pubsub>")));
                    notify_own_resources("<items" + attr("node", node) + "><item" + attr("id", id) +
                                         ">" + xml_payload + "</item></items>");
                    for (const auto& e : mirrored) notify_own_resources(e);
                });
            });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    if (type == "set" && op->is("retract", ns::pubsub)) {
        const xml::Element* item = op->child("item", ns::pubsub);
        std::string id = item ? item->attr_or("id") : "";
        if (id.empty())
            return send(make_error(iq, StanzaError::bad_request, "Name the item to retract"));
        bool notify = op->attr_or("notify") == "true" || op->attr_or("notify") == "1";
        bool queued = ctx().jobs.submit([this, post = transport().poster(), user, node, id, notify,
                                         iq](store::Store& s) {
            bool removed = s.remove_pep_item(user, node, id);
            auto mirrored = removed ? mirror_bookmarks(s, user, node) : std::vector<std::string>{};
            post([this, removed, notify, node, id, iq, mirrored] {
                if (!removed) return send(make_error(iq, StanzaError::item_not_found));
                send(make_iq_result(iq));
                if (notify)
                    notify_own_resources("<items" + attr("node", node) + "><retract" +
                                         attr("id", id) + "/></items>");
                for (const auto& e : mirrored) notify_own_resources(e);
            });
        });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    if (type == "get" && op->is("items", ns::pubsub)) return on_pubsub_items(iq, *op, user);
    send(make_error(iq, StanzaError::feature_not_implemented,
                    "Only publish, items and retract are offered"));
}

void BoundSession::on_pubsub_items(const xml::Element& iq, const xml::Element& op,
                                   const std::string& owner) {
    std::string node = op.attr_or("node");
    std::vector<std::string> wanted;
    for (const auto& c : op.children())
        if (c.is("item", ns::pubsub)) wanted.push_back(c.attr_or("id"));
    size_t max = 0;
    try {
        if (auto* m = op.attr("max_items")) max = std::stoul(*m);
    } catch (...) {
        return send(make_error(iq, StanzaError::bad_request, "Bad max_items"));
    }
    // A user's first look at their bookmarks finds the rooms they belong to among them.
    bookmarks::Items memberships;
    if (owner == username() && (node == bookmarks::kNode || node == bookmarks::kLegacyNode) &&
        ctx().directory && subject())
        for (const auto& room : ctx().directory->member_rooms(*subject()))
            memberships.emplace_back(room.meta.node + "@" + ctx().muc_domain, room.meta.name);
    bool queued = ctx().jobs.submit([this, post = transport().poster(), owner, node, wanted, max,
                                     iq, memberships](store::Store& s) {
        auto added = bookmark_memberships(s, owner, memberships);
        auto items = s.pep_items(owner, node);
        post([this, items = std::move(items), node, wanted, max, iq, added] {
            for (const auto& e : added) notify_own_resources(e);
            if (!items) return send(make_error(iq, StanzaError::item_not_found));
            std::string body = "<pubsub xmlns='http://jabber.org/protocol/pubsub'><items" +
                               attr("node", node) + ">";
            size_t n = 0;
            for (const auto& [id, payload] : *items) {
                if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), id) == wanted.end())
                    continue;
                if (max && n++ >= max) break;
                body += "<item" + attr("id", id) + ">" + payload + "</item>";
            }
            body += "</items></pubsub>";
            session_.emit(Outgoing::raw(iq_result(iq, body)));
        });
    });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

void BoundSession::on_private(const xml::Element& iq, const xml::Element& query) {
    const xml::Element* child = query.first_element();
    if (!child || child->ns() == ns::private_storage || child->ns() == ns::client)
        return send(make_error(iq, StanzaError::not_acceptable));
    std::string key = child->ns() + " " + child->name();
    std::string user = username();
    if (iq.attr_or("type") == "set") {
        std::string xml_text = xml::to_string(*child);
        bool queued = ctx().jobs.submit([this, post = transport().poster(), user, key, xml_text, iq,
                                         limit = ctx().personal_storage](store::Store& s) {
            if (beyond(s, limit, user, {"", "", key}, xml_text))
                return post([this, iq, limit] { refuse_as_full(iq, limit); });
            s.set_private_xml(user, key, xml_text);
            post([this, iq] { send(make_iq_result(iq)); });
        });
        if (!queued) send(make_error(iq, StanzaError::resource_constraint));
        return;
    }
    std::string empty = xml::to_string(xml::Element(child->name(), child->ns()));
    bool queued = ctx().jobs.submit([this, post = transport().poster(), user, key, empty,
                                     iq](store::Store& s) {
        auto stored = s.private_xml(user, key);
        post([this, stored, empty, iq] {
            session_.emit(Outgoing::raw(iq_result(
                iq, "<query xmlns='jabber:iq:private'>" + stored.value_or(empty) + "</query>")));
        });
    });
    if (!queued) send(make_error(iq, StanzaError::resource_constraint));
}

}  // namespace perch::xmpp
