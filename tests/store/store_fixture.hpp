#pragma once
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "pg_test_db.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

// Each test gets a fresh database: a SQLite file in its own temporary directory, or a new
// PostgreSQL database when the suite runs against the test cluster (see pg_test_db.hpp).
class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-store-" + perch::util::random_id());
        std::filesystem::create_directories(dir_);
        if (databases_.active()) {
            url_ = databases_.create();
            database_ = url_.substr(url_.rfind("dbname=") + 7);
        }
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    bool on_postgres() const { return databases_.active(); }

    perch::store::StoreConfig config() const {
        perch::store::StoreConfig c;
        c.path = (dir_ / "content.db").string();
        if (on_postgres()) {
            c.backend = "postgres";
            c.url = url_;
        }
        return c;
    }
    std::unique_ptr<perch::store::Store> open() const { return perch::store::open_store(config()); }

    int64_t make_room(perch::store::Store& s, const std::string& node) {
        perch::store::Category c;
        c.name = "cat-" + node;
        perch::store::Room r;
        r.node = node;
        r.category_id = s.add_category(c);
        return s.add_room(r);
    }

    static perch::store::NewMessage message(int64_t room, std::string body, int64_t ts) {
        perch::store::NewMessage m;
        m.room_id = room;
        m.stanza_id = perch::util::random_id();
        m.sender = "alice@example.org";
        m.nick = "alice";
        m.body = std::move(body);
        m.ts_us = ts;
        return m;
    }

    void bump_schema_version() {
        const char* sql = "UPDATE schema_version SET version = version + 1";
        if (on_postgres()) {
            databases_.run(sql, database_);
            return;
        }
        sqlite3* db = nullptr;
        sqlite3_open((dir_ / "content.db").c_str(), &db);
        sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }

    void postgres(const std::string& sql, const std::string& dbname) const {
        databases_.run(sql, dbname);
    }

    std::filesystem::path dir_;
    TestDatabases databases_;
    std::string url_, database_;
};
