#pragma once
#include <cstdint>
#include <string>

namespace perch::util {

// An unguessable identifier: 16 random bytes, URL-safe base64 without padding (22 chars).
std::string random_id();

// An identifier that sorts (as bytes) in the order it was made, for ids a database indexes:
// new ones land at the end of the index instead of on a random page of it. 9 characters of
// the time in microseconds, then 13 random ones (78 bits), 22 in all, from an alphabet of
// URL-safe characters in ASCII order. `at_us` is for tests; 0 means the clock.
std::string ordered_id(int64_t at_us = 0);

}  // namespace perch::util
