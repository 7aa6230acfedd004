#include <gtest/gtest.h>

#include "store/search_query.hpp"
#include "store/sqlite/migrations.hpp"
#include "store_fixture.hpp"

using namespace perch::store;

namespace {
class ArchiveTest : public StoreTest {
  protected:
    void SetUp() override {
        StoreTest::SetUp();
        s_ = open();
        room_ = make_room(*s_, "r");
        other_ = make_room(*s_, "other");
        std::vector<NewMessage> batch;
        for (int i = 1; i <= 120; ++i) {
            auto m = message(room_, "message number " + std::to_string(i), i * 1000);
            m.stanza_id = "id" + std::to_string(i);
            m.nick = i % 3 == 0 ? "carol" : "alice";
            m.sender = m.nick + "@example.org";
            if (i == 17) m.body = "Le café est prêt, said the Barista";
            batch.push_back(std::move(m));
        }
        batch.push_back(message(other_, "café elsewhere", 5));
        s_->append_messages(std::move(batch));
    }

    ArchiveQuery query() {
        ArchiveQuery q;
        q.room_id = room_;
        q.max = 50;
        return q;
    }

    static std::vector<int64_t> seqs(const ArchivePage& p) {
        std::vector<int64_t> out;
        for (const auto& m : p.messages) out.push_back(m.seq);
        return out;
    }

    std::unique_ptr<Store> s_;
    int64_t room_ = 0, other_ = 0;
};
}  // namespace

TEST_F(ArchiveTest, ForwardPagingWithAfter) {
    auto q = query();
    auto p1 = s_->query_archive(q);
    EXPECT_EQ(p1.messages.size(), 50u);
    EXPECT_EQ(p1.messages.front().seq, 1);
    EXPECT_FALSE(p1.complete);
    EXPECT_EQ(p1.count, 120);
    EXPECT_EQ(p1.first_index, 0);
    q.after_id = p1.messages.back().stanza_id;
    auto p2 = s_->query_archive(q);
    EXPECT_EQ(p2.messages.front().seq, 51);
    EXPECT_EQ(p2.first_index, 50);
    q.after_id = "id100";
    auto p3 = s_->query_archive(q);
    EXPECT_EQ(p3.messages.size(), 20u);
    EXPECT_TRUE(p3.complete);
}

TEST_F(ArchiveTest, EmptyBeforeIsTheNewestPageAndBackwardPagingHasNoGaps) {
    auto q = query();
    q.last_page = true;
    std::vector<int64_t> all;
    for (;;) {
        auto p = s_->query_archive(q);
        auto s = seqs(p);
        all.insert(all.begin(), s.begin(), s.end());
        if (p.complete) break;
        q.last_page = false;
        q.before_id = p.messages.front().stanza_id;
    }
    ASSERT_EQ(all.size(), 120u);
    for (int i = 0; i < 120; ++i) EXPECT_EQ(all[size_t(i)], i + 1);
}

TEST_F(ArchiveTest, CountStopsAtItsLimitAndAnUnknownIndexIsLeftOut) {
    auto q = query();
    q.count_limit = 30;
    auto first = s_->query_archive(q);
    EXPECT_EQ(first.count, 30);
    EXPECT_FALSE(first.count_exact);
    EXPECT_EQ(first.first_index, 0);  // known without counting
    q.after_id = "id10";
    EXPECT_EQ(s_->query_archive(q).first_index, 10);
    q.after_id = "id60";
    EXPECT_EQ(s_->query_archive(q).first_index, std::nullopt);  // 60 is past the limit
    q = query();
    q.count_limit = 120;
    q.last_page = true;
    auto newest = s_->query_archive(q);
    EXPECT_TRUE(newest.count_exact);
    EXPECT_EQ(newest.count, 120);
    EXPECT_EQ(newest.first_index, 70);
}

