#pragma once
#include <algorithm>
#include <cstdint>

// A rate limit: `per_second` on average, `burst` at once. Zero per second: no limit.
namespace perch::util {

struct Rate {
    double per_second = 0;
    double burst = 1;
    bool limited() const { return per_second > 0; }
};

// One sender's budget under a Rate (16 bytes: one per session and per occupant). A new bucket
// is full.
class TokenBucket {
  public:
    // Spends one token if there is one at `now_us` (util::steady_us()).
    bool take(const Rate& rate, int64_t now_us) {
        if (!rate.limited()) return true;
        if (last_us_ == 0) {
            tokens_ = rate.burst;
        } else if (now_us > last_us_) {
            tokens_ =
                std::min(rate.burst, tokens_ + double(now_us - last_us_) * rate.per_second / 1e6);
        }
        last_us_ = std::max(last_us_, now_us);
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }

  private:
    double tokens_ = 0;
    int64_t last_us_ = 0;
};

}  // namespace perch::util
