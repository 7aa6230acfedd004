// Administration over the store (admin/operations.hpp), on SQLite and PostgreSQL: the checks
// each operation makes before it writes, and the compliance event naming who made it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include "admin/operations.hpp"
#include "store_fixture.hpp"

using namespace perch;
using Why = admin::Refused::Why;

namespace {

class AdminOperationsTest : public StoreTest {
  protected:
    std::unique_ptr<store::Store> open_recording() const {
        auto c = config();
        c.compliance = true;
        return store::open_store(c);
    }

    // The events waiting for the compliance service: (type, "by" of its content).
    static std::vector<std::pair<std::string, std::string>> events(store::Store& s) {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& e : s.outbox(1000)) {
            auto content = nlohmann::json::parse(e.content);
            out.emplace_back(e.type, content.value("by", ""));
        }
        return out;
    }
};

template <class F>
Why refusal(F&& f) {
    try {
        f();
    } catch (const admin::Refused& e) {
        return e.why;
    }
    ADD_FAILURE() << "not refused";
    return Why::bad_input;
}

}  // namespace

TEST_F(AdminOperationsTest, AdminAccountsStoredWithoutTheirPasswords) {
    auto s = open();
    EXPECT_EQ(admin::add_admin(*s, "command line", "root", "administrator", "secret-one"), "");
    auto generated = admin::add_admin(*s, "command line", "eyes", "read-only", "");
    EXPECT_EQ(generated.size(), 16u);
    auto root = s->find_admin("root");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->role, store::AdminRole::administrator);
    EXPECT_EQ(root->credential.find("secret-one"), std::string::npos);
    EXPECT_TRUE(admin::admin_password_matches(*root, "secret-one"));
    EXPECT_FALSE(admin::admin_password_matches(*root, "secret-two"));
    EXPECT_TRUE(admin::admin_password_matches(*s->find_admin("eyes"), generated));
    EXPECT_EQ(refusal([&] { admin::add_admin(*s, "x", "root", "administrator", "p"); }),
              Why::conflict);
    EXPECT_EQ(refusal([&] { admin::add_admin(*s, "x", "bad name", "administrator", "p"); }),
              Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::add_admin(*s, "x", "other", "emperor", "p"); }), Why::bad_input);
    auto list = s->list_admins();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].name, "eyes");
    EXPECT_EQ(list[1].name, "root");
}

TEST_F(AdminOperationsTest, TheLastEnabledAdministratorStays) {
    auto s = open();
    admin::add_admin(*s, "x", "root", "administrator", "p1");
    admin::add_admin(*s, "x", "eyes", "read-only", "p2");
    EXPECT_EQ(refusal([&] { admin::remove_admin(*s, "x", "root"); }), Why::conflict);
    EXPECT_EQ(refusal([&] { admin::set_admin_role(*s, "x", "root", "read-only"); }), Why::conflict);
    EXPECT_EQ(refusal([&] { admin::set_admin_disabled(*s, "x", "root", true); }), Why::conflict);
    // Another one makes it possible; read-only accounts come and go freely.
    admin::set_admin_disabled(*s, "x", "eyes", true);
    admin::remove_admin(*s, "x", "eyes");
    admin::add_admin(*s, "x", "deputy", "administrator", "p3");
    admin::set_admin_role(*s, "x", "root", "compliance-officer");
    EXPECT_EQ(s->find_admin("root")->role, store::AdminRole::compliance_officer);
    EXPECT_EQ(refusal([&] { admin::remove_admin(*s, "x", "deputy"); }), Why::conflict);
    admin::remove_admin(*s, "x", "root");
    EXPECT_FALSE(s->find_admin("root"));
    EXPECT_EQ(refusal([&] { admin::remove_admin(*s, "x", "root"); }), Why::not_found);
}