// Searches page alike whether the rooms narrow the index query (a few) or the messages
// (many): newest first, backwards with no gaps, other filters applied on the way.
TEST_F(ArchiveTest, SearchPagesBackwardsWithFiltersInFewAndManyRooms) {
    for (size_t extra : {size_t(1), size_t(80)}) {
        auto q = query();
        q.room_ids = {room_};
        for (size_t i = 0; i < extra; ++i) q.room_ids.push_back(other_ + 1000 + int64_t(i));
        q.text = "number";
        q.with_nick = "carol";
        q.max = 7;
        q.last_page = true;
        std::vector<int64_t> all;
        for (;;) {
            auto p = s_->query_archive(q);
            EXPECT_EQ(p.count, 40);
            EXPECT_TRUE(p.count_exact);
            ASSERT_TRUE(p.first_index.has_value());
            auto s = seqs(p);
            EXPECT_EQ(*p.first_index, 40 - int64_t(all.size() + s.size()));
            all.insert(all.begin(), s.begin(), s.end());
            if (p.complete) break;
            q.last_page = false;
            q.before_id = p.messages.front().stanza_id;
        }
        ASSERT_EQ(all.size(), 40u) << extra;
        for (int i = 0; i < 40; ++i) EXPECT_EQ(all[size_t(i)], 3 * (i + 1));
        q.before_id.reset();
        q.after_id = "id60";  // and forwards from a message
        auto p = s_->query_archive(q);
        EXPECT_EQ(seqs(p), (std::vector<int64_t>{63, 66, 69, 72, 75, 78, 81}));
        EXPECT_EQ(p.first_index, 20);
    }
}

