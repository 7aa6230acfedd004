// The IQs a room answers: discovery, self-ping, configuration (XEP-0045 owner form), member
// lists and kicks (admin items), moderation (XEP-0425) and its archive (XEP-0313).
#include <spdlog/spdlog.h>

#include <set>

#include "util/utf8.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/muc_service.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {

void add_field(xml::Element& form, std::string var, std::string value, std::string type = {},
               std::string label = {}) {
    auto& f = form.add_child("field", std::string(ns::data_forms));
    f.set_attr("var", std::move(var));
    if (!type.empty()) f.set_attr("type", std::move(type));
    if (!label.empty()) f.set_attr("label", std::move(label));
    f.add_child("value", std::string(ns::data_forms)).add_text(std::move(value));
}

xml::Element disco_info(const xml::Element& iq, const chat::RoomInfo& info, const MucConfig& c) {
    const auto& meta = info.meta;
    auto r = make_iq_result(iq);
    auto& query = r.add_child("query", std::string(ns::disco_info));
    auto& id = query.add_child("identity", std::string(ns::disco_info));
    id.set_attr("category", "conference");
    id.set_attr("type", "text");
    id.set_attr("name", meta.name);
    std::vector<std::string> features{
        std::string(ns::disco_info),  std::string(ns::muc),      "muc_persistent",
        "muc_nonanonymous",           "muc_unsecured",           std::string(ns::sid),
        std::string(ns::occupant_id), std::string(ns::mam),      std::string(ns::mam_extended),
        std::string(ns::moderate0),   std::string(ns::moderate1)};
    features.push_back(meta.privacy == store::Privacy::secret ? "muc_hidden" : "muc_public");
    features.push_back(meta.privacy == store::Privacy::open ? "muc_open" : "muc_membersonly");
    features.push_back(meta.type == store::RoomType::auditorium ? "muc_moderated"
                                                                : "muc_unmoderated");
    for (auto& f : features)
        query.add_child("feature", std::string(ns::disco_info)).set_attr("var", f);
    auto& form = query.add_child("x", std::string(ns::data_forms));
    form.set_attr("type", "result");
    add_field(form, "FORM_TYPE", "http://jabber.org/protocol/muc#roominfo", "hidden");
    add_field(form, "muc#roominfo_description", meta.description, {}, "Description");
    add_field(form, "muc#roominfo_subject", meta.subject, {}, "Subject");
    add_field(form, "muc#roominfo_occupants", std::to_string(info.occupants), {}, "Occupants");
    add_field(form, "{urn:perch:room:0}category", info.category, {}, "Category");
    if (!info.addin_url.empty()) {
        add_field(form, "{urn:perch:room:0}addin", meta.addin, {}, "Add-in");
        add_field(form, "{urn:perch:room:0}addin-url", info.addin_url, {}, "Add-in page");
    }
    add_field(form, "{urn:perch:limits:0}message-max-chars",
              std::to_string(c.settings->max_message_chars()), {}, "Longest message");
    add_field(form, "{urn:perch:limits:0}story-max-chars",
              std::to_string(c.settings->max_story_chars()), {}, "Longest story");
    return r;
}

