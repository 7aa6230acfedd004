#include <gtest/gtest.h>

#include "chat/authz.hpp"
#include "chat/directory.hpp"

using namespace perch::chat;
using perch::store::Privacy;
using perch::store::RoomType;

namespace {

// Expected answers, one letter per action in kAllActions order: f(ind) j(oin) p(ost)
// i(nvite) c(onfigure) r(ead history) s(earch); '.' means refused.
constexpr const char* kLetters = "fjpicrs";

enum class ListRole { none, member, presenter, manager };
constexpr ListRole kRoles[] = {ListRole::none, ListRole::member, ListRole::presenter,
                               ListRole::manager};
const char* name(ListRole r) {
    const char* names[] = {"none", "member", "presenter", "manager"};
    return names[int(r)];
}

// For a user allowed in the category, with persistent chat enabled.
struct Row {
    Privacy privacy;
    RoomType type;
    ListRole role;
    const char* expected;
};
const Row kTable[] = {
    {Privacy::open, RoomType::normal, ListRole::none, "fjpi.rs"},
    {Privacy::open, RoomType::normal, ListRole::member, "fjpi.rs"},
    {Privacy::open, RoomType::normal, ListRole::presenter, "fjpi.rs"},
    {Privacy::open, RoomType::normal, ListRole::manager, "fjpicrs"},
    {Privacy::closed, RoomType::normal, ListRole::none, "f......"},
    {Privacy::closed, RoomType::normal, ListRole::member, "fjpi.rs"},
    {Privacy::closed, RoomType::normal, ListRole::presenter, "fjpi.rs"},
    {Privacy::closed, RoomType::normal, ListRole::manager, "fjpicrs"},
    {Privacy::secret, RoomType::normal, ListRole::none, "......."},
    {Privacy::secret, RoomType::normal, ListRole::member, "fjpi.rs"},
    {Privacy::secret, RoomType::normal, ListRole::presenter, "fjpi.rs"},
    {Privacy::secret, RoomType::normal, ListRole::manager, "fjpicrs"},
    {Privacy::open, RoomType::auditorium, ListRole::none, "fj.i.rs"},
    {Privacy::open, RoomType::auditorium, ListRole::member, "fj.i.rs"},
    {Privacy::open, RoomType::auditorium, ListRole::presenter, "fjpi.rs"},
    {Privacy::open, RoomType::auditorium, ListRole::manager, "fjpicrs"},
    {Privacy::closed, RoomType::auditorium, ListRole::none, "f......"},
    {Privacy::closed, RoomType::auditorium, ListRole::member, "fj.i.rs"},
    {Privacy::closed, RoomType::auditorium, ListRole::presenter, "fjpi.rs"},
    {Privacy::closed, RoomType::auditorium, ListRole::manager, "fjpicrs"},
    {Privacy::secret, RoomType::auditorium, ListRole::none, "......."},
    {Privacy::secret, RoomType::auditorium, ListRole::member, "fj.i.rs"},
    {Privacy::secret, RoomType::auditorium, ListRole::presenter, "fjpi.rs"},
    {Privacy::secret, RoomType::auditorium, ListRole::manager, "fjpicrs"},
};

// How the user stands in the category.
enum class Standing {
    allowed,
    allowed_via_group,
    allowed_via_everyone,
    not_listed,
    denied,
    allowed_and_denied,
    denied_via_group
};
constexpr Standing kStandings[] = {Standing::allowed,
                                   Standing::allowed_via_group,
                                   Standing::allowed_via_everyone,
                                   Standing::not_listed,
                                   Standing::denied,
                                   Standing::allowed_and_denied,
                                   Standing::denied_via_group};
bool admitted(Standing s) {
    return s == Standing::allowed || s == Standing::allowed_via_group ||
           s == Standing::allowed_via_everyone;
}

Subject alice() {
    Subject s;
    s.user = "alice";
    s.groups = {"staff", "engineering"};
    return s;
}

CategoryRules category(Standing s, bool creator) {
    CategoryRules c;
    switch (s) {
        case Standing::allowed:
            c.allowed = {Principal::user("alice")};
            break;
        case Standing::allowed_via_group:
            c.allowed = {Principal::group("staff")};
            break;
        case Standing::allowed_via_everyone:
            c.allowed = {Principal::all()};
            break;
        case Standing::not_listed:
            c.allowed = {Principal::user("bob"), Principal::group("sales")};
            break;
        case Standing::denied:
            c.allowed = {Principal::user("bob")}, c.denied = {Principal::user("alice")};
            break;
        case Standing::allowed_and_denied:
            c.allowed = {Principal::all()}, c.denied = {Principal::user("alice")};
            break;
        case Standing::denied_via_group:
            c.allowed = {Principal::user("alice")}, c.denied = {Principal::group("engineering")};
            break;
    }
    if (creator) c.creators = {Principal::user("alice")};
    return c;
}

// Roles given by name or, to check group matching, through a group of the user.
RoomRules room(const Row& row, bool via_group) {
    RoomRules r;
    r.privacy = row.privacy;
    r.type = row.type;
    Principal p = via_group ? Principal::group("engineering") : Principal::user("alice");
    r.members = {Principal::user("zed")};
    if (row.role == ListRole::member) r.members.push_back(p);
    if (row.role == ListRole::presenter) r.presenters = {p};
    if (row.role == ListRole::manager) r.managers = {p};
    return r;
}

std::string answers(const Subject& s, const CategoryRules& c, const RoomRules& r) {
    std::string out;
    for (size_t i = 0; i < std::size(kAllActions); ++i)
        out += may(s, c, r, kAllActions[i]) ? kLetters[i] : '.';
    return out;
}

}  // namespace

