#pragma once
#include <span>

namespace perch::store::sqlite {

// The SQLite schema, one step per version (see sql::migrate). Never edit a step that has
// shipped; add one.
std::span<const char* const> migrations();

}  // namespace perch::store::sqlite
