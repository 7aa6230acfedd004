#pragma once
#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sql/db.hpp"

// The PostgreSQL driver of the SQL store (libpq). One Connection is one server session used by
// one thread; the store's worker threads each hold one, which makes the pool. Statements are
// prepared on the server the first time they run and reused after; the types of their
// parameters are those of the first values bound (64-bit integers or text).
namespace perch::store::postgres {

class Connection;

class Statement final : public sql::Statement {
  public:
    // An empty `name` makes a one-off statement (sent with its text each time).
    Statement(Connection& c, std::string name, std::string_view sql);
    ~Statement() override;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, int64_t value) override;
    Statement& bind(int index, std::string_view value) override;
    Statement& bind_null(int index) override;
    bool step() override;
    void reset() override;

    int64_t int_at(int col) const override;
    std::string text_at(int col) const override;
    bool is_null(int col) const override { return PQgetisnull(result_, row_, col) != 0; }

  private:
    void execute();
    void set(int index, std::optional<std::string> value, Oid type);

    Connection& c_;
    std::string name_, sql_;
    std::vector<std::optional<std::string>> values_;
    std::vector<Oid> types_;
    uint64_t prepared_in_ = 0;  // the connection's generation it was prepared in; 0: not yet
    PGresult* result_ = nullptr;
    int row_ = -1, rows_ = 0;
};

class Connection final : public sql::Connection {
  public:
    // `conninfo`: a libpq connection string or postgresql:// URI. Unless it says otherwise, a
    // database cut off by the network is noticed in seconds (kNetworkDefaults in db.cpp).
    explicit Connection(const std::string& conninfo);
    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    sql::Dialect dialect() const override { return sql::Dialect::postgres; }
    void exec(std::string_view sql) override;
    Statement& prepare(std::string_view sql) override;
    std::unique_ptr<sql::Statement> statement(std::string_view sql) override;
    int64_t changes() override { return changes_; }
    bool in_transaction() override;
    void begin() override { exec("BEGIN"); }
    // The value of a connection option in effect (libpq's keyword), empty when unset.
    std::string option(const char* keyword) const;

  private:
    friend class Statement;
    // Takes ownership of a result: records the rows it changed, throws sql::Error on failure.
    // When the server went away outside a transaction, reconnects and returns nullptr so that
    // the caller can send again.
    PGresult* check(PGresult* result, bool may_retry);

    PGconn* conn_ = nullptr;
    bool in_transaction_hint_ = false;  // whether a transaction was open when we last sent
    uint64_t generation_ = 1;           // bumped by a reconnect: server-side statements are gone
    int64_t changes_ = 0;
    uint64_t next_name_ = 0;
    std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// The connection string without its password, for logs.
std::string printable_conninfo(const std::string& conninfo);

// `?` placeholders as PostgreSQL's `$1, $2 …` (outside quoted literals); sets `count`.
std::string numbered_placeholders(std::string_view sql, int& count);

}  // namespace perch::store::postgres