// Every category standing x creator x privacy x room type x role (by name and by group)
// x policy, for every action.
TEST(Authorization, EveryCombination) {
    int cases = 0;
    for (Standing standing : kStandings) {
        for (bool creator : {false, true}) {
            for (const Row& row : kTable) {
                for (bool via_group : {false, true}) {
                    for (bool enabled : {true, false}) {
                        Subject s = alice();
                        s.chat_enabled = enabled;
                        std::string expected =
                            admitted(standing) && enabled ? row.expected : ".......";
                        EXPECT_EQ(answers(s, category(standing, creator), room(row, via_group)),
                                  expected)
                            << "standing " << int(standing) << (creator ? " creator" : "") << ", "
                            << to_string(row.privacy) << " " << to_string(row.type) << ", role "
                            << name(row.role) << (via_group ? " via group" : "")
                            << (enabled ? "" : ", chat disabled by policy");
                        ++cases;
                    }
                }
            }
        }
    }
    EXPECT_EQ(cases, 7 * 2 * 24 * 2 * 2);
}

TEST(Authorization, DisabledRoomKeepsItsHistoryButRefusesEntry) {
    for (ListRole role : kRoles) {
        Row row{Privacy::open, RoomType::normal, role, ""};
        RoomRules r = room(row, false);
        r.disabled = true;
        std::string expected = role == ListRole::manager ? "f...crs" : "f....rs";
        EXPECT_EQ(answers(alice(), category(Standing::allowed, false), r), expected) << name(role);
    }
}

TEST(Authorization, CategorySwitchesTurnOffInvitationsAndHistory) {
    Row row{Privacy::open, RoomType::normal, ListRole::member, ""};
    CategoryRules c = category(Standing::allowed, false);
    c.invitations = false;
    EXPECT_EQ(answers(alice(), c, room(row, false)), "fjp..rs");
    c = category(Standing::allowed, false);
    c.chat_history = false;
    EXPECT_EQ(answers(alice(), c, room(row, false)), "fjpi...");
    RoomRules r = room(row, false);
    r.invitations = false;
    EXPECT_EQ(answers(alice(), category(Standing::allowed, false), r), "fjp..rs");
}

// A room's denied list (its bans) wins over every role in the room, as the category's does:
// a banned manager neither enters nor configures; a closed room is still listed, a secret one
// not; administrators pass.
TEST(Authorization, TheRoomsDeniedListWinsOverEveryRole) {
    for (ListRole role : kRoles) {
        for (Privacy privacy : {Privacy::open, Privacy::closed, Privacy::secret}) {
            for (bool via_group : {false, true}) {
                RoomRules r = room(Row{privacy, RoomType::normal, role, ""}, false);
                r.denied.push_back(via_group ? perch::store::Principal::group("staff")
                                             : perch::store::Principal::user("alice"));
                EXPECT_EQ(answers(alice(), category(Standing::allowed, false), r),
                          privacy == Privacy::secret ? "......." : "f......")
                    << name(role) << " " << int(privacy) << " " << via_group;
                EXPECT_TRUE(is_banned(alice(), r));
            }
        }
    }
    Subject admin = alice();
    admin.administrator = true;
    RoomRules r = room(Row{Privacy::open, RoomType::normal, ListRole::none, ""}, false);
    r.denied.push_back(perch::store::Principal::user("alice"));
    EXPECT_EQ(answers(admin, category(Standing::allowed, false), r), "fjpicrs");
}

TEST(Authorization, AdministratorsMayDoAnything) {
    Subject admin = alice();
    admin.administrator = true;
    admin.chat_enabled = false;
    Row row{Privacy::secret, RoomType::auditorium, ListRole::none, ""};
    EXPECT_EQ(answers(admin, category(Standing::denied, false), room(row, false)), "fjpicrs");
    EXPECT_TRUE(may_create_room(admin, category(Standing::denied, false)));
}

