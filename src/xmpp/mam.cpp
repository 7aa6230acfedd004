#include "xmpp/mam.hpp"

#include "util/time.hpp"
#include "xml/serializer.hpp"
#include "xmpp/jid.hpp"
#include "xmpp/muc_render.hpp"
#include "xmpp/namespaces.hpp"

namespace perch::xmpp::mam {

namespace {
xml::Element& add_field(xml::Element& form, const char* var, const char* type, const char* label) {
    auto& f = form.add_child("field", std::string(ns::data_forms));
    f.set_attr("var", var);
    f.set_attr("type", type);
    if (label) f.set_attr("label", label);
    return f;
}

std::vector<std::string> values(const xml::Element& field) {
    std::vector<std::string> out;
    for (const auto& v : field.children())
        if (v.is("value", ns::data_forms)) out.push_back(v.text());
    return out;
}
}  // namespace

bool followed_only(const xml::Element& query) {
    if (const xml::Element* form = query.child("x", ns::data_forms))
        for (const auto& f : form->children())
            if (f.is("field", ns::data_forms) && f.attr_or("var") == kFollowedField) {
                auto v = f.child_text("value", ns::data_forms);
                return v == "1" || v == "true";
            }
    return false;
}

xml::Element query_form(FormKind kind) {
    xml::Element form("x", std::string(ns::data_forms));
    form.set_attr("type", "form");
    add_field(form, "FORM_TYPE", "hidden", nullptr)
        .add_child("value", std::string(ns::data_forms))
        .add_text(std::string(ns::mam));
    add_field(form, "with", "jid-single", "Author (room/nick or user JID)");
    add_field(form, "start", "text-single", "From (XEP-0082 time)");
    add_field(form, "end", "text-single", "Until (XEP-0082 time)");
    if (kind != FormKind::user)
        add_field(form, "{urn:xmpp:fulltext:0}fulltext", "text-single", "Containing these words");
    add_field(form, "before-id", "text-single", nullptr);
    add_field(form, "after-id", "text-single", nullptr);
    add_field(form, "ids", "text-multi", nullptr);
    if (kind != FormKind::user) {
        add_field(form, "{urn:perch:search:0}any", "boolean", "Any of the words instead of all");
        add_field(form, "{urn:perch:search:0}case-sensitive", "boolean",
                  "Match the case of the words");
    }
    if (kind == FormKind::service)
        add_field(form, kFollowedField, "boolean", "Only the rooms I follow");
    return form;
}

std::variant<store::ArchiveQuery, QueryError> parse_query(const xml::Element& query,
                                                          const std::string& room_bare) {
    store::ArchiveQuery q;
    q.max = kDefaultPage;
    if (const xml::Element* form = query.child("x", ns::data_forms)) {
        for (const auto& f : form->children()) {
            if (!f.is("field", ns::data_forms)) continue;
            std::string var = f.attr_or("var");
            auto vals = values(f);
            std::string v = vals.empty() ? std::string() : vals.front();
            if (var == "FORM_TYPE") {
                if (v != ns::mam) return QueryError{StanzaError::bad_request, "Unknown FORM_TYPE"};
            } else if (var == "start" || var == "end") {
                if (v.empty()) continue;
                auto t = util::parse_timestamp(v);
                if (!t) return QueryError{StanzaError::bad_request, "Bad time in " + var};
                (var == "start" ? q.start_us : q.end_us) = *t;
            } else if (var == "with") {
                if (v.empty()) continue;
                auto j = Jid::parse(v);
                if (!j) return QueryError{StanzaError::jid_malformed, "Bad JID in with"};
                if (j->bare_str() == room_bare)
                    q.with_nick = j->resource();
                else
                    q.with_sender = j->bare_str();
            } else if (var == "{urn:xmpp:fulltext:0}fulltext" || var == "withtext") {
                q.text = v;
            } else if (var == "before-id") {
                if (!v.empty()) q.before_id = v;
            } else if (var == "after-id") {
                if (!v.empty()) q.after_id = v;
            } else if (var == "ids") {
                q.ids = vals;
            } else if (var == "{urn:perch:search:0}any") {
                q.any_word = v == "1" || v == "true";
            } else if (var == "{urn:perch:search:0}case-sensitive") {
                q.case_sensitive = v == "1" || v == "true";
            } else if (var == kFollowedField) {
                continue;  // the chat service's business: see followed_only()
            } else {
                return QueryError{StanzaError::feature_not_implemented, "Unknown field " + var};
            }
        }
    }
    if (const xml::Element* set = query.child("set", ns::rsm)) {
        if (const xml::Element* max = set->child("max", ns::rsm)) {
            try {
                q.max = std::stoi(max->text());
            } catch (...) {
                return QueryError{StanzaError::bad_request, "Bad RSM max"};
            }
            if (q.max < 0) return QueryError{StanzaError::bad_request, "Bad RSM max"};
        }
        if (const xml::Element* after = set->child("after", ns::rsm)) {
            if (after->text().empty())
                return QueryError{StanzaError::bad_request, "Empty RSM after"};
            q.after_id = after->text();
        }
        if (const xml::Element* before = set->child("before", ns::rsm)) {
            if (before->text().empty())
                q.last_page = true;
            else
                q.before_id = before->text();
        }
    }
    // The server caps a page; clients are told through RSM <count> and complete='false'.
    q.max = std::min(q.max, kMaxPage);
    if (!q.ids.empty()) q.max = std::max<int>(q.max, int(q.ids.size()));
    return q;
}

namespace {
// <message to from><result queryid id><forwarded><delay/>INNER</forwarded></result></message>
Outgoing render_forwarded(std::string_view inner, const std::string& id, int64_t ts_us,
                          const std::string& to, const std::string& query_id,
                          const std::string& archive) {
    Outgoing o;
    std::string& s = o.head;
    s.reserve(inner.size() + 400);
    s += "<message xmlns='jabber:client' to='";
    xml::escape_attr(s, to);
    s += "' from='";
    xml::escape_attr(s, archive);
    s += "'><result xmlns='urn:xmpp:mam:2'";
    if (!query_id.empty()) {
        s += " queryid='";
        xml::escape_attr(s, query_id);
        s += '\'';
    }
    s += " id='";
    xml::escape_attr(s, id);
    s += "'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='";
    s += util::format_timestamp(ts_us);
    s += "'/>";
    s += inner;
    s += "</forwarded></result></message>";
    return o;
}
}  // namespace

Outgoing render_result(const store::Message& m, const std::string& room_bare, const std::string& to,
                       const std::string& query_id, const std::string& archive) {
    auto inner = muc::render_message(m, room_bare, false);
    return render_forwarded(inner->text, m.stanza_id, m.ts_us, to, query_id,
                            archive.empty() ? room_bare : archive);
}

Outgoing render_stored(const std::string& stanza, const std::string& id, int64_t ts_us,
                       const std::string& to, const std::string& query_id,
                       const std::string& archive) {
    return render_forwarded(stanza, id, ts_us, to, query_id, archive);
}

xml::Element render_fin(const xml::Element& iq, const Fin& page, bool backward) {
    auto r = make_iq_result(iq);
    auto& fin = r.add_child("fin", std::string(ns::mam));
    if (page.complete) fin.set_attr("complete", "true");
    auto& set = fin.add_child("set", std::string(ns::rsm));
    if (!page.first.empty()) {
        auto& first = set.add_child("first", std::string(ns::rsm));
        if (page.first_index && !backward)
            first.set_attr("index", std::to_string(*page.first_index));
        first.add_text(page.first);
        set.add_child("last", std::string(ns::rsm)).add_text(page.last);
    }
    auto& count = set.add_child("count", std::string(ns::rsm));
    count.set_attr("exact", page.count_exact ? "true" : "false");
    count.add_text(std::to_string(page.count));
    return r;
}

xml::Element render_fin(const xml::Element& iq, const store::ArchivePage& page, bool backward) {
    Fin fin;
    fin.complete = page.complete;
    fin.count = page.count;
    fin.count_exact = page.count_exact;
    fin.first_index = page.first_index;
    if (!page.messages.empty()) {
        fin.first = page.messages.front().stanza_id;
        fin.last = page.messages.back().stanza_id;
    }
    return render_fin(iq, fin, backward);
}

}  // namespace perch::xmpp::mam
