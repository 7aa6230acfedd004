#pragma once
#include <memory>

#include "store/store.hpp"

namespace perch::store::sqlite {

std::unique_ptr<Store> open(const StoreConfig& config);

}  // namespace perch::store::sqlite
