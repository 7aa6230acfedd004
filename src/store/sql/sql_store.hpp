#pragma once
#include <memory>
#include <span>

#include "store/sql/db.hpp"
#include "store/store.hpp"

namespace perch::store::sql {

// The Store on any SQL driver: migrates the schema (`migrations`, see sql::migrate), then
// serves every Store call on this one connection.
std::unique_ptr<Store> make_store(std::unique_ptr<Connection> connection,
                                  std::span<const char* const> migrations, bool compliance);

}  // namespace perch::store::sql