xml::Element config_form(const chat::RoomInfo& info) {
    const auto& meta = info.meta;
    xml::Element form("x", std::string(ns::data_forms));
    form.set_attr("type", "form");
    form.add_child("title", std::string(ns::data_forms)).add_text("Configuration of " + meta.name);
    add_field(form, "FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig", "hidden");
    add_field(form, "muc#roomconfig_roomname", meta.name, "text-single", "Name");
    add_field(form, "muc#roomconfig_roomdesc", meta.description, "text-single", "Description");
    auto flag = [](bool b) { return std::string(b ? "1" : "0"); };
    add_field(form, "muc#roomconfig_persistentroom", "1", "fixed", "Rooms are always persistent");
    // Privacy: open = public and open; closed = public, members only; secret = hidden, members
    // only.
    add_field(form, "muc#roomconfig_publicroom", flag(meta.privacy != store::Privacy::secret),
              "boolean", "Listed in the room browser");
    add_field(form, "muc#roomconfig_membersonly", flag(meta.privacy != store::Privacy::open),
              "boolean", "Members only");
    add_field(form, "muc#roomconfig_moderatedroom", flag(meta.type == store::RoomType::auditorium),
              "boolean", "Auditorium: only presenters and managers speak");
    add_field(form, "muc#roomconfig_allowinvites", flag(meta.invitations), "boolean",
              "Invitations");
    add_field(form, "muc#roomconfig_changesubject", flag(meta.occupants_change_subject), "boolean",
              "Everyone who may speak changes the subject (else managers only)");
    add_field(form, "{urn:perch:room:0}disabled", flag(meta.disabled), "boolean",
              "Disabled: nobody may enter, history is kept");
    // The category: where the room is, or one where this manager may create rooms.
    add_field(form, "{urn:perch:room:0}category", info.category, "list-single", "Category");
    auto& category = form.children().back();
    for (const auto& name : info.move_targets) {
        auto& option = category.add_child("option", std::string(ns::data_forms));
        option.set_attr("label", name);
        option.add_child("value", std::string(ns::data_forms)).add_text(name);
    }
    add_field(form, "{urn:perch:room:0}drop-outsiders", "0", "boolean",
              "When moving: remove members the new category does not admit");
    return form;
}

// What a submitted configuration form asks for, given the room's privacy now; fields left out
// change nothing.
chat::SettingsChange parse_config(const xml::Element& form, store::Privacy privacy_now) {
    chat::SettingsChange c;
    std::optional<bool> listed, members_only;
    for (const auto& f : form.children()) {
        if (!f.is("field", ns::data_forms)) continue;
        std::string value = f.child_text("value", ns::data_forms);
        std::string var = f.attr_or("var");
        bool on = value == "1" || value == "true";
        if (var == "muc#roomconfig_roomname") {
            if (!value.empty()) c.name = value;
        } else if (var == "muc#roomconfig_roomdesc") {
            c.description = value;
        } else if (var == "muc#roomconfig_publicroom") {
            listed = on;
        } else if (var == "muc#roomconfig_membersonly") {
            members_only = on;
        } else if (var == "muc#roomconfig_moderatedroom") {
            c.type = on ? store::RoomType::auditorium : store::RoomType::normal;
        } else if (var == "muc#roomconfig_allowinvites") {
            c.invitations = on;
        } else if (var == "muc#roomconfig_changesubject") {
            c.occupants_change_subject = on;
        } else if (var == "{urn:perch:room:0}disabled") {
            c.disabled = on;
        } else if (var == "{urn:perch:room:0}category") {
            if (!value.empty()) c.category = value;
        } else if (var == "{urn:perch:room:0}drop-outsiders") {
            c.drop_outsiders = on;
        }
    }
    // Privacy: open = listed and open; closed = listed, members only; secret = unlisted,
    // members only.
    if (listed && !*listed)
        c.privacy = store::Privacy::secret;
    else if (members_only)
        c.privacy = *members_only ? store::Privacy::closed : store::Privacy::open;
    else if (listed && privacy_now == store::Privacy::secret)
        c.privacy = store::Privacy::closed;
    return c;
}

// Answers `iq` once every one of `count` commands has answered: with the first refusal, or a
// result.
chat::Reply<chat::Ok> all_of(size_t count, const xml::Element& iq, const SessionHandlePtr& sender) {
    struct Pending {
        size_t left;
        std::optional<chat::Error> refused;
        std::mutex mutex;
    };
    auto pending = std::make_shared<Pending>();
    pending->left = count;
    return [pending, iq, sender](const chat::Result<chat::Ok>& r) {
        std::optional<chat::Error> refused;
        {
            std::lock_guard lock(pending->mutex);
            if (!r && !pending->refused) pending->refused = r.error();
            if (--pending->left > 0) return;
            refused = pending->refused;
        }
        sender->deliver(
            Outgoing::element(refused ? error_reply(iq, *refused) : make_iq_result(iq)));
    };
}

}  // namespace

