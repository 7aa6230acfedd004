#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "compliance/export.hpp"
#include "compliance/log.hpp"
#include "compliance/service.hpp"
#include "pg_test_db.hpp"
#include "store/store.hpp"
#include "util/crypto.hpp"

using namespace perch;
using compliance::Log;
using store::ComplianceEvent;

namespace {

class LogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("perch-compliance-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    // Where a log goes besides its path: a new PostgreSQL database when the suite runs against
    // the test cluster (compliance_test_postgres), else nowhere (SQLite at the path).
    std::string url() { return databases_.active() ? databases_.create() : std::string(); }

    // A known scenario with fixed times: two rooms, a join, posts, a file, a server event.
    static std::vector<ComplianceEvent> scenario() {
        int64_t t = 1'780'000'000'000'000;  // 2026-05-28T20:26:40Z
        auto e = [&](int64_t id, std::string type, std::string actor, std::string room,
                     std::string content) {
            std::string category = room.empty() ? "" : "Projects";
            return ComplianceEvent{id,
                                   t + id * 1'000'000,
                                   std::move(type),
                                   std::move(actor),
                                   std::move(room),
                                   std::move(category),
                                   std::move(content)};
        };
        return {
            e(1, "SIGNIN", "alice", "", R"({"from":"127.0.0.1:5000","transport":"tcp"})"),
            e(2, "JOIN", "alice", "garden", R"({"nick":"alice","jid":"alice@example.org/pc"})"),
            e(3, "CHAT", "alice", "garden",
              R"({"id":"m1","seq":"1","sender":"alice@example.org","nick":"alice","kind":"normal","body":"Tomatoes & <basil>"})"),
            e(4, "FILEUPLOAD", "bob", "",
              R"({"id":"f1","name":"plan.pdf","size":"1234","type":"application/pdf","sha256":"ab12"})"),
            e(5, "CHAT", "bob", "shed",
              R"({"id":"m2","seq":"1","sender":"bob@example.org","nick":"bob","kind":"alert","body":"Hail tonight"})"),
            e(6, "PART", "alice", "garden", R"({"nick":"alice","jid":"alice@example.org/pc"})"),
        };
    }

    std::filesystem::path dir_;
    TestDatabases databases_;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST_F(LogTest, EventsAreTakenOnceInOrderAndChained) {
    Log log(path("c.db"), url());
    auto events = scenario();
    EXPECT_EQ(log.append({events[0], events[1], events[2]}), 3);
    // After a crash the outbox still holds what was moved: taking it again adds nothing.
    EXPECT_EQ(log.append(events), 6);
    EXPECT_EQ(log.append(events), 6);
    auto logged = log.read({});
    ASSERT_EQ(logged.size(), 6u);
    for (size_t i = 0; i < logged.size(); ++i) {
        EXPECT_EQ(logged[i].seq, int64_t(i + 1));
        EXPECT_EQ(logged[i].outbox_id, int64_t(i + 1));
        EXPECT_EQ(logged[i].hash,
                  compliance::chain_hash(logged[i].prev_hash, logged[i].seq, logged[i].event));
        if (i > 0) {
            EXPECT_EQ(logged[i].prev_hash, logged[i - 1].hash);
        }
    }
    EXPECT_EQ(logged[0].prev_hash, std::string(64, '0'));
    auto v = log.verify();
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_EQ(v.checked, 6);
    compliance::Selection garden;
    garden.room = "garden";
    EXPECT_EQ(log.read(garden).size(), 3u);
    compliance::Selection bob;
    bob.user = "bob";
    bob.start_us = scenario()[4].ts_us;
    EXPECT_EQ(log.read(bob).size(), 1u);
}

TEST_F(LogTest, VerifyNamesTheFirstBrokenLink) {
    for (const char* tamper : {"modified", "deleted", "inserted", "truncated"}) {
        std::string file = path(std::string(tamper) + ".db");
        Log log(file, url());
        log.append(scenario());
        log.set_cursor("jsonl", 6);
        auto& db = log.connection();
        std::string what = tamper;
        if (what == "modified") {
            db.exec("UPDATE events SET content = replace(content, 'Hail', 'Rain') WHERE seq = 5");
        } else if (what == "deleted") {
            db.exec("DELETE FROM events WHERE seq = 3");
        } else if (what == "inserted") {
            // A forged event with a hash that fits the one before it, slipped in at 3.
            auto before = log.read({})[1];
            db.exec("UPDATE events SET seq = seq + 100 WHERE seq >= 3");
            db.exec("UPDATE events SET seq = seq - 99 WHERE seq >= 103");
            ComplianceEvent forged{99, 1, "CHAT", "mallory", "garden", "Projects", "{}"};
            std::string hash = compliance::chain_hash(before.hash, 3, forged);
            db.exec(
                "INSERT INTO events VALUES (3, 99, 1, 'CHAT', 'mallory', 'garden', "
                "'Projects', '{}', '" +
                before.hash + "', '" + hash + "')");
        } else {
            db.exec("DELETE FROM events WHERE seq = 6");
        }
        auto v = log.verify();
        EXPECT_FALSE(v.ok) << tamper;
        int64_t expected = what == "modified"   ? 5
                           : what == "deleted"  ? 3
                           : what == "inserted" ? 4
                                                : 6;
        EXPECT_EQ(v.broken_at, expected) << tamper << ": " << v.reason;
    }
}

// Rewrites event `seq`'s body and every hash from it on, as someone with the whole table in
// hand could: the chain alone then verifies.
void rewrite_and_rehash(Log& log, int64_t seq) {
    auto& db = log.connection();
    db.exec("UPDATE events SET content = replace(content, 'Hail', 'Rain') WHERE seq = " +
            std::to_string(seq));
    auto events = log.read({});
    std::string prev = events.front().prev_hash;
    for (auto& e : events) {
        std::string hash = compliance::chain_hash(prev, e.seq, e.event);
        db.exec("UPDATE events SET prev_hash = '" + prev + "', hash = '" + hash +
                "' WHERE seq = " + std::to_string(e.seq));
        prev = hash;
    }
}

TEST_F(LogTest, CheckpointsCatchAChainRewrittenOrCutShort) {
    auto key = compliance::CheckpointKey::open(path("checkpoint.pem"), true);
    {
        Log log(path("rewritten.db"), url());
        log.append(scenario());
        auto c = log.checkpoint(key);
        ASSERT_TRUE(c);
        EXPECT_EQ(c->seq, 6);
        EXPECT_TRUE(key.verifies(*c));
        auto v = log.verify(log.checkpoints(), {key});
        EXPECT_TRUE(v.ok) << v.reason;
        EXPECT_EQ(v.checkpoints, 1);
        rewrite_and_rehash(log, 5);
        EXPECT_TRUE(log.verify().ok);  // the gap checkpoints close
        v = log.verify(log.checkpoints(), {key});
        EXPECT_FALSE(v.ok);
        EXPECT_EQ(v.broken_at, 6) << v.reason;
        EXPECT_NE(v.reason.find("rewritten"), std::string::npos) << v.reason;
    }
    {
        Log log(path("cut.db"), url());
        log.append(scenario());
        auto c = log.checkpoint(key);
        log.connection().exec("DELETE FROM events WHERE seq >= 5");
        EXPECT_TRUE(log.verify().ok);  // no cursor went that far: the chain alone cannot tell
        auto v = log.verify({*c}, {key});
        EXPECT_FALSE(v.ok);
        EXPECT_EQ(v.broken_at, 5) << v.reason;
        EXPECT_NE(v.reason.find("missing"), std::string::npos) << v.reason;
    }
}

TEST_F(LogTest, ACheckpointMustBeSignedByAKeyGiven) {
    auto key = compliance::CheckpointKey::open(path("checkpoint.pem"), true);
    auto other = compliance::CheckpointKey::open(path("other.pem"), true);
    EXPECT_NE(key.key_id(), other.key_id());
    Log log(path("c.db"), url());
    log.append(scenario());
    auto c = *log.checkpoint(key);
    // Read back from its JSON, and verified with the public key alone (an auditor's copy).
    auto read = compliance::Checkpoint::from_json(c.to_json());
    ASSERT_TRUE(read);
    auto auditor = compliance::CheckpointKey::from_public_pem(key.public_pem());
    EXPECT_TRUE(log.verify({*read}, {auditor}).ok);
    EXPECT_THROW(auditor.sign(1, "x", 1), std::runtime_error);
    // A checkpoint changed to fit a rewritten chain no longer verifies.
    auto forged = c;
    forged.hash = log.read({}).front().hash;
    forged.seq = 1;
    auto v = log.verify({forged}, {key});
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find("forged or changed"), std::string::npos) << v.reason;
    // One signed by a key that was not given is not taken on trust.
    auto stranger = *log.checkpoint(other);
    v = log.verify({c, stranger}, {key});
    EXPECT_FALSE(v.ok);
    EXPECT_NE(v.reason.find(other.key_id()), std::string::npos) << v.reason;
    EXPECT_TRUE(log.verify({c, stranger}, {key, other}).ok);
    // Events after a checkpoint are fine; the same checkpoint twice counts once.
    log.append({ComplianceEvent{7, 7, "SIGNIN", "bob", "", "", "{}"}});
    v = log.verify({c, c}, {key});
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_EQ(v.checkpoints, 1);
    // A key file that is not one is refused, not replaced.
    std::ofstream(path("broken.pem")) << "not a key";
    EXPECT_THROW(compliance::CheckpointKey::open(path("broken.pem"), true), std::runtime_error);
    EXPECT_THROW(compliance::CheckpointKey::open(path("missing.pem"), false), std::runtime_error);
}

TEST_F(LogTest, RetentionKeepsTheChainVerifiable) {
    Log log(path("c.db"), url());
    auto events = scenario();
    log.append({events[0], events[1], events[2], events[3]});
    auto key = compliance::CheckpointKey::open(path("checkpoint.pem"), true);
    auto at_four = *log.checkpoint(key);
    auto at_two = key.sign(2, log.read({})[1].hash, 1);
    std::string hash_of_three = log.read({})[2].hash;
    int64_t cutoff = events[3].ts_us;    // events 1-3 are older
    EXPECT_EQ(log.purge(cutoff, 2), 2);  // only what was exported (up to 2) may go
    EXPECT_EQ(log.read({}).front().seq, 3);
    auto v = log.verify();
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_EQ(log.purge(cutoff, 10), 1);
    log.append({events[4], events[5]});
    auto rest = log.read({});
    ASSERT_EQ(rest.size(), 3u);
    EXPECT_EQ(rest.front().seq, 4);
    v = log.verify();
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_EQ(v.checked, 3);
    // A checkpoint of a forgotten event is counted apart; one of the anchor (the last event
    // forgotten) is still held against it.
    auto at_anchor = key.sign(3, hash_of_three, 1);
    v = log.verify({at_two, at_anchor, at_four}, {key});
    EXPECT_TRUE(v.ok) << v.reason;
    EXPECT_EQ(v.checkpoints_purged, 1);
    EXPECT_EQ(v.checkpoints, 2);
    log.connection().exec("DELETE FROM events WHERE seq = 4");  // still caught after a purge
    EXPECT_FALSE(log.verify().ok);
}

TEST_F(LogTest, XmlExportOfAKnownScenarioMatchesTheCheckedInFile) {
    Log log(path("c.db"), url());
    log.append(scenario());
    compliance::XmlOptions o;
    o.domain = "example.org";
    o.muc_domain = "chat.example.org";
    o.room_details = true;
    o.file_manifest = true;
    o.user_details = true;
    o.user_lookup = [](const std::string& name) -> std::optional<compliance::UserDetails> {
        if (name == "alice") return compliance::UserDetails{"Alice Liddell", "alice@example.org"};
        return std::nullopt;
    };
    std::string xml = compliance::to_xml(log.read({}), o);
    std::string expected = slurp(std::string(PERCH_TEST_DATA) + "/compliance/expected_export.xml");
    EXPECT_EQ(xml, expected);
    if (xml != expected) {
        auto actual = std::filesystem::temp_directory_path() / "perch-actual-export.xml";
        std::ofstream(actual) << xml;
        ADD_FAILURE() << "actual written to " << actual;
    }
}

TEST_F(LogTest, JsonLinesCarryEveryEventAndItsChain) {
    Log log(path("c.db"), url());
    log.append(scenario());
    std::istringstream lines(compliance::to_jsonl(log.read({})));
    std::string line;
    int n = 0;
    std::string prev(64, '0');
    while (std::getline(lines, line)) {
        auto j = nlohmann::json::parse(line);
        ++n;
        EXPECT_EQ(j["seq"], n);
        EXPECT_EQ(j["prev_hash"], prev);
        // The hash again, from the line alone, as docs/COMPLIANCE.md says: the content is the
        // text between "content": and ,"prev_hash" (null: empty).
        size_t from = line.find(",\"content\":") + 11, to = line.rfind(",\"prev_hash\":");
        std::string content = line.substr(from, to - from);
        if (content == "null") content.clear();
        std::string data = prev;
        for (const std::string& field :
             {std::to_string(n), std::to_string(j["ts_us"].get<int64_t>()),
              j["type"].get<std::string>(), j["actor"].get<std::string>(),
              j["room"].get<std::string>(), j["category"].get<std::string>(), content})
            data += '\x1f' + field;
        EXPECT_EQ(util::hex(util::digest(util::Hash::sha256, data)), j["hash"]) << line;
        prev = j["hash"];
        if (n == 3) {
            EXPECT_EQ(j["content"]["body"], "Tomatoes & <basil>");
        }
    }
    EXPECT_EQ(n, 6);
}

TEST_F(LogTest, TheServiceMovesTheOutboxAndExportsOnSchedule) {
    store::StoreConfig content;
    content.path = path("content.db");
    content.compliance = true;
    if (databases_.active()) {  // the content database on PostgreSQL too
        content.backend = "postgres";
        content.url = url();
    }
    auto s = store::open_store(content);
    store::Category cat;
    cat.name = "Projects";
    store::Room room;
    room.node = "garden";
    room.category_id = s->add_category(cat);
    room.id = s->add_room(room);
    store::NewMessage m;
    m.room_id = room.id;
    m.stanza_id = "s1";
    m.sender = "alice@example.org";
    m.nick = "alice";
    m.body = "first";
    m.ts_us = 5;
    s->append_messages({m});
    // An event and a change go together, or neither does.
    EXPECT_THROW(
        s->with_events({store::make_event("ROOMCHANGE", "alice", "garden", "Projects", {})},
                       [&] { throw std::runtime_error("change failed"); }),
        std::runtime_error);
    s->record({store::make_event("JOIN", "bob", "garden", "Projects", {{"nick", "bob"}})});
    auto queued = s->outbox(10);
    ASSERT_EQ(queued.size(), 2u);
    EXPECT_EQ(queued[0].type, "CHAT");
    EXPECT_EQ(queued[0].room, "garden");
    EXPECT_EQ(queued[0].category, "Projects");
    EXPECT_EQ(nlohmann::json::parse(queued[0].content)["body"], "first");
    EXPECT_EQ(queued[1].type, "JOIN");

    compliance::ServiceConfig sc;
    sc.path = path("compliance.db");
    sc.url = url();
    sc.export_dir = path("export");
    sc.checkpoint_key = path("checkpoint.pem");
    sc.options.run_interval = std::chrono::seconds(1);
    {
        compliance::Service service(sc, content);
        service.start();
        for (int i = 0; i < 50 && !std::filesystem::exists(path("export") + "/checkpoints"); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        service.stop();
    }
    EXPECT_TRUE(s->outbox(10).empty());
    Log log(sc.path, sc.url);
    EXPECT_EQ(log.read({}).size(), 2u);
    EXPECT_TRUE(std::filesystem::exists(path("export") + "/jsonl/events-1-2.jsonl"));
    EXPECT_TRUE(std::filesystem::exists(path("export") + "/xml/events-1-2.xml"));
    EXPECT_EQ(log.cursor("xml"), 2);
    // The export's checkpoint, beside it and in the log, signed by the key it made.
    std::vector<std::string> unreadable;
    auto exported = compliance::exported_checkpoints(sc.export_dir, unreadable);
    ASSERT_EQ(exported.size(), 1u);
    EXPECT_TRUE(unreadable.empty());
    EXPECT_EQ(exported[0].seq, 2);
    EXPECT_TRUE(std::filesystem::exists(path("export") + "/checkpoints/checkpoint-2.json"));
    EXPECT_EQ(log.checkpoints().size(), 1u);
    auto key = compliance::CheckpointKey::open(sc.checkpoint_key, false);
    auto verified = log.verify(exported, {key});
    EXPECT_TRUE(verified.ok) << verified.reason;
    EXPECT_EQ(verified.checkpoints, 1);

    // Off, nothing is captured.
    store::StoreConfig off = content;
    off.path = path("off.db");
    if (databases_.active()) off.url = url();
    off.compliance = false;
    auto quiet = store::open_store(off);
    quiet->record({store::make_event("JOIN", "bob", "", "", {})});
    EXPECT_TRUE(quiet->outbox(10).empty());
}

TEST(ComplianceOptions, SetFromTextWithinTheOriginalsRangesAndStoredOverTheFile) {
    compliance::ServiceOptions o;
    compliance::set_option(o, "run_interval_s", "60");
    compliance::set_option(o, "user_details", "true");
    EXPECT_EQ(o.run_interval, std::chrono::seconds(60));
    EXPECT_TRUE(o.user_details);
    EXPECT_EQ(compliance::option_text(o, "user_details"), "true");
    EXPECT_THROW(compliance::set_option(o, "run_interval_s", "59"), std::invalid_argument);
    EXPECT_THROW(compliance::set_option(o, "run_interval_s", "2592001"), std::invalid_argument);
    EXPECT_THROW(compliance::set_option(o, "xml", "yes"), std::invalid_argument);
    EXPECT_THROW(compliance::set_option(o, "nope", "1"), std::invalid_argument);
    compliance::set_option(o, "xml", "false");
    EXPECT_THROW(compliance::set_option(o, "jsonl", "false"), std::invalid_argument);  // one stays
    compliance::ServiceOptions file;
    auto now = compliance::with_stored(file, {{"compliance.retention_days", "30"},
                                              {"compliance.run_interval_s", "1"},  // skipped
                                              {"max_message_chars", "20"}});       // not ours
    EXPECT_EQ(now.retention_days, 30);
    EXPECT_EQ(now.run_interval, file.run_interval);
}
