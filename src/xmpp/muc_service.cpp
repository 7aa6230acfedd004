#include "xmpp/muc_service.hpp"

#include <spdlog/spdlog.h>

#include "xmpp/mam.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp {

namespace {
// disco#items nodes of the chat service: the category list, and one node per category.
constexpr const char* kCategoriesNode = "categories";
constexpr const char* kCategoryNodePrefix = "category/";
}  // namespace

StanzaError stanza_error(chat::Fault fault) {
    using F = chat::Fault;
    switch (fault) {
        case F::bad_request:
            return StanzaError::bad_request;
        case F::bad_address:
            return StanzaError::jid_malformed;
        case F::not_found:
            return StanzaError::item_not_found;
        case F::forbidden:
            return StanzaError::forbidden;
        case F::members_only:
            return StanzaError::registration_required;
        case F::not_allowed:
            return StanzaError::not_allowed;
        case F::not_acceptable:
        case F::not_occupant:
            return StanzaError::not_acceptable;
        case F::conflict:
            return StanzaError::conflict;
        case F::busy:
        case F::too_fast:
            return StanzaError::resource_constraint;
        case F::internal:
            return StanzaError::internal_server_error;
    }
    return StanzaError::internal_server_error;
}

xml::Element error_reply(const xml::Element& stanza, const chat::Error& e) {
    return make_error(stanza, stanza_error(e.fault), e.text);
}

MucService::MucService(MucConfig config, chat::RoomCommands& rooms, chat::Directory& directory,
                       MucDelivery& delivery, util::Shards& shards)
    : config_(std::move(config)),
      rooms_(rooms),
      directory_(directory),
      delivery_(delivery),
      shards_(shards) {}

std::optional<std::string> MucService::room_node(const std::string& jid) const {
    auto j = Jid::parse(jid);
    if (!j || j->domain() != config_.domain || j->local().empty()) return std::nullopt;
    return j->local();
}

chat::Actor MucService::actor(const Jid& from,
                              const std::shared_ptr<const chat::Subject>& who) const {
    return chat::Actor{who, from.str(), {}};
}

void MucService::handle(xml::Element stanza, const Jid& from, const Jid& to,
                        SessionHandlePtr sender, std::shared_ptr<const chat::Subject> who) {
    if (!who) return;  // only authenticated sessions get here
    const std::string& kind = stanza.name();
    std::string type = stanza.attr_or("type");
    if (to.local().empty()) {
        if (kind == "iq") return on_service_iq(stanza, sender, who);
        if (type != "error" && kind != "presence")
            sender->deliver(
                Outgoing::element(make_error(stanza, StanzaError::service_unavailable)));
        return;
    }
    if (type == "error") return;  // errors to rooms end here (XEP-0045 bounces are not kept)
    auto me = actor(from, who);
    auto& admission = config_.admission;
    const void* owner = sender.get();
    bool join = admission && joins(stanza, from, to);
    if (!admission || (!join && !admission->waiting_for(owner)))
        return to_room(std::move(stanza), from, to, sender, me, nullptr);
    // A join waits its turn (util/admission.hpp); the session's later room stanzas follow it.
    auto later = [this, stanza = std::move(stanza), from, to, sender,
                  me = std::move(me)](const util::Admission::TicketPtr& ticket) mutable {
        if (sender->alive()) to_room(std::move(stanza), from, to, sender, me, ticket);
    };
    if (join) return admission->enter(owner, std::move(later));
    admission->follow(owner, [later = std::move(later)]() mutable { later(nullptr); });
}

bool MucService::joins(const xml::Element& stanza, const Jid& from, const Jid& to) const {
    return stanza.name() == "presence" && !stanza.attr("type") && !to.resource().empty() &&
           !delivery_.occupies(from.str(), to.local());
}

void MucService::to_room(xml::Element stanza, const Jid& from, const Jid& to,
                         const SessionHandlePtr& sender, const chat::Actor& actor,
                         const util::Admission::TicketPtr& ticket) {
    const std::string& kind = stanza.name();
    if (kind == "presence") return on_presence(std::move(stanza), from, to, sender, actor, ticket);
    if (kind == "message") return on_message(std::move(stanza), from, to, sender, actor);
    if (kind == "iq") return on_room_iq(stanza, from, to, sender, actor);
}

void MucService::session_ended(const Jid& full) {
    for (auto& room : delivery_.rooms_of(full.str()))
        rooms_.leave(chat::LeaveCommand{std::move(room), full.str(), {}}, {});
}

std::optional<StanzaError> MucService::vet_invitation(const chat::Subject& who,
                                                      const Jid& room) const {
    if (room.domain() != config_.domain) return std::nullopt;
    if (!directory_.room_for(who, room.local(), chat::Action::find))
        return StanzaError::item_not_found;
    if (!directory_.room_for(who, room.local(), chat::Action::invite))
        return StanzaError::forbidden;
    return std::nullopt;
}

