#pragma once
#include <optional>
#include <string>

#include "xml/element.hpp"

namespace perch::xmpp {

// Answers IQs addressed to the server itself: disco#info/items, software version. Returns
// nullopt for what the server does not offer.
std::optional<xml::Element> answer_server_iq(const xml::Element& iq, const std::string& domain,
                                             const std::string& muc_domain,
                                             const std::string& version);
// Answers IQs addressed to the user's own bare JID (the account): disco#info.
std::optional<xml::Element> answer_account_iq(const xml::Element& iq);

}  // namespace perch::xmpp