TEST_F(ArchiveTest, FiltersByTimeAuthorAndIds) {
    auto q = query();
    q.start_us = 10'000;
    q.end_us = 19'000;
    EXPECT_EQ(seqs(s_->query_archive(q)),
              (std::vector<int64_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
    q = query();
    q.with_nick = "carol";
    EXPECT_EQ(s_->query_archive(q).count, 40);
    q = query();
    q.with_sender = "carol@example.org";
    EXPECT_EQ(s_->query_archive(q).count, 40);
    q = query();
    q.ids = {"id5", "id7"};
    EXPECT_EQ(seqs(s_->query_archive(q)), (std::vector<int64_t>{5, 7}));
}

TEST_F(ArchiveTest, FullTextIgnoresCaseAndAccentsAndStaysInTheRoom) {
    auto q = query();
    q.text = "CAFE";
    auto p = s_->query_archive(q);
    ASSERT_EQ(p.messages.size(), 1u);
    EXPECT_EQ(p.messages[0].seq, 17);
    q.text = "\"said the barista\"";
    EXPECT_EQ(s_->query_archive(q).count, 1);
    q.text = "\"the said barista\"";
    EXPECT_EQ(s_->query_archive(q).count, 0);
    q.text = "number 42";
    EXPECT_EQ(s_->query_archive(q).count, 1);
    // User text is never query syntax: OR is a word to find (no message has it), a quote
    // opens a phrase; read as syntax, either would match every message.
    q.text = "message\" OR 1=1 --";
    EXPECT_EQ(s_->query_archive(q).count, 0);
    q.text = "number OR message";
    EXPECT_EQ(s_->query_archive(q).count, 0);
    q.text = "number message";
    EXPECT_EQ(s_->query_archive(q).count, 119);  // all but the 17th, the barista's
}

// Both back ends cut words where SQLite's tokenizer does: at punctuation, inside links and
// hyphenated words too, and find non-Latin words whatever their case.
TEST_F(ArchiveTest, WordsAreCutAtPunctuationOnEveryBackEnd) {
    s_->append_messages({message(room_, "see https://example.com/a_page and well-known foo.bar", 1),
                         message(room_, "Привет, МИР (ünïcödé)", 2)});
    auto q = query();
    auto count = [&](const char* text) {
        q.text = text;
        return s_->query_archive(q).count;
    };
    EXPECT_EQ(count("example"), 1);
    EXPECT_EQ(count("page"), 1);
    EXPECT_EQ(count("\"well known\""), 1);
    EXPECT_EQ(count("known"), 1);
    EXPECT_EQ(count("bar"), 1);
    EXPECT_EQ(count("\"example com\""), 1);
    EXPECT_EQ(count("мир"), 1);
    EXPECT_EQ(count("unicode"), 1);
    EXPECT_EQ(count("examples"), 0);  // no stemming: words as written
    // An underscore cuts words in both indexes, so it does in queries (found by
    // fuzz_search_query: "page _" asked for an empty phrase and found nothing).
    EXPECT_EQ(count("a_page"), 1);
    EXPECT_EQ(count("page _"), 1);
    // A query without a word finds nothing (it found every message: no word, no filter).
    EXPECT_EQ(count("_"), 0);
    EXPECT_EQ(count(" ,.; "), 0);
}

// SQLite schema 6 rebuilt the full-text index with each message's room: an archive written at
// schema 5 is searchable, room by room, after the upgrade.
TEST_F(StoreTest, SearchWorksAfterTheUpgradeThatAddedRoomsToTheIndex) {
    if (on_postgres()) GTEST_SKIP() << "SQLite's index only";
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "content.db").c_str(), &db), SQLITE_OK);
    std::string v5 = "CREATE TABLE schema_version (version INTEGER NOT NULL);";
    auto steps = perch::store::sqlite::migrations();
    for (size_t i = 0; i < 5; ++i) v5 += steps[i];
    v5 += R"(INSERT INTO schema_version VALUES (5);
        INSERT INTO categories (id, name, created_us) VALUES (1, 'c', 0);
        INSERT INTO rooms (id, node, name, category_id, last_seq, created_us)
            VALUES (1, 'a', 'a', 1, 1, 0), (2, 'b', 'b', 1, 1, 0);
        INSERT INTO messages (room_id, seq, stanza_id, sender, nick, body, ts_us) VALUES
            (1, 1, 'x1', 's', 'n', 'tomato soup', 1), (2, 1, 'x2', 's', 'n', 'tomato salad', 2);)";
    ASSERT_EQ(sqlite3_exec(db, v5.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
    auto s = open();
    ArchiveQuery q;
    q.room_id = 2;
    q.text = "tomato";
    auto page = s->query_archive(q);
    ASSERT_EQ(page.messages.size(), 1u);
    EXPECT_EQ(page.messages[0].body, "tomato salad");
    q.room_ids = {1, 2};
    EXPECT_EQ(s->query_archive(q).count, 2);
    s->append_messages({message(1, "tomato again", 3)});
    q.room_ids.clear();
    q.room_id = 1;
    EXPECT_EQ(s->query_archive(q).count, 2);
    // Removing a message takes it out of the index with its room.
    s->remove_message(1, "x1", "removed", "");
    EXPECT_EQ(s->query_archive(q).count, 1);
}

TEST_F(ArchiveTest, UnknownIdIsReported) {
    auto q = query();
    q.after_id = "nope";
    EXPECT_THROW(s_->query_archive(q), UnknownId);
}

TEST_F(ArchiveTest, SearchAcrossRoomsNewestFirstPagesAndCounts) {
    auto q = query();
    q.room_ids = {room_, other_};
    q.text = "café";
    q.last_page = true;
    auto p = s_->query_archive(q);
    ASSERT_EQ(p.count, 2);
    ASSERT_EQ(p.messages.size(), 2u);
    EXPECT_EQ(p.messages[0].room_id, room_);   // oldest first within the page
    EXPECT_EQ(p.messages[1].room_id, other_);  // posted last
    q.room_ids = {other_};
    EXPECT_EQ(s_->query_archive(q).count, 1);  // a room left out is not searched
    q.room_ids = {room_, other_};
    q.text.clear();
    q.max = 100;
    auto all = s_->query_archive(q);
    EXPECT_EQ(all.count, 121);
    EXPECT_FALSE(all.complete);
    q.last_page = false;
    q.before_id = all.messages.front().stanza_id;
    EXPECT_EQ(s_->query_archive(q).messages.size(), 21u);
}

TEST_F(ArchiveTest, AnyWordAndCaseSensitiveSearch) {
    auto q = query();
    q.text = "barista pelican";
    EXPECT_EQ(s_->query_archive(q).count, 0);  // all words by default
    q.any_word = true;
    EXPECT_EQ(s_->query_archive(q).count, 1);
    q.any_word = false;
    q.text = "barista";
    q.case_sensitive = true;
    EXPECT_EQ(s_->query_archive(q).count, 0);  // it was written "Barista"
    q.text = "Barista";
    EXPECT_EQ(s_->query_archive(q).count, 1);
}

TEST(SearchQuery, ParsesWordsAndPhrases) {
    auto t = parse_search(R"(alpha "beta gamma" delta "solo")");
    ASSERT_EQ(t.size(), 4u);
    EXPECT_EQ(t[0].words, std::vector<std::string>{"alpha"});
    EXPECT_TRUE(t[1].phrase);
    EXPECT_EQ(t[1].words, (std::vector<std::string>{"beta", "gamma"}));
    EXPECT_FALSE(t[3].phrase);
    EXPECT_EQ(to_fts5(t), R"(body : ("alpha" AND "beta gamma" AND "delta" AND "solo"))");
    EXPECT_EQ(to_fts5(parse_search("x y"), true, {7, 9}),
              R"(body : ("x" OR "y") AND room : (r7 OR r9))");
    EXPECT_TRUE(parse_search("  ,.;  ").empty());
}
