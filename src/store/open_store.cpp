#include <stdexcept>

#include "store/postgres/db.hpp"
#include "store/postgres/migrations.hpp"
#include "store/sql/sql_store.hpp"
#include "store/sqlite/db.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/store.hpp"

namespace perch::store {

std::unique_ptr<Store> open_store(const StoreConfig& config) {
    if (config.backend == "sqlite") {
        auto db = std::make_unique<sqlite::Connection>(config.path);
        db->exec("PRAGMA journal_mode = WAL");
        db->exec(config.synchronous_full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL");
        db->exec("PRAGMA foreign_keys = ON");
        db->exec("PRAGMA cache_size = -" + std::to_string(int64_t(config.cache_mb) * 1024));
        db->exec("PRAGMA mmap_size = " + std::to_string(int64_t(config.mmap_mb) << 20));
        return sql::make_store(std::move(db), sqlite::migrations(), config.compliance);
    }
    if (config.backend == "postgres") {
        if (config.url.empty())
            throw std::runtime_error("store.url is empty: give the PostgreSQL connection string");
        auto db = std::make_unique<postgres::Connection>(config.url);
        if (!config.synchronous_full) db->exec("SET synchronous_commit = off");
        return sql::make_store(std::move(db), postgres::migrations(), config.compliance);
    }
    throw std::runtime_error("unknown store backend '" + config.backend +
                             "' (known: sqlite, postgres)");
}

std::string describe(const StoreConfig& config) {
    if (config.backend == "postgres")
        return "postgres (" + postgres::printable_conninfo(config.url) + ")";
    return config.backend + " " + config.path;
}

}  // namespace perch::store
