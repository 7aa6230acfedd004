#include <stdexcept>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace perch::store {

std::unique_ptr<Store> open_store(const StoreConfig& config) {
    if (config.backend == "sqlite") return sqlite::open(config);
    throw std::runtime_error("unknown store backend '" + config.backend + "' (known: sqlite)");
}

}  // namespace perch::store
