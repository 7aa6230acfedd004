#pragma once
#include <string>
#include <utility>
#include <vector>

#include "store/store.hpp"

// The XEP-0402 compatibility layer: room bookmarks kept both as one item per room in
// `urn:xmpp:bookmarks:1` and as the single legacy `storage:bookmarks` item (XEP-0048 in PEP),
// so old and new clients see the same list. Payloads are serialized XML.
namespace perch::xmpp::bookmarks {

inline constexpr const char* kNode = "urn:xmpp:bookmarks:1";
inline constexpr const char* kLegacyNode = "storage:bookmarks";

// item id (room JID) -> <conference xmlns='urn:xmpp:bookmarks:1'/> payload
using Items = std::vector<std::pair<std::string, std::string>>;

// The legacy <storage/> holding every bookmark of `items`.
std::string to_legacy(const Items& items);
// The per-room items a legacy <storage/> payload describes (unparseable input: none).
Items from_legacy(const std::string& storage_xml);

// Following = bookmarking: the nodes of the rooms on `muc_domain` that `user` has bookmarked.
std::vector<std::string> followed_rooms(store::Store& s, const std::string& user,
                                        const std::string& muc_domain);

}  // namespace perch::xmpp::bookmarks
