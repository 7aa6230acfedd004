// The IQs a room answers: discovery, configuration, member lists, moderation, its archive.
#include "xmpp/muc_room.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <variant>

#include "util/base64.hpp"
#include "util/crypto.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"
#include "util/utf8.hpp"
#include "xml/serializer.hpp"
#include "xmpp/mam.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

using RoomContext = MucService::RoomContext;

// IQs ------------------------------------------------------------------------------------

void RoomContext::on_iq(const xml::Element& iq, const Jid& from, const Jid& to,
                        SessionHandlePtr sender) {
    std::string type = iq.attr_or("type");
    if (type != "get" && type != "set") return;
    const xml::Element* q = iq.first_element();
    const chat::Occupant* me = room.by_jid(from.str());
    if (!to.resource().empty()) {
        // XEP-0410 self-ping: answered by the room for the occupant's own nickname.
        if (q && q->is("ping", ns::ping)) {
            if (me && me->nick == to.resource()) return reply(sender, make_iq_result(iq));
            return reply(sender, make_error(iq, me ? StanzaError::feature_not_implemented
                                                   : StanzaError::not_acceptable));
        }
        return reply(sender, make_error(iq, StanzaError::service_unavailable));
    }
    if (!q) return reply(sender, make_error(iq, StanzaError::bad_request));
    // A room one may not find answers like a room that does not exist.
    if (!may(chat::Action::find)) return reply(sender, make_error(iq, StanzaError::item_not_found));
    if (type == "get" && q->is("query", ns::disco_info) && !q->attr("node"))
        return reply(sender, disco_info(iq));
    if (type == "get" && q->is("query", ns::disco_items)) {
        // The occupant list (XEP-0045 6.5), for occupants only: it names who is there.
        auto r = make_iq_result(iq);
        auto& items = r.add_child("query", std::string(ns::disco_items));
        if (me) {
            std::string_view listed;
            for (const auto& [nick, o] : room.occupants()) {
                if (nick == listed) continue;  // one item per nickname
                listed = nick;
                items.add_child("item", std::string(ns::disco_items))
                    .set_attr("jid", nick_jid(nick));
            }
        }
        return reply(sender, r);
    }
    if (q->is("query", ns::mam)) return on_mam(iq, *q, from, std::move(sender));
    if (q->is("query", ns::muc_admin)) return on_admin(iq, *q, std::move(sender));
    if (type == "set" && q->is("apply-to", ns::fasten)) {  // XEP-0425 version 0.2
        if (const xml::Element* m = q->child("moderate", ns::moderate0);
            m && m->child("retract", ns::retract0))
            return on_moderate(iq, q->attr_or("id"), m->child_text("reason", ns::moderate0),
                               std::move(sender));
    }
    if (type == "set" && q->is("moderate", ns::moderate1) && q->child("retract", ns::retract1))
        return on_moderate(iq, q->attr_or("id"), q->child_text("reason", ns::moderate1),
                           std::move(sender));
    if (q->is("query", ns::muc_owner)) {
        if (!may(chat::Action::configure))
            return reply(sender, make_error(iq, StanzaError::forbidden,
                                            "Only the room's managers may configure it"));
        auto r = make_iq_result(iq);
        if (type == "get") {
            r.add_child("query", std::string(ns::muc_owner)).add(config_form());
        } else if (q->child("destroy", ns::muc_owner)) {
            return reply(sender, make_error(iq, StanzaError::forbidden,
                                            "Managers cannot delete a room; they can disable it"));
        } else if (const xml::Element* form = q->child("x", ns::data_forms);
                   form && form->attr_or("type") == "submit") {
            return configure(*form, [iq, sender](std::optional<MucService::Refusal> refused) {
                sender->deliver(
                    Outgoing::element(refused ? make_error(iq, refused->first, refused->second)
                                              : make_iq_result(iq)));
            });
        }
        return reply(sender, r);
    }
    reply(sender, make_error(iq, StanzaError::service_unavailable));
}

