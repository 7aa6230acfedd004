#pragma once
// What the benchmarks post and search for: message bodies drawn from a vocabulary with a few
// very common words and a long tail, like chat, and the searches made over them.
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace perch::bench {

// Bodies drawn from a vocabulary with a few very common words and a long tail, like chat.
class Bodies {
  public:
    explicit Bodies(uint32_t seed) : rng_(seed) {
        for (int i = 0; i < 5000; ++i) words_.push_back("w" + std::to_string(i));
        const char* common[] = {"the",    "deploy", "meeting", "review",   "release",
                                "coffee", "build",  "ticket",  "customer", "today"};
        for (size_t i = 0; i < std::size(common); ++i) words_[i] = common[i];
    }
    std::string next() {
        std::uniform_int_distribution<int> length(6, 20);
        // Zipf-like: squaring a uniform draw favours the low (common) ranks.
        std::uniform_real_distribution<double> u(0, 1);
        std::string out;
        for (int i = length(rng_); i > 0; --i) {
            double x = u(rng_);
            if (!out.empty()) out += ' ';
            out += words_[size_t(x * x * x * double(words_.size() - 1))];
        }
        return out;
    }
    std::mt19937& rng() { return rng_; }

  private:
    std::mt19937 rng_;
    std::vector<std::string> words_;
};

// Searches in one room: a common word and a phrase of two.
inline constexpr const char* kRoomSearches[] = {"\"release today\"", "deploy"};
// Searches across every room: a rare word, two common ones, a phrase, two rare ones.
inline constexpr const char* kEverywhereSearches[] = {"w4000", "coffee meeting",
                                                      "\"review ticket\"", "w1234 w77"};

}  // namespace perch::bench
