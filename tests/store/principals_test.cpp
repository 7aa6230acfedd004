#include <gtest/gtest.h>
#include <algorithm>

#include "store_fixture.hpp"

using namespace perch::store;

TEST_F(StoreTest, GroupsAndTheirMembers) {
    auto s = open();
    s->add_group({0, "staff", "Everybody employed"});
    s->add_group({0, "sales", ""});
    EXPECT_THROW(s->add_group({0, "staff", ""}), Conflict);
    s->set_group_member("staff", "alice", true);
    s->set_group_member("sales", "alice", true);
    s->set_group_member("staff", "bob", true);
    s->set_group_member("staff", "bob", true);  // twice is once
    EXPECT_EQ(s->group_members("staff"), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(s->groups_of("alice"), (std::vector<std::string>{"sales", "staff"}));
    s->set_group_member("sales", "alice", false);
    EXPECT_EQ(s->groups_of("alice"), std::vector<std::string>{"staff"});
    EXPECT_THROW(s->set_group_member("nope", "alice", true), Conflict);
    EXPECT_EQ(s->list_groups().size(), 2u);
}

TEST_F(StoreTest, CategoryAndRoomPrincipalLists) {
    auto s = open();
    int64_t room = make_room(*s, "r");
    auto cat = s->find_category("cat-r")->id;
    s->set_category_principal(cat, CategoryList::allowed, Principal::all(), true);
    s->set_category_principal(cat, CategoryList::denied, Principal::user("mallory"), true);
    s->set_category_principal(cat, CategoryList::creator, Principal::group("staff"), true);
    auto lists = s->category_principals(cat);
    ASSERT_EQ(lists.size(), 3u);
    s->set_category_principal(cat, CategoryList::denied, Principal::user("mallory"), false);
    EXPECT_EQ(s->category_principals(cat).size(), 2u);

    s->set_room_principal(room, RoomList::manager, Principal::user("alice"), true);
    s->set_room_principal(room, RoomList::member, Principal::group("staff"), true);
    auto r = s->room_principals(room);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].first, RoomList::manager);
    EXPECT_EQ(r[0].second, Principal::user("alice"));
    EXPECT_EQ(r[1].second, Principal::group("staff"));
    // A room's own denied list (bans) is a list like the others.
    s->set_room_principal(room, RoomList::denied, Principal::user("mallory"), true);
    r = s->room_principals(room);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_TRUE(
        std::count(r.begin(), r.end(), std::pair{RoomList::denied, Principal::user("mallory")}));
    EXPECT_THROW(s->set_room_principal(9999, RoomList::member, Principal::user("x"), true),
                 Conflict);
}

TEST_F(StoreTest, PolicyLevels) {
    auto s = open();
    s->add_group({0, "contractors", ""});
    s->set_group_member("contractors", "carl", true);
    EXPECT_FALSE(s->policy_for("carl").global);
    s->set_policy("global", "", true);
    s->set_policy("group", "contractors", false);
    s->set_policy("user", "dana", false);
    auto carl = s->policy_for("carl");
    EXPECT_EQ(carl.global, true);
    EXPECT_EQ(carl.groups.at("contractors"), false);
    EXPECT_FALSE(carl.user);
    EXPECT_EQ(s->policy_for("dana").user, false);
    s->set_policy("user", "dana", std::nullopt);
    EXPECT_FALSE(s->policy_for("dana").user);
}

TEST_F(StoreTest, MigratedCategoriesAllowEveryone) {
    // A category created at schema 2 gets `allowed: everyone` from migration 3; new ones made
    // through the store start empty (the command line adds the default).
    auto s = open();
    int64_t room = make_room(*s, "x");
    (void)room;
    EXPECT_TRUE(s->category_principals(s->find_category("cat-x")->id).empty());
}

TEST_F(StoreTest, AdministratorFlagIsKept) {
    auto s = open();
    User u;
    u.username = "root";
    u.scram_sha1 = u.scram_sha256 = "x";
    u.administrator = true;
    s->add_user(u);
    EXPECT_TRUE(s->find_user("root")->administrator);
}
