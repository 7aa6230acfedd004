#include "util/histogram.hpp"

#include <algorithm>
#include <cstdio>

namespace perch::util {

void Histogram::observe(double seconds) {
    seconds = std::max(seconds, 0.0);
    size_t i = size_t(std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(uint64_t(seconds * 1e6), std::memory_order_relaxed);
}

std::string Histogram::render(std::string_view name, std::string_view help, std::string_view labels,
                              bool header) const {
    std::string out;
    std::string n(name);
    if (header) out += "# HELP " + n + " " + std::string(help) + "\n# TYPE " + n + " histogram\n";
    std::string sep = labels.empty() ? "" : std::string(labels) + ",";
    std::string braces = labels.empty() ? "" : "{" + std::string(labels) + "}";
    uint64_t cumulative = 0;
    char bound[32];
    for (size_t i = 0; i <= kBounds.size(); ++i) {
        cumulative += buckets_[i].load(std::memory_order_relaxed);
        if (i < kBounds.size())
            std::snprintf(bound, sizeof bound, "%g", kBounds[i]);
        else
            std::snprintf(bound, sizeof bound, "+Inf");
        out.append(n).append("_bucket{").append(sep).append("le=\"").append(bound);
        out.append("\"} ").append(std::to_string(cumulative)).append("\n");
    }
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", this->sum());
    out += n + "_sum" + braces + " " + sum + "\n";
    out += n + "_count" + braces + " " + std::to_string(cumulative) + "\n";
    return out;
}

}  // namespace perch::util
