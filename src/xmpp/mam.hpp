#pragma once
#include <optional>
#include <string>
#include <variant>

#include "store/types.hpp"
#include "xml/element.hpp"
#include "xmpp/stanza.hpp"

// XEP-0313 (Message Archive Management) on room archives: parsing a query, rendering results.
namespace perch::xmpp::mam {

inline constexpr int kDefaultPage = 50;
inline constexpr int kMaxPage = 500;

struct QueryError {
    StanzaError condition;
    std::string text;
};

// Reads the data form (start, end, with, full-text, #extended ids) and the RSM set of a
// <query xmlns='urn:xmpp:mam:2'/>. `room_bare` lets `with` name an occupant (room/nick).
std::variant<store::ArchiveQuery, QueryError> parse_query(const xml::Element& query,
                                                          const std::string& room_bare);
// The form a client gets for <iq type='get'><query xmlns='urn:xmpp:mam:2'/></iq>: a room's;
// the chat service's (a search of all rooms) has the followed-rooms switch too; a user's own
// archive of one-to-one messages has no word search.
enum class FormKind { room, service, user };
xml::Element query_form(FormKind kind = FormKind::room);
// The activity feed: a search of all rooms limited to the ones the user follows.
inline constexpr const char* kFollowedField = "{urn:perch:following:0}followed";
bool followed_only(const xml::Element& query);
// One result: the archived message, forwarded, addressed to the asking user.
// `archive` is the JID queried (the room, or the chat service for a search of all rooms).
Outgoing render_result(const store::Message& m, const std::string& room_bare, const std::string& to,
                       const std::string& query_id, const std::string& archive = {});
// One result from a user's own archive: `stanza` is the message as kept (serialized).
Outgoing render_stored(const std::string& stanza, const std::string& id, int64_t ts_us,
                       const std::string& to, const std::string& query_id,
                       const std::string& archive);
// Whether a query pages backwards (RSM <before/>, empty or not).
inline bool pages_backward(const store::ArchiveQuery& q) {
    return q.last_page || q.before_id.has_value();
}
// The final IQ result with <fin/> and the RSM summary. On a page asked for backwards
// (`backward`, pages_backward()) the first item's index is left out, as Prosody does.
// slixmpp's iterator stops when index + page size = count, which a correct index makes true
// on the newest page: iterating backwards it stopped after one page. Clients page backwards
// until complete='true' (Converse) or an empty page (slixmpp); forward pages keep the index.
struct Fin {
    std::string first, last;  // ids of the page's first and last results; empty: no results
    bool complete = false;
    int64_t count = 0;
    bool count_exact = true;
    std::optional<int64_t> first_index;
};
xml::Element render_fin(const xml::Element& iq, const Fin& fin, bool backward);
xml::Element render_fin(const xml::Element& iq, const store::ArchivePage& page, bool backward);

}  // namespace perch::xmpp::mam
