#pragma once
#include <sqlite3.h>

#include <memory>
#include <string>
#include <unordered_map>

#include "store/sql/db.hpp"

// The SQLite driver of the SQL store: one file, one connection per thread.
namespace perch::store::sqlite {

class Statement final : public sql::Statement {
  public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement() override;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value) override;
    Statement& bind(int index, std::string_view value) override;
    Statement& bind_null(int index) override;
    bool step() override;
    void reset() override;

    int64_t int_at(int col) const override { return sqlite3_column_int64(stmt_, col); }
    std::string text_at(int col) const override;
    bool is_null(int col) const override { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Connection final : public sql::Connection {
  public:
    explicit Connection(const std::string& path);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sql::Dialect dialect() const override { return sql::Dialect::sqlite; }
    void exec(std::string_view sql) override;
    Statement& prepare(std::string_view sql) override;
    std::unique_ptr<sql::Statement> statement(std::string_view sql) override;
    int64_t changes() override { return sqlite3_changes64(db_); }
    bool in_transaction() override { return sqlite3_get_autocommit(db_) == 0; }
    void begin() override { exec("BEGIN IMMEDIATE"); }

    int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    sqlite3* handle() { return db_; }

  private:
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace perch::store::sqlite
