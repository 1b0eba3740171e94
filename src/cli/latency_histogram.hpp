// LatencyHistogram: constant-memory latency percentiles for the CLI's
// reports. Buckets grow geometrically (16 per doubling, so a reported
// percentile is within about 4.4% of the true value) from 1 µs to about
// 1.2 hours; memory stays a few KiB however long a run lasts.
#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace cipherline::cli {

class LatencyHistogram {
 public:
  void record(std::chrono::nanoseconds latency) noexcept {
    const double us = std::max(1.0, static_cast<double>(latency.count()) / 1000.0);
    const auto bucket = static_cast<std::size_t>(std::log2(us) * kPerDoubling);
    ++counts_[std::min(bucket, kBuckets - 1)];
    ++total_;
  }

  std::uint64_t count() const noexcept { return total_; }

  // percentile(0.99) returns the upper edge of the bucket holding the 99th
  // percentile, in microseconds; 0 when nothing was recorded.
  double percentile(double q) const noexcept {
    if (total_ == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total_)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::exp2(static_cast<double>(b + 1) / kPerDoubling);
    }
    return std::exp2(static_cast<double>(kBuckets) / kPerDoubling);
  }

 private:
  static constexpr std::size_t kPerDoubling = 16;
  static constexpr std::size_t kBuckets = 32 * kPerDoubling;
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t total_ = 0;
};

}  // namespace cipherline::cli
