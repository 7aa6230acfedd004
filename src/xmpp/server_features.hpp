#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "xml/element.hpp"

namespace perch::xmpp {

// Answers IQs addressed to the server itself: disco#info/items, software version. Returns
// nullopt for what the server does not offer. `upload_max_bytes` > 0 advertises HTTP file
// upload (XEP-0363) on the domain itself.
// `services` (domain, name) are listed in the server's disco#items.
std::optional<xml::Element> answer_server_iq(
    const xml::Element& iq, const std::string& domain,
    const std::vector<std::pair<std::string, std::string>>& services, const std::string& version,
    uint64_t upload_max_bytes);
// Answers IQs addressed to the user's own bare JID (the account): disco#info.
std::optional<xml::Element> answer_account_iq(const xml::Element& iq);

}  // namespace perch::xmpp
