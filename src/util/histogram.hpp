#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace perch::util {

// A Prometheus histogram of durations, observed from any thread without a lock: fixed buckets
// from half a millisecond to ten seconds, cumulative as the exposition format wants them.
class Histogram {
  public:
    static constexpr std::array<double, 14> kBounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,    0.25,  0.5,    1,     2.5,  5,     10};

    void observe(double seconds);
    void observe_since(std::chrono::steady_clock::time_point start) {
        observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }

    uint64_t count() const { return count_.load(std::memory_order_relaxed); }
    double sum() const { return double(sum_us_.load(std::memory_order_relaxed)) / 1e6; }

    // The histogram in the text exposition format (with its HELP and TYPE lines); `labels`
    // such as `kind="archive"` go on every line (then HELP and TYPE are left to the caller
    // when `header` is false, for a second series of the same name).
    std::string render(std::string_view name, std::string_view help, std::string_view labels = {},
                       bool header = true) const;

  private:
    std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // the last: above all
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> sum_us_{0};
};

}  // namespace perch::util
