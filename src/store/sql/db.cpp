#include "store/sql/db.hpp"

namespace perch::store::sql {

Transaction::Transaction(Connection& c) : c_(c), nested_(c.in_transaction()) {
    if (nested_)
        c_.exec("SAVEPOINT nested");
    else
        c_.begin();
}

Transaction::~Transaction() {
    if (!done_) {
        try {
            c_.exec(nested_ ? "ROLLBACK TO SAVEPOINT nested; RELEASE SAVEPOINT nested"
                            : "ROLLBACK");
        } catch (...) {
        }
    }
}

void Transaction::commit() {
    c_.exec(nested_ ? "RELEASE SAVEPOINT nested" : "COMMIT");
    done_ = true;
}

int schema_version(Connection& db) {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    auto& st = db.prepare("SELECT version FROM schema_version");
    int v = st.step() ? int(st.int_at(0)) : 0;
    st.reset();
    return v;
}

void migrate(Connection& db, std::span<const char* const> steps) {
    const int target = int(steps.size());
    Transaction tx(db);
    // Servers of a pool may start together: one migrates, the others wait and find it done.
    if (db.dialect() == Dialect::postgres) db.exec("SELECT pg_advisory_xact_lock(7014251)");
    int current = schema_version(db);
    if (current > target)
        throw Error("database schema version " + std::to_string(current) +
                        " is newer than this build understands (" + std::to_string(target) +
                        "); upgrade Perch",
                    false);
    for (int v = current; v < target; ++v) db.exec(steps[size_t(v)]);
    if (current == 0)
        db.prepare("INSERT INTO schema_version (version) VALUES (?)")
            .bind(0, int64_t(target))
            .run();
    else if (current < target)
        db.prepare("UPDATE schema_version SET version = ?").bind(0, int64_t(target)).run();
    tx.commit();
}

void backup_to(Connection& db, const std::string& path) {
    if (db.dialect() != Dialect::sqlite)
        throw std::runtime_error(
            "a PostgreSQL database is backed up with pg_dump (docs/OPERATOR_GUIDE.md, Backup)");
    db.prepare("VACUUM INTO ?").bind(0, path).run();
}

}  // namespace perch::store::sql
