// The topology file and the original's rules: each refused with its reason and what to do.
#include "pool/topology.hpp"

#include <gtest/gtest.h>

using namespace perch::pool;

namespace {

const char* const kDatabases = R"(
[databases.content]
url = "host=db1,db2 dbname=perch password=secret target_session_attrs=read-write"
replicas = ["db2"]
[databases.compliance]
url = "host=db1 dbname=perch_compliance"
)";

// A multi-server pool "chat" with `active` active and `standby` standby servers.
std::string a_pool(int active, int standby, const std::string& extra = "") {
    std::string out = std::string(kDatabases) +
                      "[[pools]]\nname = \"chat\"\ncontent_database = \"content\"\n"
                      "compliance_database = \"compliance\"\nfile_store = \"/srv/files\"\n" +
                      extra;
    for (int i = 1; i <= active + standby; ++i)
        out += "[[pools.servers]]\nname = \"s" + std::to_string(i) + "\"\nclient_address = \"chat" +
               std::to_string(i) + ".example.org:5222\"\npeer_address = \"10.0.0." +
               std::to_string(i) + ":8011\"\nrole = \"" + (i <= active ? "active" : "standby") +
               "\"\n";
    return out;
}

// The one problem `text` has (or a failure when it has none, or several).
std::string problem(const std::string& text, const Topology* published = nullptr) {
    auto problems = topology_problems(parse_topology(text, "t.toml"), published);
    EXPECT_EQ(problems.size(), 1u) << testing::PrintToString(problems);
    return problems.empty() ? "" : problems[0];
}

}  // namespace

TEST(Topology, AFullPoolIsRead) {
    auto t = parse_topology(a_pool(4, 4, "standby_after_s = 20\n"), "t.toml");
    EXPECT_TRUE(topology_problems(t, nullptr).empty());
    ASSERT_EQ(t.pools.size(), 1u);
    const auto& p = t.pools[0];
    EXPECT_TRUE(p.multi);
    EXPECT_EQ(p.active(), 4u);
    EXPECT_EQ(p.servers.size(), 8u);
    EXPECT_EQ(p.standby_after_s, 20);
    EXPECT_EQ(t.databases.at("content").replicas, std::vector<std::string>{"db2"});
    auto found = t.server("s6");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->first->name, "chat");
    EXPECT_EQ(found->second->role, "standby");
    // Shown without the password the connection string holds.
    auto shown = topology_json(t).dump();
    EXPECT_EQ(shown.find("secret"), std::string::npos) << shown;
    EXPECT_NE(shown.find("password=***"), std::string::npos);
}

TEST(Topology, AtMostFourActive) {
    EXPECT_NE(problem(a_pool(5, 0))
                  .find("at most 4 may be active: give the others role = "
                        "\"standby\""),
              std::string::npos);
}

TEST(Topology, AtMostEightServers) {
    EXPECT_NE(problem(a_pool(4, 5)).find("has 9 servers; a pool holds at most 8"),
              std::string::npos);
}

TEST(Topology, ASingleServerPoolHoldsOneServer) {
    std::string text = a_pool(2, 0, "type = \"single-server\"\n");
    EXPECT_NE(problem(text).find("use a multi-server pool"), std::string::npos);
}

TEST(Topology, APublishedSingleServerPoolNeverGainsServers) {
    auto single = parse_topology(a_pool(1, 0, "type = \"single-server\"\n"), "old.toml");
    ASSERT_TRUE(topology_problems(single, nullptr).empty());
    EXPECT_NE(problem(a_pool(2, 0), &single).find("can never gain servers"), std::string::npos);
    // Nor becomes multi-server with its one server.
    EXPECT_NE(problem(a_pool(1, 0), &single).find("create a multi-server pool"), std::string::npos);
    // A multi-server pool of one gains servers freely.
    auto one = parse_topology(a_pool(1, 0), "old.toml");
    EXPECT_TRUE(topology_problems(parse_topology(a_pool(3, 1), "t.toml"), &one).empty());
}

TEST(Topology, EveryServerOfAPoolOnItsDatabases) {
    std::string text = a_pool(2, 0);
    text.insert(text.rfind("role"), "content_database = \"compliance\"\n");
    EXPECT_NE(problem(text).find("every server of a pool uses the pool's databases"),
              std::string::npos);
}

TEST(Topology, AServerInOnePoolOnly) {
    std::string second =
        "[[pools]]\nname = \"other\"\ncontent_database = \"content\"\nfile_store = \"/x\"\n"
        "[[pools.servers]]\nname = \"s1\"\nclient_address = \"o:5222\"\n"
        "peer_address = \"10.0.1.1:8011\"\n";
    EXPECT_NE(problem(a_pool(2, 0) + second).find("is in pools chat and other"), std::string::npos);
}

TEST(Topology, OtherMistakesAreNamed) {
    EXPECT_NE(problem(a_pool(0, 2)).find("no active server"), std::string::npos);
    std::string no_db = a_pool(1, 0);
    no_db.replace(no_db.find("content_database = \"content\""), 28,
                  "content_database = \"nowhere\"");
    EXPECT_NE(problem(no_db).find("no [databases.nowhere]"), std::string::npos);
    std::string shared_peer = a_pool(2, 0);
    shared_peer.replace(shared_peer.find("10.0.0.2"), 8, "10.0.0.1");
    EXPECT_NE(problem(shared_peer).find("the same peer_address"), std::string::npos);
}

TEST(Topology, BadFilesNameTheLine) {
    auto fails = [](const std::string& text) -> std::string {
        try {
            parse_topology(text, "t.toml");
        } catch (const TopologyError& e) {
            return e.what();
        }
        return "parsed";
    };
    EXPECT_EQ(fails("[[pools]]\nname = \n"), fails("[[pools]]\nname = \n"));
    EXPECT_EQ(fails("[[pools]]\nname = \n").rfind("t.toml:2:", 0), 0u);
    EXPECT_NE(fails(a_pool(1, 0) + "colour = \"blue\"\n").find("unknown key"), std::string::npos);
    std::string bad_role = a_pool(1, 0);
    bad_role.replace(bad_role.find("\"active\""), 8, "\"spare\"");
    EXPECT_NE(fails(bad_role).find("role is \"active\" or \"standby\""), std::string::npos);
    std::string bad_address = a_pool(1, 0);
    bad_address.replace(bad_address.find("10.0.0.1:8011"), 13, "10.0.0.1");
    EXPECT_NE(fails(bad_address).find("must be host:port"), std::string::npos);
    EXPECT_NE(fails(std::string(kDatabases)).find("at least one pool"), std::string::npos);
    EXPECT_NE(fails(a_pool(1, 0, "standby_after_s = 1\n")).find("5 to 3600"), std::string::npos);
}
