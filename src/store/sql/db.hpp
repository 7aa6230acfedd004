#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

// What the SQL store needs of a database driver: prepared statements with `?` placeholders,
// transactions that nest as savepoints, and errors that tell a broken constraint from the rest.
// SQLite (store/sqlite) and PostgreSQL (store/postgres) implement it; the store's queries are
// written once in the SQL both understand, and ask dialect() where they differ (full-text
// search).
namespace perch::store::sql {

enum class Dialect { sqlite, postgres };

class Connection;
// A consistent copy of a SQLite database into the new file `path` (VACUUM INTO), readers and
// writers going on meanwhile; on PostgreSQL, an error pointing to pg_dump.
void backup_to(Connection& db, const std::string& path);

class Error : public std::runtime_error {
  public:
    Error(const std::string& what, bool constraint)
        : std::runtime_error(what), constraint_(constraint) {}
    // A UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint refused the change.
    bool constraint() const { return constraint_; }

  private:
    bool constraint_;
};

// A prepared statement, reset after each use. Columns and parameters are 0-based.
class Statement {
  public:
    virtual ~Statement() = default;

    virtual Statement& bind(int index, int64_t value) = 0;
    virtual Statement& bind(int index, std::string_view value) = 0;
    virtual Statement& bind_null(int index) = 0;
    // Runs the statement on first call; returns true while a row is available.
    virtual bool step() = 0;
    void run() {  // to completion, expecting no rows
        while (step()) {
        }
        reset();
    }
    virtual void reset() = 0;

    virtual int64_t int_at(int col) const = 0;
    virtual std::string text_at(int col) const = 0;
    virtual bool is_null(int col) const = 0;
};

class Connection {
  public:
    virtual ~Connection() = default;

    virtual Dialect dialect() const = 0;
    // Statements without parameters or results, several separated by `;`.
    virtual void exec(std::string_view sql) = 0;
    // A cached prepared statement, reset and ready to bind.
    virtual Statement& prepare(std::string_view sql) = 0;
    // A statement used once (queries whose text varies with their arguments).
    virtual std::unique_ptr<Statement> statement(std::string_view sql) = 0;
    // Rows changed by the last INSERT, UPDATE or DELETE.
    virtual int64_t changes() = 0;
    virtual bool in_transaction() = 0;
    // BEGIN, taking the write lock at once where the database has one.
    virtual void begin() = 0;
};

// Begins on construction, rolls back unless commit() was called. Inside another transaction it
// is a savepoint, so that store methods compose.
class Transaction {
  public:
    explicit Transaction(Connection& c);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

  private:
    Connection& c_;
    bool nested_ = false;
    bool done_ = false;
};

// Migration N takes a schema from version N-1 to N; the number of steps is the version this
// build writes. Applies what is missing in one transaction; refuses a newer database.
void migrate(Connection& db, std::span<const char* const> steps);
int schema_version(Connection& db);

}  // namespace perch::store::sql