void MucService::on_room_iq(const xml::Element& iq, const Jid& from, const Jid& to,
                            const SessionHandlePtr& sender, const chat::Actor& actor) {
    auto reply = [&](const xml::Element& e) { sender->deliver(Outgoing::element(e)); };
    std::string type = iq.attr_or("type");
    if (type != "get" && type != "set") return;
    const xml::Element* q = iq.first_element();
    const std::string& room = to.local();
    if (!to.resource().empty()) {
        // XEP-0410 self-ping: answered for the occupant's own nickname, by this server, which
        // knows its own occupants.
        if (!q || !q->is("ping", ns::ping))
            return reply(make_error(iq, StanzaError::service_unavailable));
        shards_.of(room).post([this, iq, sender, room, full = from.str(), nick = to.resource()] {
            auto mine = delivery_.nick_of(room, full);
            sender->deliver(Outgoing::element(
                mine && *mine == nick ? make_iq_result(iq)
                                      : make_error(iq, mine ? StanzaError::feature_not_implemented
                                                            : StanzaError::not_acceptable)));
        });
        return;
    }
    if (!q) return reply(make_error(iq, StanzaError::bad_request));
    if (type == "get" && q->is("query", ns::disco_info) && !q->attr("node"))
        return rooms_.info(
            room, actor,
            answer<chat::RoomInfo>(iq, sender, [this, iq, sender](const chat::RoomInfo& info) {
                sender->deliver(Outgoing::element(disco_info(iq, info, config_)));
            }));
    if (type == "get" && q->is("query", ns::disco_items)) {
        // The occupant list (XEP-0045 6.5), for occupants only: it names who is there.
        return rooms_.occupants(
            room, actor,
            answer<std::vector<std::string>>(
                iq, sender, [this, iq, sender, room](const std::vector<std::string>& nicks) {
                    auto r = make_iq_result(iq);
                    auto& items = r.add_child("query", std::string(ns::disco_items));
                    for (const auto& nick : nicks)
                        items.add_child("item", std::string(ns::disco_items))
                            .set_attr("jid", room_jid(room) + "/" + nick);
                    sender->deliver(Outgoing::element(r));
                }));
    }
    if (q->is("query", ns::mam)) return on_mam(iq, *q, room, sender, actor);
    if (q->is("query", ns::muc_admin)) return on_admin(iq, *q, room, sender, actor);
    std::optional<std::pair<std::string, std::string>> moderation;  // id, reason
    if (type == "set" && q->is("apply-to", ns::fasten)) {           // XEP-0425 version 0.2
        if (const xml::Element* m = q->child("moderate", ns::moderate0);
            m && m->child("retract", ns::retract0))
            moderation = {q->attr_or("id"), m->child_text("reason", ns::moderate0)};
    }
    if (type == "set" && q->is("moderate", ns::moderate1) && q->child("retract", ns::retract1))
        moderation = {q->attr_or("id"), q->child_text("reason", ns::moderate1)};
    if (moderation)
        return rooms_.moderate(
            chat::ModerateCommand{room, actor, moderation->first, moderation->second, {}},
            answer<chat::Ok>(iq, sender, [iq, sender](const chat::Ok&) {
                sender->deliver(Outgoing::element(make_iq_result(iq)));
            }));
    if (q->is("query", ns::muc_owner)) return on_owner(iq, *q, room, sender, actor);
    reply(make_error(iq, StanzaError::service_unavailable));
}

