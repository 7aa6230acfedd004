#pragma once
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "store/store.hpp"
#include "util/ids.hpp"

// Each test gets a fresh database: a SQLite file in its own temporary directory or, when
// PERCH_TEST_PG_FILE names a file holding a PostgreSQL connection string (ctest's
// store_test_postgres, with the cluster of scripts/pg-cluster.sh), a new PostgreSQL database.
class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-store-" + perch::util::random_id());
        std::filesystem::create_directories(dir_);
        if (const char* file = std::getenv("PERCH_TEST_PG_FILE")) {
            std::ifstream in(file);
            std::getline(in, server_);
            ASSERT_FALSE(server_.empty()) << "no connection string in " << file;
            database_ = "perch_test_" + perch::util::random_id();
            for (auto& c : database_)
                c = std::isalnum(static_cast<unsigned char>(c))
                        ? char(std::tolower(static_cast<unsigned char>(c)))
                        : '_';
            postgres("CREATE DATABASE " + database_, "postgres");
        }
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        if (!database_.empty())
            postgres("DROP DATABASE " + database_ + " WITH (FORCE)", "postgres");
    }

    bool on_postgres() const { return !database_.empty(); }

    perch::store::StoreConfig config() const {
        perch::store::StoreConfig c;
        c.path = (dir_ / "content.db").string();
        if (on_postgres()) {
            c.backend = "postgres";
            c.url = server_ + " dbname=" + database_;
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
            postgres(sql, database_);
            return;
        }
        sqlite3* db = nullptr;
        sqlite3_open((dir_ / "content.db").c_str(), &db);
        sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }

    // One statement on the test server, as its superuser.
    void postgres(const std::string& sql, const std::string& dbname) const {
        PGconn* c = PQconnectdb((server_ + " dbname=" + dbname).c_str());
        ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
        PGresult* r = PQexec(c, sql.c_str());
        EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
            << PQresultErrorMessage(r);
        PQclear(r);
        PQfinish(c);
    }

    std::filesystem::path dir_;
    std::string server_, database_;
};
