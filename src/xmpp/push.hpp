#pragma once
// Push notifications (XEP-0357): the app servers a user's clients register, kept in the user's
// private storage, and the notifications published to them when a message reaches nobody
// connected (the user offline, or every session waiting to be resumed).
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"
#include "xml/element.hpp"
#include "xmpp/router.hpp"

namespace perch::xmpp::push {

inline constexpr std::string_view kKey = "perch:push";  // private storage of the registrations

struct Registration {
    std::string jid;      // the app server (XMPP Push Service)
    std::string node;     // its node for this device
    std::string options;  // publish options from the enable request (serialized form), or ""
};

std::vector<Registration> decode(const std::string& stored);
std::string encode(const std::vector<Registration>& registrations);
// The registrations after an <enable/> (one per jid and node: the newest options win; past
// kMaxRegistrations the oldest goes, most likely a device long gone) or a <disable/> (of the
// jid, or of the jid and node).
inline constexpr size_t kMaxRegistrations = 20;
void enable(std::vector<Registration>& registrations, Registration added);
void disable(std::vector<Registration>& registrations, const std::string& jid,
             const std::string& node);

// The publish of one notification to `to`, from `user_bare`: a summary form with the number
// of messages and the last sender (not the text: a push goes through other companies' servers).
std::string notification(const Registration& to, const std::string& user_bare,
                         const std::string& sender, int count);

// On a store thread: publishes a notification of `count` messages, the last from `sender`, to
// every app server `user` registered. App servers are accounts of this server (Perch does not
// federate); one not connected misses it.
void notify(store::Store& s, Router& router, const std::string& domain, const std::string& user,
            const std::string& sender, int count = 1);

}  // namespace perch::xmpp::push