void MucService::on_service_iq(const xml::Element& iq, const SessionHandlePtr& sender,
                               const std::shared_ptr<const chat::Subject>& who) {
    std::string type = iq.attr_or("type");
    if (type != "get" && type != "set") return;
    const xml::Element* q = iq.first_element();
    auto reply = [&](const xml::Element& e) { sender->deliver(Outgoing::element(e)); };
    if (type == "get" && q && q->is("query", ns::disco_info) && !q->attr("node")) {
        auto r = make_iq_result(iq);
        auto& query = r.add_child("query", std::string(ns::disco_info));
        auto& id = query.add_child("identity", std::string(ns::disco_info));
        id.set_attr("category", "conference");
        id.set_attr("type", "text");
        id.set_attr("name", "Chat rooms");
        for (auto f : {ns::disco_info, ns::disco_items, ns::muc, ns::sid, ns::occupant_id, ns::mam,
                       ns::following})
            query.add_child("feature", std::string(ns::disco_info)).set_attr("var", std::string(f));
        // Where people create and manage rooms (XEP-0128 extended information).
        std::string manage = config_.settings->room_management_url();
        if (manage.empty()) manage = config_.rooms_url;
        if (!manage.empty()) {
            auto& form = query.add_child("x", std::string(ns::data_forms));
            form.set_attr("type", "result");
            for (auto [var, value] :
                 {std::pair<std::string, std::string>{"FORM_TYPE", "urn:perch:rooms:0"},
                  {"management-url", manage}}) {
                auto& field = form.add_child("field", std::string(ns::data_forms));
                field.set_attr("var", var);
                if (var == "FORM_TYPE") field.set_attr("type", "hidden");
                field.add_child("value", std::string(ns::data_forms)).add_text(value);
            }
        }
        return reply(r);
    }
    if (type == "get" && q && q->is("query", ns::disco_items)) {
        const std::string* node = q->attr("node");
        if (!node) return reply(list_rooms(iq, *who, nullptr));
        if (*node == kCategoriesNode) {
            // The categories this user is allowed in, each a node listing its rooms.
            auto r = make_iq_result(iq);
            auto& query = r.add_child("query", std::string(ns::disco_items));
            query.set_attr("node", *node);
            for (const auto& category : directory_.categories_for(*who)) {
                auto& item = query.add_child("item", std::string(ns::disco_items));
                item.set_attr("jid", config_.domain);
                item.set_attr("node", std::string(kCategoryNodePrefix) + category.name);
                item.set_attr("name", category.name);
            }
            return reply(r);
        }
        if (node->starts_with(kCategoryNodePrefix)) {
            std::string name = node->substr(std::string_view(kCategoryNodePrefix).size());
            return reply(list_rooms(iq, *who, &name));
        }
        return reply(make_error(iq, StanzaError::item_not_found));
    }
    if (q && q->is("ping", ns::ping)) return reply(make_iq_result(iq));
    if (q && q->is("query", ns::mam)) {
        if (type == "get") {
            auto r = make_iq_result(iq);
            r.add_child("query", std::string(ns::mam)).add(mam::query_form(mam::FormKind::service));
            return reply(r);
        }
        return search_all_rooms(iq, *q, sender, chat::Actor{who, iq.attr_or("from"), {}});
    }
    if (q && type == "get" && q->is("following", ns::following))
        return on_following(iq, sender, who);
    if (q && type == "set" && q->is("read", ns::following))
        return on_mark_read(iq, *q, sender, who);
    reply(make_error(iq, StanzaError::service_unavailable));
}

xml::Element MucService::list_rooms(const xml::Element& iq, const chat::Subject& who,
                                    const std::string* category) const {
    auto reply = make_iq_result(iq);
    auto& query = reply.add_child("query", std::string(ns::disco_items));
    if (const std::string* node = iq.first_element()->attr("node")) query.set_attr("node", *node);
    // Only the rooms this user may find: never a secret room to a non-member.
    for (const auto& listing : directory_.rooms_for(who, category)) {
        auto& item = query.add_child("item", std::string(ns::disco_items));
        item.set_attr("jid", room_jid(listing.meta.node));
        item.set_attr("name", listing.meta.name);
    }
    return reply;
}

void MucService::search_all_rooms(const xml::Element& iq, const xml::Element& query,
                                  const SessionHandlePtr& sender, const chat::Actor& actor) {
    auto parsed = mam::parse_query(query, config_.domain);
    if (auto* err = std::get_if<mam::QueryError>(&parsed))
        return sender->deliver(Outgoing::element(make_error(iq, err->condition, err->text)));
    bool backward = mam::pages_backward(std::get<store::ArchiveQuery>(parsed));
    chat::SearchCommand c{actor, std::get<store::ArchiveQuery>(std::move(parsed)),
                          mam::followed_only(query)};
    rooms_.search(std::move(c),
                  answer<chat::SearchResult>(
                      iq, sender,
                      [this, iq, sender, query_id = query.attr_or("queryid"),
                       backward](const chat::SearchResult& r) {
                          std::string to = iq.attr_or("from");
                          for (const auto& m : r.page.messages)
                              sender->deliver(mam::render_result(m, room_jid(r.rooms.at(m.room_id)),
                                                                 to, query_id, config_.domain));
                          sender->deliver(Outgoing::element(mam::render_fin(iq, r.page, backward)));
                      }));
}

}  // namespace perch::xmpp
