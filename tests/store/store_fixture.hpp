#pragma once
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "store/store.hpp"
#include "util/ids.hpp"

// Each test gets a fresh database in its own temporary directory.
class StoreTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("perch-store-" + perch::util::random_id());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    perch::store::StoreConfig config() const {
        perch::store::StoreConfig c;
        c.path = (dir_ / "content.db").string();
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
        sqlite3* db = nullptr;
        sqlite3_open((dir_ / "content.db").c_str(), &db);
        sqlite3_exec(db, "UPDATE schema_version SET version = version + 1", nullptr, nullptr,
                     nullptr);
        sqlite3_close(db);
    }

    std::filesystem::path dir_;
};
