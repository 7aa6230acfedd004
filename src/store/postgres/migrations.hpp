#pragma once
#include <span>

namespace perch::store::postgres {

// The PostgreSQL schema, one step per version (see sql::migrate). Never edit a step that has
// shipped; add one. Version 1 holds what SQLite reached in its versions 1 to 5.
std::span<const char* const> migrations();

}  // namespace perch::store::postgres
