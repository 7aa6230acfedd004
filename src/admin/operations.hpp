#pragma once
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.hpp"

// Administration of what lives in the content database apart from the rooms' running state:
// users, groups, categories, policy, the admin API's own accounts, and (for the command line,
// which may run with no server up) room lists and history. Shared by the local commands
// (`perch user …`) and the admin API (web/admin_api.cpp), so that both check the same input,
// write the same compliance event naming who made the change, and leave the same change
// notice for running servers. Each call runs on the calling thread against one store: never
// on a network thread. Room changes through a running server go to the room service instead.
namespace perch::admin {

// An operation refused: nothing was changed.
class Refused : public std::runtime_error {
  public:
    enum class Why { bad_input, not_found, conflict };
    Refused(Why why, const std::string& text) : std::runtime_error(text), why(why) {}
    Why why;
};

// Checked input.
std::string username(const std::string& raw);               // nodeprep'd, or bad_input
store::Principal principal(const std::string& text);        // user:NAME, group:NAME or everyone
std::optional<bool> on_off_unset(const std::string& text);  // "on", "off"; else unset

// A password for an account created or reset without one: 16 characters.
std::string generated_password();

// Users ---------------------------------------------------------------------------------------

struct NewUser {
    std::string name;
    std::string password;  // generated when empty
    std::string display_name, email;
};
struct CreatedUser {
    store::User user;
    std::string generated_password;  // empty when the caller chose it
};
CreatedUser create_user(store::Store& s, const std::string& by, const NewUser& request);
store::User require_user(store::Store& s, const std::string& name);
// Sets a password (generated when empty, and returned then).
std::string set_password(store::Store& s, const std::string& by, const std::string& name,
                         const std::string& password);
// A disabled user cannot sign in; running servers end their sessions on the notice.
void set_disabled(store::Store& s, const std::string& by, const std::string& name, bool disabled);
// A persistent chat administrator may do anything in any room (at their next sign-in).
void set_chat_administrator(store::Store& s, const std::string& by, const std::string& name,
                            bool administrator);
// Every session of the user ends, on every server (each reads the notice); they may sign in
// again.
void disconnect_user(store::Store& s, const std::string& by, const std::string& name);
void update_profile(store::Store& s, const std::string& by, const std::string& name,
                    const std::optional<std::string>& display_name,
                    const std::optional<std::string>& email);

// Groups --------------------------------------------------------------------------------------

void create_group(store::Store& s, const std::string& by, const std::string& name,
                  const std::string& description);
void set_group_member(store::Store& s, const std::string& by, const std::string& group,
                      const std::string& user, bool member);

// Categories ----------------------------------------------------------------------------------

struct NewCategory {
    std::string name, description;
    std::vector<std::string> allowed, denied, creators;  // principals; allowed defaults to everyone
    bool invitations = true, file_upload = true, chat_history = true;
};
void create_category(store::Store& s, const std::string& by, const NewCategory& request);
// Its description and switches (invitations, file upload, chat history); running servers
// re-evaluate its open rooms on the notice.
struct CategoryChange {
    std::optional<std::string> description;
    std::optional<bool> invitations, file_upload, chat_history;
};
void change_category(store::Store& s, const std::string& by, const std::string& name,
                     const CategoryChange& change);
// Refused (conflict) while rooms are in it: the answer names them.
void delete_category(store::Store& s, const std::string& by, const std::string& name);
// Adds a principal to, or removes one from, a category's list ("allowed", "denied",
// "creator"); running servers re-evaluate the category's open rooms on the notice.
void change_category_list(store::Store& s, const std::string& by, const std::string& category,
                          const std::string& list, const std::string& principal, bool present);

// Rooms, without a running server (the command line) ------------------------------------------

void create_room(store::Store& s, const std::string& by, store::Room room,
                 const std::string& category);
void change_room_list(store::Store& s, const std::string& by, const std::string& room,
                      const std::string& list, const std::string& principal, bool present);
int64_t clear_room(store::Store& s, const std::string& by, const std::string& room,
                   const std::string& before);

// Messages chosen by a filter, to remove or replace (the original's
// Remove-CsPersistentChatMessage): words in the text, the sender, a time range; at least one of
// them.
struct MessageFilter {
    std::string keywords;
    // any: one of the words appears; all: every one does; exact: the words as written, in a row.
    std::string match = "any";
    bool case_sensitive = false;
    int64_t from_us = 0, to_us = 0;  // 0: unbounded
    std::string sender;              // username
};
// Checks the filter (bad_input naming what is wrong).
void check_filter(const MessageFilter& f);
bool matches(const MessageFilter& f, const store::Message& m);
// The stable ids of a room's messages the filter matches (removed ones never), oldest first, at
// most `limit`; `more` tells whether others match.
struct FoundMessages {
    std::vector<std::string> ids;
    bool more = false;
};
FoundMessages find_messages(store::Store& s, const std::string& room, const MessageFilter& f,
                            size_t limit);

// Policy --------------------------------------------------------------------------------------

// scope: "global", "group:NAME" or "user:NAME"; state nullopt unsets it.
void set_policy(store::Store& s, const std::string& by, const std::string& scope,
                std::optional<bool> enabled);

// Settings and add-ins -------------------------------------------------------------------------

// Sets a setting of chat/settings.hpp for every server (the database's value wins over the
// configuration file's), or with nullopt returns it to the file's; running servers apply it
// on the notice.
void set_setting(store::Store& s, const std::string& by, const std::string& name,
                 const std::optional<std::string>& value);
// Sets compliance service options (compliance/service.hpp; nullopt: back to the file's) for
// every server, all or none; a COMPLIANCECHANGE event.
void set_compliance_options(store::Store& s, const std::string& by,
                            const std::map<std::string, std::optional<std::string>>& values);
// Registers an add-in (name: 1 to 64 letters, digits, spaces, '.', '-' or '_'; an http or
// https URL), or gives a registered one a new URL.
void put_addin(store::Store& s, const std::string& by, const std::string& name,
               const std::string& url);
// Refused (conflict) while rooms show it: the answer names them.
void remove_addin(store::Store& s, const std::string& by, const std::string& name);

// The synthetic transaction (`perch admin test-message`) ---------------------------------------

// Its two users, its room and its category, made when missing (the users and the room never
// enabled again once an administrator disabled them: the test must then fail), and fresh
// passwords for the users, which only the test uses.
struct TestFixture {
    std::vector<std::pair<std::string, std::string>> users;  // name, password
    std::string room;                                        // node
};
inline constexpr const char* kTestUsers[] = {"perch-test-1", "perch-test-2"};
inline constexpr const char* kTestRoom = "perch-test";
inline constexpr const char* kTestCategory = "Perch test";
TestFixture prepare_test(store::Store& s, const std::string& by);

// Accounts of the admin API ---------------------------------------------------------------------

// Returns the password when it was generated.
std::string add_admin(store::Store& s, const std::string& by, const std::string& name,
                      const std::string& role, const std::string& password);
std::string set_admin_password(store::Store& s, const std::string& by, const std::string& name,
                               const std::string& password);
// Topology ------------------------------------------------------------------------------------

// The topology file's text checked (pool::topology_problems, against the one in force) and
// published as the next version; every server reads it on the notice. bad_input names each
// problem. Returns the version.
int64_t publish_topology(store::Store& s, const std::string& by, const std::string& text,
                         const std::string& source);
// Its problems, without publishing (empty: none); a file that does not parse is bad_input.
std::vector<std::string> check_topology(store::Store& s, const std::string& text,
                                        const std::string& source);

// By hand (perch pool failover): a live standby of the pool takes the active slot `server`
// holds now; returns the standby's name. not_found: it holds none; conflict: no standby is up.
std::string fail_over(store::Store& s, const std::string& by, const std::string& server);
// Every slot held by a standby goes back to the server it is named after, where that one is
// up (perch pool failback); returns those servers.
std::vector<std::string> fail_back(store::Store& s, const std::string& by);
// The active-server list (perch pool active-servers): only these servers of one pool serve;
// the pool's others accept no new sessions, hand their rooms over and drain. Empty: every
// slot holder serves again. bad_input: not one pool, or none of them holds a slot.
void set_active_servers(store::Store& s, const std::string& by,
                        const std::vector<std::string>& servers);

void set_admin_role(store::Store& s, const std::string& by, const std::string& name,
                    const std::string& role);
void set_admin_disabled(store::Store& s, const std::string& by, const std::string& name,
                        bool disabled);
void remove_admin(store::Store& s, const std::string& by, const std::string& name);
// Whether `password` is the account's (a PBKDF2 run: never on a network thread).
bool admin_password_matches(const store::AdminAccount& account, const std::string& password);
// An account no password matches, with a credential as costly to check as a real one: what a
// name that does not exist is checked against.
const store::AdminAccount& unknown_admin();
// A name an admin account may have: 1 to 64 letters, digits, '.', '-' or '_'.
bool valid_admin_name(const std::string& name);

}  // namespace perch::admin
