#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "xml/element.hpp"

namespace perch::xmpp {

// Error conditions of RFC 6120 section 8.3.3 that Perch sends.
enum class StanzaError {
    bad_request,
    conflict,
    feature_not_implemented,
    forbidden,
    item_not_found,
    jid_malformed,
    not_acceptable,
    not_allowed,
    not_authorized,
    recipient_unavailable,
    registration_required,
    remote_server_not_found,
    resource_constraint,
    service_unavailable,
    internal_server_error,
    policy_violation,
};
std::string_view condition_name(StanzaError e);
std::string_view error_type(StanzaError e);  // cancel, modify, auth, wait

// The error reply to `stanza`: addresses swapped, type='error', original children kept for
// message and presence (RFC 6120 8.3.1), an optional human-readable text.
xml::Element make_error(const xml::Element& stanza, StanzaError e, std::string_view text = {});
xml::Element make_iq_result(const xml::Element& iq);
xml::Element make_stanza(std::string_view name, std::string_view from, std::string_view to,
                         std::string_view type = {});

// A stanza serialised once and delivered to many: the bytes without the `to` attribute, split
// after the element name so that each delivery inserts only its own address.
struct PreparedStanza {
    std::string text;
    size_t split = 0;
    static std::shared_ptr<const PreparedStanza> from(const xml::Element& stanza);
};

// What a session writes: `head` followed by the shared rest of a prepared stanza, if any.
struct Outgoing {
    std::string head;
    std::shared_ptr<const PreparedStanza> shared;
    size_t size() const { return head.size() + (shared ? shared->text.size() - shared->split : 0); }

    static Outgoing raw(std::string bytes) { return Outgoing{std::move(bytes), nullptr}; }
    static Outgoing element(const xml::Element& stanza);
    static Outgoing addressed(std::shared_ptr<const PreparedStanza> p, std::string_view to);
};

}  // namespace perch::xmpp