TEST_F(AdminOperationsTest, EachChangeIsRecordedWithWhoMadeIt) {
    auto s = open_recording();
    std::string by = "admin:root";
    auto made = admin::create_user(*s, by, {"Dora", "", "Dora D", ""});
    EXPECT_EQ(made.user.username, "dora");
    EXPECT_GT(made.user.created_us, 0);
    EXPECT_EQ(made.generated_password.size(), 16u);
    admin::set_disabled(*s, by, "dora", true);
    admin::create_group(*s, by, "night shift", "");
    admin::set_group_member(*s, by, "night shift", "dora", true);
    admin::create_category(*s, by, {"Board", "", {"group:night shift"}, {}, {}, true, false, true});
    admin::change_category_list(*s, by, "Board", "denied", "user:dora", true);
    admin::set_policy(*s, by, "user:dora", false);
    admin::add_admin(*s, by, "eyes", "read-only", "p");
    auto got = events(*s);
    std::vector<std::pair<std::string, std::string>> want = {
        {"USERCHANGE", by},     {"USERCHANGE", by},     {"GROUPCHANGE", by},  {"GROUPCHANGE", by},
        {"CATEGORYCHANGE", by}, {"CATEGORYCHANGE", by}, {"POLICYCHANGE", by}, {"ADMINCHANGE", by}};
    EXPECT_EQ(got, want);
    EXPECT_TRUE(s->find_user("dora")->disabled);
    // Running servers are told of the changes they must apply.
    auto notices = s->changes_after(0, 100);
    std::vector<std::string> kinds;
    for (const auto& n : notices) kinds.push_back(n.kind + ":" + n.name);
    EXPECT_EQ(kinds, (std::vector<std::string>{"user:dora", "user:dora", "category:Board",
                                               "category:Board", "policy:user:dora"}));
}

TEST_F(AdminOperationsTest, SettingsAndAddinsAreKeptForEveryServer) {
    auto s = open_recording();
    std::string by = "admin:root";
    admin::set_setting(*s, by, "max_message_chars", "20");
    admin::set_setting(*s, by, "room_management_url", "https://intranet.example.org/rooms");
    admin::set_setting(*s, by, "max_message_chars", "30");  // replaced
    EXPECT_EQ(s->stored_settings(),
              (std::map<std::string, std::string>{
                  {"max_message_chars", "30"},
                  {"room_management_url", "https://intranet.example.org/rooms"}}));
    admin::set_setting(*s, by, "room_management_url", std::nullopt);  // back to the file's
    EXPECT_EQ(s->stored_settings().count("room_management_url"), 0u);
    EXPECT_EQ(refusal([&] { admin::set_setting(*s, by, "max_message_chars", "0"); }),
              Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::set_setting(*s, by, "nope", "1"); }), Why::not_found);
    EXPECT_EQ(s->stored_settings().at("max_message_chars"), "30");

    admin::put_addin(*s, by, "Team wiki", "https://wiki.example.org/pane");
    admin::put_addin(*s, by, "Team wiki", "https://wiki.example.org/v2");
    EXPECT_EQ(refusal([&] { admin::put_addin(*s, by, "bad<name>", "https://x.example.org"); }),
              Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::put_addin(*s, by, "Ftp", "ftp://x.example.org"); }),
              Why::bad_input);
    auto addins = s->list_addins();
    ASSERT_EQ(addins.size(), 1u);
    EXPECT_EQ(addins[0].url, "https://wiki.example.org/v2");
    admin::create_category(*s, by, {"Board", "", {}, {}, {}});
    store::Room room;
    room.node = "board";
    room.addin = "Team wiki";
    admin::create_room(*s, by, room, "Board");
    EXPECT_EQ(refusal([&] { admin::remove_addin(*s, by, "Team wiki"); }), Why::conflict);
    room = *s->find_room("board");
    room.addin.clear();
    s->update_room(room);
    admin::remove_addin(*s, by, "Team wiki");
    EXPECT_TRUE(s->list_addins().empty());
    EXPECT_EQ(refusal([&] { admin::remove_addin(*s, by, "Team wiki"); }), Why::not_found);

    int settings = 0, addin_changes = 0;
    for (const auto& [type, who] : events(*s)) {
        settings += type == "SETTINGCHANGE";
        addin_changes += type == "ADDINCHANGE";
        EXPECT_EQ(who, by);
    }
    EXPECT_EQ(settings, 4);
    EXPECT_EQ(addin_changes, 3);
    std::vector<std::string> kinds;
    for (const auto& n : s->changes_after(0, 100)) kinds.push_back(n.kind);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "settings"), 4);
    EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "addin"), 3);
}

