#pragma once
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "xml/element.hpp"
#include "xmpp/jid.hpp"

// One-to-one messages between users: what is kept of them (XEP-0160 offline storage, XEP-0313
// on the user's own JID, XEP-0334 hints), Message Carbons (XEP-0280) and blocking (XEP-0191).
// The session side is in bound_session.cpp and direct_messages.cpp.
namespace perch::xmpp::direct {

// How a message between users is kept, from its type, payload and hints.
struct Keeping {
    bool offline = false;  // stored for a recipient who is offline
    bool archive = false;  // kept in both parties' archives (their preferences permitting)
    bool copies = true;    // carbon-copied to the parties' other devices
};
Keeping keeping(const xml::Element& message);

// A user's archiving preferences (XEP-0313 section 6): whether messages with a correspondent
// go into their archive. `roster`: only with contacts on their roster.
struct ArchivePrefs {
    std::string by_default = "always";       // always, never, roster
    std::vector<std::string> always, never;  // bare JIDs
    bool archives(const std::string& peer, bool on_roster) const;
    std::string encode() const;  // for the store
    static ArchivePrefs decode(std::string_view text);
    static ArchivePrefs from_element(const xml::Element& prefs);  // <prefs/> as a client sends it
    xml::Element to_element() const;
};
// Where a user's preferences are kept in private storage: a key no XEP-0049 element makes
// (those are "namespace name").
inline constexpr std::string_view kPrefsKey = "perch:mam-prefs";

// The message as delivered from offline storage: with <delay/> saying when it was sent
// (XEP-0203). `stanza` is what direct_messages keeps: a serialized <message/>.
std::string with_delay(const std::string& stanza, const std::string& domain, int64_t ts_us);

// A carbon copy (XEP-0280) of `message` for `to`, one of its party's other resources:
// kind "sent" or "received".
std::string carbon(const xml::Element& message, std::string_view kind, const std::string& from_bare,
                   const std::string& to);

// Every user's blocking list (XEP-0191), shared by all sessions and the chat service: read
// on every delivery, so kept in memory (loaded at start, changed by the user's sessions and,
// in a pool, by change notices). Items are bare JIDs, full JIDs, domains or domain/resource.
class Blocklists {
  public:
    void set(const std::string& username, std::vector<std::string> items);
    void add(const std::string& username, const std::vector<std::string>& items);
    void remove(const std::string& username, const std::vector<std::string>& items);
    void clear(const std::string& username);
    std::vector<std::string> of(const std::string& username) const;
    // Whether `username` blocks stanzas from (or to) `other`.
    bool blocks(const std::string& username, const Jid& other) const;

  private:
    mutable std::shared_mutex mutex_;
    std::unordered_map<std::string, std::set<std::string>> lists_;
};

}  // namespace perch::xmpp::direct