void MucService::on_owner(const xml::Element& iq, const xml::Element& query,
                          const std::string& room, const SessionHandlePtr& sender,
                          const chat::Actor& actor) {
    auto done = answer<chat::Ok>(iq, sender, [iq, sender](const chat::Ok&) {
        sender->deliver(Outgoing::element(make_iq_result(iq)));
    });
    if (iq.attr_or("type") == "set") {
        if (const xml::Element* destroy = query.child("destroy", ns::muc_owner))
            return rooms_.destroy(
                chat::DestroyCommand{room, actor, destroy->child_text("reason", ns::muc_owner)},
                done);
        if (const xml::Element* form = query.child("x", ns::data_forms);
            form && form->attr_or("type") == "submit") {
            auto now = directory_.room(room);
            chat::ConfigureCommand c{
                room, actor, parse_config(*form, now ? now->meta.privacy : store::Privacy::open)};
            return rooms_.configure(std::move(c), done);
        }
    }
    // The form, or a cancelled one: for managers only.
    rooms_.info(
        room, actor, answer<chat::RoomInfo>(iq, sender, [iq, sender](const chat::RoomInfo& info) {
            if (!info.may_configure)
                return sender->deliver(Outgoing::element(make_error(
                    iq, StanzaError::forbidden, "Only the room's managers may configure it")));
            auto r = make_iq_result(iq);
            if (iq.attr_or("type") == "get")
                r.add_child("query", std::string(ns::muc_owner)).add(config_form(info));
            sender->deliver(Outgoing::element(r));
        }));
}

void MucService::on_admin(const xml::Element& iq, const xml::Element& query,
                          const std::string& room, const SessionHandlePtr& sender,
                          const chat::Actor& actor) {
    // Our lists seen as XEP-0045 affiliations: managers are owners, members and presenters
    // are members; the presenters of an auditorium are its participants.
    if (iq.attr_or("type") == "get") {
        const xml::Element* item = query.child("item", ns::muc_admin);
        std::string wanted = item ? item->attr_or("affiliation") : "";
        std::string role = item ? item->attr_or("role") : "";
        return rooms_.info(
            room, actor,
            answer<chat::RoomInfo>(
                iq, sender, [this, iq, sender, wanted, role](const chat::RoomInfo& info) {
                    auto reply = [&](const xml::Element& e) {
                        sender->deliver(Outgoing::element(e));
                    };
                    if (!info.may_configure)
                        return reply(make_error(iq, StanzaError::forbidden,
                                                "Only managers edit the member lists"));
                    const auto& rules = info.rules;
                    auto r = make_iq_result(iq);
                    auto& q = r.add_child("query", std::string(ns::muc_admin));
                    auto list = [&](const std::vector<store::Principal>& people,
                                    const char* affiliation) {
                        for (const auto& p : people) {
                            if (p.kind != store::Principal::Kind::user)
                                continue;  // groups have no JID
                            auto& i = q.add_child("item", std::string(ns::muc_admin));
                            i.set_attr("affiliation", affiliation);
                            i.set_attr("jid", p.name + "@" + config_.user_domain);
                        }
                    };
                    if (wanted == "owner")
                        list(rules.managers, "owner");
                    else if (wanted == "member")
                        list(rules.members, "member"), list(rules.presenters, "member");
                    else if (role == "participant" && rules.type == store::RoomType::auditorium)
                        list(rules.presenters, "member");
                    else if (wanted == "outcast")
                        list(rules.denied, "outcast");
                    else if (wanted != "admin" && role.empty())
                        return reply(make_error(iq, StanzaError::bad_request,
                                                "Ask for one affiliation list"));
                    reply(r);
                }));
    }
    // set: each item moves one user between our lists, or kicks an occupant.
    std::vector<chat::ListChange> changes;
    std::vector<chat::KickCommand> kicks;
    for (const auto& item : query.children()) {
        if (!item.is("item", ns::muc_admin)) continue;
        std::string affiliation = item.attr_or("affiliation");
        std::string role = item.attr_or("role");
        std::string nick = item.attr_or("nick");
        if (role == "none" && affiliation.empty()) {
            if (nick.empty())
                return sender->deliver(Outgoing::element(
                    make_error(iq, StanzaError::bad_request, "Kick an occupant by nickname")));
            kicks.push_back({room, actor, nick, item.child_text("reason", ns::muc_admin)});
            continue;
        }
        store::Principal who;
        if (auto j = Jid::parse(item.attr_or("jid"));
            j && j->domain() == config_.user_domain && !j->local().empty())
            who = store::Principal::user(j->local());
        else if (nick.empty())
            return sender->deliver(Outgoing::element(
                make_error(iq, StanzaError::item_not_found, "No such user here")));
        else
            who.name.clear();
        auto change = [&](store::RoomList list, bool present) {
            changes.push_back({list, who, present, who.name.empty() ? nick : std::string()});
        };
        // An affiliation is one of a user's lists in the room: granting one takes the others.
        if (affiliation == "owner" || affiliation == "admin") {
            change(store::RoomList::denied, false);
            change(store::RoomList::member, false);
            change(store::RoomList::manager, true);
        } else if (affiliation == "member") {
            change(store::RoomList::denied, false);
            change(store::RoomList::manager, false);
            change(store::RoomList::member, true);
        } else if (affiliation == "none") {
            change(store::RoomList::denied, false);
            change(store::RoomList::member, false);
            change(store::RoomList::manager, false);
        } else if (affiliation == "outcast") {
            // Banned (XEP-0045 9.1): on the room's denied list, off every other.
            change(store::RoomList::member, false);
            change(store::RoomList::manager, false);
            change(store::RoomList::presenter, false);
            change(store::RoomList::denied, true);
        } else if (role == "participant") {
            change(store::RoomList::presenter, true);
        } else if (role == "visitor") {
            change(store::RoomList::presenter, false);
        } else {
            return sender->deliver(Outgoing::element(
                make_error(iq, StanzaError::bad_request, "Unknown affiliation or role")));
        }
    }
    auto done = all_of(kicks.size() + (changes.empty() ? 0 : 1), iq, sender);
    if (kicks.empty() && changes.empty()) return done(chat::Ok{});  // nothing asked
    if (!changes.empty())
        rooms_.change_lists(chat::ListsCommand{room, actor, std::move(changes)}, done);
    for (auto& k : kicks) rooms_.kick(std::move(k), done);
}