TEST(Authorization, PolicyLevels) {
    perch::store::PolicySettings p;
    EXPECT_TRUE(chat_enabled(p));
    p.global = false;
    EXPECT_FALSE(chat_enabled(p));
    p.groups["staff"] = true;
    EXPECT_TRUE(chat_enabled(p));
    p.groups["contractors"] = false;  // a disabling group wins over an enabling one
    EXPECT_FALSE(chat_enabled(p));
    p.user = true;  // the user's own setting wins over everything
    EXPECT_TRUE(chat_enabled(p));
}

TEST(Authorization, OnlyCreatorsInTheCategoryCreateRooms) {
    for (Standing standing : kStandings) {
        for (bool creator : {false, true}) {
            for (bool enabled : {true, false}) {
                Subject s = alice();
                s.chat_enabled = enabled;
                EXPECT_EQ(may_create_room(s, category(standing, creator)),
                          admitted(standing) && creator && enabled)
                    << int(standing) << creator << enabled;
            }
        }
    }
}

TEST(Authorization, MovingARoomNamesTheMembersTheNewCategoryWouldNotAdmit) {
    using perch::store::RoomList;
    CategoryRules target;
    target.allowed = {Principal::group("staff"), Principal::user("carol")};
    target.denied = {Principal::user("dave")};
    std::vector<std::pair<RoomList, Principal>> lists = {
        {RoomList::manager, Principal::user("alice")},   // in staff: stays
        {RoomList::member, Principal::user("bob")},      // in no allowed group: named
        {RoomList::member, Principal::user("carol")},    // allowed by name: stays
        {RoomList::presenter, Principal::user("dave")},  // staff, but denied: named
        {RoomList::member, Principal::group("staff")},   // allowed group: stays
        {RoomList::member, Principal::group("guests")},  // not allowed: named
        {RoomList::member, Principal::all()},            // not everyone is allowed: named
    };
    auto groups_of = [](const std::string& user) -> std::set<std::string> {
        if (user == "alice" || user == "dave") return {"staff"};
        return {};
    };
    auto out = outside_category(lists, target, groups_of);
    std::vector<std::string> named;
    for (const auto& [list, p] : out) named.push_back(perch::store::to_string(p));
    EXPECT_EQ(named,
              (std::vector<std::string>{"user:bob", "user:dave", "group:guests", "everyone"}));

    target.allowed = {Principal::all()};
    target.denied.clear();
    EXPECT_TRUE(outside_category(lists, target, groups_of).empty());
}

// A reader of the store puts what it read only if the listing did not change meanwhile: an
// event from the room's server (a new subject) may be newer than the read.
TEST(Directory, AListingReadFromTheStoreDoesNotOverwriteANewerOne) {
    Directory d;
    perch::store::Room room;
    room.id = 7;
    room.node = "lobby";
    EXPECT_EQ(d.stamp("lobby"), 0u);
    EXPECT_TRUE(d.put_room_if(room, {}, 0));  // absent, as when the read began
    uint64_t before_read = d.stamp("lobby");
    EXPECT_NE(before_read, 0u);
    perch::store::Room newer = room;
    newer.subject = "Budget day";  // an event, while the store was read
    d.put_room(newer, {});
    EXPECT_FALSE(d.put_room_if(room, {}, before_read));
    EXPECT_EQ(d.room("lobby")->meta.subject, "Budget day");
    EXPECT_TRUE(d.put_room_if(newer, {}, d.stamp("lobby")));  // read again: put
}

// Rules put again under the same name replace the old ones; a new name reaches every listing
// of the category, and the old name no longer finds it.
TEST(Directory, ACategoryPutAgainKeepsItsListingsCurrent) {
    Directory d;
    auto rules = [](const char* name, bool invitations) {
        auto r = std::make_shared<CategoryRules>();
        r->name = name;
        r->invitations = invitations;
        return std::shared_ptr<const CategoryRules>(std::move(r));
    };
    d.put_category(3, rules("Projects", true));
    perch::store::Room room;
    room.id = 9;
    room.node = "budget";
    room.category_id = 3;
    d.put_room(room, {});
    EXPECT_EQ(d.room("budget")->category, "Projects");

    d.put_category(3, rules("Projects", false));
    EXPECT_FALSE(d.category(3)->invitations);
    EXPECT_EQ(d.room("budget")->category, "Projects");

    d.put_category(3, rules("Programmes", false));
    EXPECT_EQ(d.room("budget")->category, "Programmes");
    EXPECT_FALSE(d.category_named("Projects"));
    ASSERT_TRUE(d.category_named("Programmes"));
    EXPECT_EQ(d.category_named("Programmes")->first, 3);
}