TEST_F(AdminOperationsTest, BadInputIsRefusedBeforeAnythingIsWritten) {
    auto s = open_recording();
    EXPECT_EQ(refusal([&] { admin::create_user(*s, "x", {"a@b", "", "", ""}); }), Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::create_user(*s, "x", {"", "", "", ""}); }), Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::set_disabled(*s, "x", "nobody", true); }), Why::not_found);
    // A category with one bad principal is not created at all.
    EXPECT_EQ(refusal([&] {
                  admin::create_category(*s, "x", {"Odd", "", {"everyone", "somebody"}, {}, {}});
              }),
              Why::bad_input);
    EXPECT_FALSE(s->find_category("Odd"));
    admin::create_category(*s, "x", {"Fine", "", {}, {}, {}});
    EXPECT_EQ(refusal([&] {
                  admin::create_category(*s, "x", {"Fine", "", {}, {}, {}});
              }),
              Why::conflict);
    EXPECT_EQ(
        refusal([&] { admin::change_category_list(*s, "x", "Fine", "owners", "everyone", true); }),
        Why::bad_input);
    EXPECT_EQ(
        refusal([&] { admin::change_category_list(*s, "x", "Nope", "allowed", "everyone", true); }),
        Why::not_found);
    EXPECT_EQ(refusal([&] { admin::set_policy(*s, "x", "everyone", true); }), Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::set_group_member(*s, "x", "nope", "nobody", true); }),
              Why::not_found);
    EXPECT_EQ(refusal([&] { admin::create_group(*s, "x", "", ""); }), Why::bad_input);
    // Only the category that was made left an event.
    ASSERT_EQ(events(*s).size(), 1u);
    EXPECT_EQ(events(*s)[0].first, "CATEGORYCHANGE");
}

