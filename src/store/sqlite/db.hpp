#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace perch::store::sqlite {

class Error : public std::runtime_error {
  public:
    Error(const std::string& what, int code) : std::runtime_error(what), code_(code) {}
    int code() const { return code_; }

  private:
    int code_;
};

// A prepared statement, reset after each use. Columns and parameters are 0-based here.
class Statement {
  public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value);
    Statement& bind(int index, std::string_view value);
    Statement& bind_null(int index);
    // Returns true while a row is available.
    bool step();
    void run();  // step to completion, expecting no rows
    void reset();

    int64_t int_at(int col) const { return sqlite3_column_int64(stmt_, col); }
    std::string text_at(int col) const;
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

class Connection {
  public:
    explicit Connection(const std::string& path);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void exec(std::string_view sql);
    // A cached prepared statement, reset and ready to bind.
    Statement& prepare(std::string_view sql);
    int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    sqlite3* handle() { return db_; }

  private:
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// Begins on construction, rolls back unless commit() was called.
// A transaction; inside another one it is a savepoint, so that store methods compose.
class Transaction {
  public:
    explicit Transaction(Connection& c, bool immediate = true);
    ~Transaction();
    void commit();

  private:
    Connection& c_;
    bool nested_ = false;
    bool done_ = false;
};

}  // namespace perch::store::sqlite
