#pragma once
// A name for the calling thread, as `top -H`, `ps -L` and profilers show it: what each of a
// server's threads spends its time on can be told apart from outside.
#include <pthread.h>

#include <string>

namespace perch::util {

// Linux keeps the first 15 bytes.
inline void name_this_thread(const std::string& name) {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace perch::util