TEST_F(AdminOperationsTest, MessagesAreFoundByWordsSenderAndTime) {
    auto s = open_recording();
    admin::create_category(*s, "x", {"Board", "", {}, {}, {}});
    store::Room room;
    room.node = "board";
    admin::create_room(*s, "x", room, "Board");
    int64_t id = s->find_room("board")->id;
    std::vector<store::NewMessage> batch;
    auto post = [&](const std::string& id_text, const std::string& sender, const std::string& body,
                    int64_t ts) {
        store::NewMessage m;
        m.room_id = id;
        m.stanza_id = id_text;
        m.sender = sender + "@example.org";
        m.nick = sender;
        m.body = body;
        m.ts_us = ts;
        batch.push_back(m);
    };
    post("m1", "alice", "The Launch code is 1234", 1000);
    post("m2", "bob", "launch tomorrow, code later", 2000);
    post("m3", "bob", "lunch?", 3000);
    post("m4", "alice", "the code, then the launch", 4000);
    s->append_messages(std::move(batch));
    auto ids = [&](admin::MessageFilter f, size_t limit = 100) {
        return admin::find_messages(*s, "board", f, limit).ids;
    };
    using V = std::vector<std::string>;
    admin::MessageFilter f;
    f.keywords = "launch code";
    EXPECT_EQ(ids(f), (V{"m1", "m2", "m4"}));  // any word
    f.match = "all";
    EXPECT_EQ(ids(f), (V{"m1", "m2", "m4"}));
    f.match = "exact";
    EXPECT_EQ(ids(f), (V{"m1"}));  // "launch code" in a row, any case
    f.case_sensitive = true;
    EXPECT_EQ(ids(f), V{});
    f.keywords = "Launch code";
    EXPECT_EQ(ids(f), (V{"m1"}));
    admin::MessageFilter by_bob;
    by_bob.sender = "bob";
    EXPECT_EQ(ids(by_bob), (V{"m2", "m3"}));
    by_bob.from_us = 2500;
    EXPECT_EQ(ids(by_bob), (V{"m3"}));
    admin::MessageFilter lunch;
    lunch.keywords = "lunch";  // a whole word: "launch" is not it
    EXPECT_EQ(ids(lunch), (V{"m3"}));
    admin::MessageFilter all_words;
    all_words.keywords = "launch";
    auto found = admin::find_messages(*s, "board", all_words, 2);
    EXPECT_EQ(found.ids, (V{"m1", "m2"}));
    EXPECT_TRUE(found.more);
    // Bad filters, and one that names nothing (that is clearing the room).
    admin::MessageFilter empty;
    EXPECT_EQ(refusal([&] { ids(empty); }), Why::bad_input);
    admin::MessageFilter odd;
    odd.keywords = "x";
    odd.match = "some";
    EXPECT_EQ(refusal([&] { ids(odd); }), Why::bad_input);
    admin::MessageFilter backwards;
    backwards.from_us = 5;
    backwards.to_us = 1;
    EXPECT_EQ(refusal([&] { ids(backwards); }), Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::find_messages(*s, "nope", lunch, 10); }), Why::not_found);
}

// The topology: checked (here against the rules and the version in force), published as the
// next version with its event and notice; a refusal publishes nothing.
TEST_F(AdminOperationsTest, TopologiesArePublishedOnlyWhenTheyKeepTheRules) {
    auto s = open_recording();
    std::string by = "admin:root";
    auto pool_of = [](const std::string& type, int servers) {
        std::string text =
            "[databases.content]\nurl = \"dbname=perch\"\n[[pools]]\nname = \"chat\"\n"
            "type = \"" +
            type + "\"\ncontent_database = \"content\"\nfile_store = \"/f\"\n";
        for (int i = 1; i <= servers; ++i)
            text += "[[pools.servers]]\nname = \"s" + std::to_string(i) +
                    "\"\nclient_address = \"c:5222\"\npeer_address = \"10.0.0." +
                    std::to_string(i) + ":8011\"\n";
        return text;
    };
    EXPECT_FALSE(s->published_topology());
    EXPECT_EQ(admin::publish_topology(*s, by, pool_of("single-server", 1), "t.toml"), 1);
    EXPECT_EQ(refusal([&] { admin::publish_topology(*s, by, pool_of("multi-server", 2), "t"); }),
              Why::bad_input);
    EXPECT_EQ(refusal([&] { admin::publish_topology(*s, by, "[[pools]\n", "t"); }), Why::bad_input);
    EXPECT_NE(
        admin::check_topology(*s, pool_of("multi-server", 2), "t").at(0).find("never gain servers"),
        std::string::npos);
    EXPECT_EQ(admin::publish_topology(*s, by, pool_of("single-server", 1), "t.toml"), 2);
    auto published = s->published_topology();
    ASSERT_TRUE(published);
    EXPECT_EQ(published->version, 2);
    EXPECT_EQ(published->by, by);
    EXPECT_EQ(published->text, pool_of("single-server", 1));
    EXPECT_EQ(events(*s), (std::vector<std::pair<std::string, std::string>>{
                              {"TOPOLOGYCHANGE", by}, {"TOPOLOGYCHANGE", by}}));
    std::vector<std::string> kinds;
    for (const auto& n : s->changes_after(0, 100)) kinds.push_back(n.kind + ":" + n.name);
    EXPECT_EQ(kinds, (std::vector<std::string>{"topology:1", "topology:2"}));
}