void RoomContext::on_admin(const xml::Element& iq, const xml::Element& query,
                           SessionHandlePtr sender) {
    if (!may(chat::Action::configure))
        return reply(sender,
                     make_error(iq, StanzaError::forbidden, "Only managers edit the member lists"));
    // Our lists seen as XEP-0045 affiliations: managers are owners, members and presenters
    // are members.
    const std::string& user_domain = service.config_.user_domain;
    auto& rules = room.rules();
    if (iq.attr_or("type") == "get") {
        const xml::Element* item = query.child("item", ns::muc_admin);
        std::string wanted = item ? item->attr_or("affiliation") : "";
        std::string role = item ? item->attr_or("role") : "";
        auto r = make_iq_result(iq);
        auto& q = r.add_child("query", std::string(ns::muc_admin));
        auto list = [&](const std::vector<store::Principal>& people, const char* affiliation) {
            for (const auto& p : people) {
                if (p.kind != store::Principal::Kind::user) continue;  // groups have no JID
                auto& i = q.add_child("item", std::string(ns::muc_admin));
                i.set_attr("affiliation", affiliation);
                i.set_attr("jid", p.name + "@" + user_domain);
            }
        };
        if (wanted == "owner")
            list(rules.managers, "owner");
        else if (wanted == "member")
            list(rules.members, "member"), list(rules.presenters, "member");
        else if (role == "participant" && rules.type == store::RoomType::auditorium)
            list(rules.presenters, "member");
        else if (wanted != "admin" && wanted != "outcast" && role.empty())
            return reply(sender,
                         make_error(iq, StanzaError::bad_request, "Ask for one affiliation list"));
        return reply(sender, r);
    }
    // set: each item moves one user between our lists.
    std::vector<std::pair<std::optional<store::RoomList>, std::string>> changes;  // nullopt: none
    for (const auto& item : query.children()) {
        if (!item.is("item", ns::muc_admin)) continue;
        std::string affiliation = item.attr_or("affiliation");
        std::string role = item.attr_or("role");
        std::string user;
        if (auto j = Jid::parse(item.attr_or("jid"));
            j && j->domain() == user_domain && !j->local().empty())
            user = j->local();
        else if (const chat::Occupant* o = room.by_nick(item.attr_or("nick")))
            user = Jid::parse(o->bare_jid)->local();
        if (user.empty())
            return reply(sender, make_error(iq, StanzaError::item_not_found, "No such user here"));
        if (affiliation == "owner" || affiliation == "admin")
            changes.emplace_back(store::RoomList::manager, user);
        else if (affiliation == "member")
            changes.emplace_back(store::RoomList::member, user);
        else if (affiliation == "none")
            changes.emplace_back(std::nullopt, user);
        else if (role == "participant")
            changes.emplace_back(store::RoomList::presenter, user);
        else if (role == "visitor")
            changes.emplace_back(std::nullopt, user + "\npresenter");
        else
            return reply(sender, make_error(iq, StanzaError::not_allowed,
                                            "Banning is done with the category's denied list"));
    }
    int64_t room_id = room.meta().id;
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = room.meta().node;
    std::vector<store::ComplianceEvent> events;
    for (const auto& [list, who_] : changes)
        events.push_back(
            event("MEMBERSHIP",
                  {{"principal", "user:" + who_.substr(0, who_.find('\n'))},
                   {"list", who_.find('\n') != std::string::npos ? "presenter"
                            : list ? std::string(store::to_string(*list))
                                   : "none"},
                   {"change", who_.find('\n') != std::string::npos || !list ? "removed" : "set"}}));
    bool queued = service.workers_.submit([=](store::Store& s) {
        try {
            s.with_events(events, [&] {
                for (const auto& [list, who_] : changes) {
                    auto nl = who_.find('\n');
                    std::string user = who_.substr(0, nl);
                    auto p = store::Principal::user(user);
                    if (nl != std::string::npos) {
                        s.set_room_principal(room_id, store::RoomList::presenter, p, false);
                        continue;
                    }
                    for (auto l : {store::RoomList::member, store::RoomList::manager})
                        if (!list || *list != l) s.set_room_principal(room_id, l, p, false);
                    if (list) s.set_room_principal(room_id, *list, p, true);
                }
            });
            auto meta = s.find_room(node);
            auto rules = chat::room_rules(*meta, s.room_principals(room_id));
            sh->executor->post([=] {
                auto it = sh->rooms.find(node);
                if (it != sh->rooms.end() && it->second.room) {
                    RoomContext ctx{*svc, *sh, *it->second.room, {}};
                    ctx.apply_rules(rules, svc->category_rules(ctx.room.meta().category_id), 321,
                                    "You are no longer a member of this room");
                }
                svc->directory_put(*meta, rules);
                sender->deliver(Outgoing::element(make_iq_result(iq)));
            });
        } catch (const std::exception& e) {
            spdlog::error("member list change in {} failed: {}", node, e.what());
            sender->deliver(Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
        }
    });
    if (!queued) reply(sender, make_error(iq, StanzaError::resource_constraint));
}

void RoomContext::on_moderate(const xml::Element& iq, const std::string& stanza_id,
                              const std::string& reason, SessionHandlePtr sender) {
    if (!may(chat::Action::configure))
        return reply(sender,
                     make_error(iq, StanzaError::forbidden, "Only managers remove messages"));
    if (stanza_id.empty()) return reply(sender, make_error(iq, StanzaError::bad_request));
    const chat::Occupant* me = room.by_jid(iq.attr_or("from"));
    std::string by = me ? nick_jid(me->nick) : room_bare();
    std::string notice =
        "This message was removed by a moderator" + (reason.empty() ? "" : ": " + reason);
    // The archive keeps a tombstone (XEP-0425 section 6) in place of the text.
    xml::Element tombstone("moderated", std::string(ns::moderate0));
    tombstone.set_attr("by", by);
    tombstone.add_child("retracted", std::string(ns::retract0))
        .set_attr("stamp", util::format_timestamp(util::now_us()));
    if (!reason.empty()) tombstone.add_child("reason", std::string(ns::moderate0)).add_text(reason);
    std::string payload;
    xml::serialize(payload, tombstone, ns::client);
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = room.meta().node;
    int64_t room_id = room.meta().id;
    auto removal = event("MODERATE", {{"id", stanza_id}, {"reason", reason}, {"by", by}});
    bool queued = service.workers_.submit([=](store::Store& s) {
        std::optional<store::Message> changed;
        try {
            s.with_events({removal}, [&] {
                changed = s.remove_message(room_id, stanza_id, notice, payload);
                if (!changed) throw store::UnknownId("no such message");
            });
        } catch (const store::UnknownId&) {
            changed.reset();
        } catch (const std::exception& e) {
            spdlog::error("removing {} from {} failed: {}", stanza_id, node, e.what());
            return sender->deliver(
                Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
        }
        sh->executor->post([=] {
            if (!changed)
                return sender->deliver(
                    Outgoing::element(make_error(iq, StanzaError::item_not_found)));
            auto it = sh->rooms.find(node);
            if (it == sh->rooms.end() || !it->second.room) return;
            RoomContext ctx{*svc, *sh, *it->second.room, {}};
            ctx.room.replace_cached(*changed);
            spdlog::info("message {} in {} removed by {}", stanza_id, node, by);
            // Tell every occupant, in both versions of the protocol that clients speak.
            xml::Element m("message", std::string(ns::client));
            m.set_attr("from", ctx.room_bare());
            m.set_attr("type", "groupchat");
            m.set_attr("id", util::random_id());
            auto& apply = m.add_child("apply-to", std::string(ns::fasten));
            apply.set_attr("id", stanza_id);
            auto& old_form = apply.add_child("moderated", std::string(ns::moderate0));
            old_form.set_attr("by", by);
            old_form.add_child("retract", std::string(ns::retract0));
            if (!reason.empty())
                old_form.add_child("reason", std::string(ns::moderate0)).add_text(reason);
            auto& retract = m.add_child("retract", std::string(ns::retract1));
            retract.set_attr("id", stanza_id);
            retract.add_child("moderated", std::string(ns::moderate1)).set_attr("by", by);
            if (!reason.empty())
                retract.add_child("reason", std::string(ns::retract1)).add_text(reason);
            ctx.broadcast(PreparedStanza::from(m));
            sender->deliver(Outgoing::element(make_iq_result(iq)));
        });
    });
    if (!queued) reply(sender, make_error(iq, StanzaError::resource_constraint));
}

void RoomContext::on_mam(const xml::Element& iq, const xml::Element& query, const Jid& from,
                         SessionHandlePtr sender) {
    if (iq.attr_or("type") == "get") {
        auto r = make_iq_result(iq);
        r.add_child("query", std::string(ns::mam)).add(mam::query_form());
        return reply(sender, r);
    }
    (void)from;
    if (!may(chat::Action::read_history))
        return reply(
            sender, make_error(iq, StanzaError::forbidden, "You may not read this room's history"));
    auto parsed = mam::parse_query(query, room_bare());
    if (auto* err = std::get_if<mam::QueryError>(&parsed))
        return reply(sender, make_error(iq, err->condition, err->text));
    auto q = std::get<store::ArchiveQuery>(std::move(parsed));
    q.room_id = room.meta().id;
    // Results go straight from the store thread to the session, in order: every result message
    // before the IQ result that ends the query (XEP-0313 section 4.2).
    std::optional<store::ComplianceEvent> viewed;
    if (service.config_.compliance)
        viewed = event("BACKCHAT",
                       {{"on", "archive"}, {"text", q.text}, {"max", std::to_string(q.max)}});
    auto lane = q.text.empty() ? store::StoreWorkers::Lane::quick : store::StoreWorkers::Lane::slow;
    bool queued = service.workers_.submit(
        [q = std::move(q), iq, sender, bare = room_bare(), to = from.str(), viewed,
         query_id = query.attr_or("queryid")](store::Store& s) {
            try {
                if (viewed) s.record({*viewed});  // on record before anything is shown
                auto page = s.query_archive(q);
                for (const auto& m : page.messages)
                    sender->deliver(mam::render_result(m, bare, to, query_id));
                sender->deliver(Outgoing::element(mam::render_fin(iq, page)));
            } catch (const store::UnknownId& e) {
                sender->deliver(
                    Outgoing::element(make_error(iq, StanzaError::item_not_found, e.what())));
            } catch (const std::exception& e) {
                spdlog::error("archive query on {} failed: {}", bare, e.what());
                sender->deliver(
                    Outgoing::element(make_error(iq, StanzaError::internal_server_error)));
            }
        },
        lane);
    if (!queued) reply(sender, make_error(iq, StanzaError::resource_constraint));
}

namespace {
void add_field(xml::Element& form, std::string var, std::string value, std::string type = {},
               std::string label = {}) {
    auto& f = form.add_child("field", std::string(ns::data_forms));
    f.set_attr("var", std::move(var));
    if (!type.empty()) f.set_attr("type", std::move(type));
    if (!label.empty()) f.set_attr("label", std::move(label));
    f.add_child("value", std::string(ns::data_forms)).add_text(std::move(value));
}
}  // namespace

xml::Element RoomContext::disco_info(const xml::Element& iq) const {
    const auto& meta = room.meta();
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
    add_field(form, "muc#roominfo_occupants", std::to_string(room.occupant_count()), {},
              "Occupants");
    add_field(form, "{urn:perch:room:0}category", room.category().name, {}, "Category");
    add_field(form, "{urn:perch:limits:0}message-max-chars",
              std::to_string(service.config_.max_message_chars), {}, "Longest message");
    add_field(form, "{urn:perch:limits:0}story-max-chars",
              std::to_string(service.config_.max_story_chars), {}, "Longest story");
    return r;
}

xml::Element RoomContext::config_form() const {
    xml::Element form("x", std::string(ns::data_forms));
    form.set_attr("type", "form");
    form.add_child("title", std::string(ns::data_forms))
        .add_text("Configuration of " + room.meta().name);
    add_field(form, "FORM_TYPE", "http://jabber.org/protocol/muc#roomconfig", "hidden");
    add_field(form, "muc#roomconfig_roomname", room.meta().name, "text-single", "Name");
    add_field(form, "muc#roomconfig_roomdesc", room.meta().description, "text-single",
              "Description");
    const auto& meta = room.meta();
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
    add_field(form, "{urn:perch:room:0}disabled", flag(meta.disabled), "boolean",
              "Disabled: nobody may enter, history is kept");
    // The category: where the room is, or one where this manager may create rooms.
    add_field(form, "{urn:perch:room:0}category", room.category().name, "list-single", "Category");
    auto& category = form.children().back();
    std::set<std::string> choices{room.category().name};
    if (who)
        for (auto& name : service.creatable_categories(*who)) choices.insert(name);
    for (const auto& name : choices) {
        auto& option = category.add_child("option", std::string(ns::data_forms));
        option.set_attr("label", name);
        option.add_child("value", std::string(ns::data_forms)).add_text(name);
    }
    add_field(form, "{urn:perch:room:0}drop-outsiders", "0", "boolean",
              "When moving: remove members the new category does not admit");
    return form;
}

namespace {

// What a submitted configuration form asks for; fields left out change nothing.
struct ConfigChange {
    std::optional<std::string> name, description, category;
    std::optional<bool> listed, members_only, auditorium, invitations, disabled;
    bool drop_outsiders = false;  // moving: remove members the new category does not admit
};

constexpr size_t kMaxRoomName = 256;

std::variant<ConfigChange, std::string> parse_config(const xml::Element& form) {
    ConfigChange c;
    for (const auto& f : form.children()) {
        if (!f.is("field", ns::data_forms)) continue;
        std::string value = f.child_text("value", ns::data_forms);
        std::string var = f.attr_or("var");
        bool on = value == "1" || value == "true";
        if (var == "muc#roomconfig_roomname") {
            if (value.empty()) continue;
            if (util::utf8_length(value) > kMaxRoomName)
                return "A room name has at most " + std::to_string(kMaxRoomName) + " characters";
            c.name = value;
        } else if (var == "muc#roomconfig_roomdesc") {
            c.description = value;
        } else if (var == "muc#roomconfig_publicroom") {
            c.listed = on;
        } else if (var == "muc#roomconfig_membersonly") {
            c.members_only = on;
        } else if (var == "muc#roomconfig_moderatedroom") {
            c.auditorium = on;
        } else if (var == "muc#roomconfig_allowinvites") {
            c.invitations = on;
        } else if (var == "{urn:perch:room:0}disabled") {
            c.disabled = on;
        } else if (var == "{urn:perch:room:0}category") {
            if (!value.empty()) c.category = value;
        } else if (var == "{urn:perch:room:0}drop-outsiders") {
            c.drop_outsiders = on;
        }
    }
    return c;
}

// The room record with the change applied (the category is the caller's business).
store::Room applied(store::Room meta, const ConfigChange& c) {
    if (c.name) meta.name = *c.name;
    if (c.description) meta.description = *c.description;
    if (c.auditorium)
        meta.type = *c.auditorium ? store::RoomType::auditorium : store::RoomType::normal;
    if (c.invitations) meta.invitations = *c.invitations;
    if (c.disabled) meta.disabled = *c.disabled;
    // Privacy: open = listed and open; closed = listed, members only; secret = unlisted,
    // members only.
    if (c.listed && !*c.listed)
        meta.privacy = store::Privacy::secret;
    else if (c.members_only)
        meta.privacy = *c.members_only ? store::Privacy::closed : store::Privacy::open;
    else if (c.listed && meta.privacy == store::Privacy::secret)
        meta.privacy = store::Privacy::closed;
    return meta;
}

std::string describe(const std::vector<std::pair<store::RoomList, store::Principal>>& entries) {
    std::string out;
    for (const auto& [list, p] : entries) {
        if (!out.empty()) out += ", ";
        out += store::to_string(p) + " (" + std::string(store::to_string(list)) + ")";
    }
    return out;
}

}  // namespace

void RoomContext::configure(const xml::Element& form, MucService::Done done) {
    using Refusal = MucService::Refusal;
    auto parsed = parse_config(form);
    if (auto* err = std::get_if<std::string>(&parsed))
        return done(Refusal{StanzaError::not_acceptable, *err});
    const auto& change = std::get<ConfigChange>(parsed);
    store::Room meta = applied(room.meta(), change);
    auto target = service.category_rules(meta.category_id);
    bool moving = change.category && *change.category != room.category().name;
    if (moving) {
        auto found = service.category_named(*change.category);
        if (!found)
            return done(Refusal{StanzaError::not_acceptable,
                                "There is no category named " + *change.category});
        if (!who->administrator && !chat::may_create_room(*who, *found->second))
            return done(Refusal{StanzaError::forbidden,
                                "A room moves only into a category where you create rooms"});
        meta.category_id = found->first;
        target = found->second;
    }
    // Why those who must leave are leaving.
    const store::Room& before = room.meta();
    int code = 321;
    std::string reason;
    if (meta.disabled && !before.disabled) {
        code = 322;
        reason = "This room has been disabled";
    } else if (meta.privacy != store::Privacy::open && before.privacy == store::Privacy::open) {
        code = 322;
        reason = "This room is now for members only";
    } else if (moving) {
        reason = "This room moved to a category you are not allowed in";
    }
    auto* svc = &service;
    auto* sh = &shard;
    std::string node = meta.node;
    bool drop = change.drop_outsiders;
    // The event's details are completed on the store thread (who was dropped, if anybody).
    auto change_event = event(meta.disabled && !before.disabled ? "ROOMDISABLE" : "ROOMCHANGE", {});
    util::JsonFields change_details{{"name", meta.name},
                                    {"description", meta.description},
                                    {"privacy", std::string(store::to_string(meta.privacy))},
                                    {"type", std::string(store::to_string(meta.type))},
                                    {"invitations", meta.invitations ? "true" : "false"},
                                    {"disabled", meta.disabled ? "true" : "false"},
                                    {"category", target->name}};
    bool queued = service.workers_.submit([=](store::Store& s) {
        try {
            std::vector<std::pair<store::RoomList, store::Principal>> outside;
            if (moving) {
                outside = chat::outside_category(
                    s.room_principals(meta.id), *target, [&](const std::string& user) {
                        auto groups = s.groups_of(user);
                        return std::set<std::string>(groups.begin(), groups.end());
                    });
                if (!outside.empty() && !drop)
                    return done(Refusal{
                        StanzaError::not_acceptable,
                        "Category " + target->name + " does not admit " + describe(outside) +
                            ". Nothing was changed; to move the room and remove them from it, "
                            "submit again with {urn:perch:room:0}drop-outsiders set"});
            }
            auto details = change_details;
            if (!outside.empty()) details.emplace_back("dropped", describe(outside));
            auto recorded = change_event;
            recorded.content = util::json_object(details);
            s.with_events({recorded}, [&] {
                s.update_room(meta);
                for (const auto& [list, p] : outside) s.set_room_principal(meta.id, list, p, false);
            });
            auto rules = chat::room_rules(meta, s.room_principals(meta.id));
            if (moving)
                spdlog::info("room {} moved to category {}{}", node, target->name,
                             outside.empty() ? "" : ", dropping " + describe(outside));
            sh->executor->post([=] {
                auto it = sh->rooms.find(node);
                if (it != sh->rooms.end() && it->second.room) {
                    RoomContext ctx{*svc, *sh, *it->second.room, {}};
                    auto& m = ctx.room.meta();  // the subject may have moved on meanwhile
                    m.name = meta.name;
                    m.description = meta.description;
                    m.privacy = meta.privacy;
                    m.type = meta.type;
                    m.invitations = meta.invitations;
                    m.disabled = meta.disabled;
                    m.category_id = meta.category_id;
                    ctx.apply_rules(rules, target, code, reason);
                    svc->directory_put(m, rules);
                } else {
                    svc->directory_put(meta, rules);
                }
                done(std::nullopt);
            });
        } catch (const store::Conflict& e) {
            done(Refusal{StanzaError::conflict, e.what()});
        } catch (const std::exception& e) {
            spdlog::error("configuring {} failed: {}", node, e.what());
            done(Refusal{StanzaError::internal_server_error, "The change was not stored"});
        }
    });
    if (!queued) done(Refusal{StanzaError::resource_constraint, "Server busy, try again"});
}

}  // namespace perch::xmpp