void MucService::on_mam(const xml::Element& iq, const xml::Element& query, const std::string& room,
                        const SessionHandlePtr& sender, const chat::Actor& actor) {
    if (iq.attr_or("type") == "get") {
        auto r = make_iq_result(iq);
        r.add_child("query", std::string(ns::mam)).add(mam::query_form());
        return sender->deliver(Outgoing::element(r));
    }
    std::string bare = room_jid(room);
    auto parsed = mam::parse_query(query, bare);
    if (auto* err = std::get_if<mam::QueryError>(&parsed))
        return sender->deliver(Outgoing::element(make_error(iq, err->condition, err->text)));
    bool backward = mam::pages_backward(std::get<store::ArchiveQuery>(parsed));
    chat::ArchiveCommand c{room, actor, std::get<store::ArchiveQuery>(std::move(parsed))};
    // Each result, then the <fin/> that ends the query (XEP-0313 section 4.2), straight from
    // the store thread to the session: they arrive in that order.
    rooms_.archive(std::move(c),
                   answer<store::ArchivePage>(
                       iq, sender,
                       [iq, sender, bare, to = actor.full_jid, query_id = query.attr_or("queryid"),
                        backward](const store::ArchivePage& page) {
                           for (const auto& m : page.messages)
                               sender->deliver(mam::render_result(m, bare, to, query_id));
                           sender->deliver(Outgoing::element(mam::render_fin(iq, page, backward)));
                       }));
}

}  // namespace perch::xmpp
