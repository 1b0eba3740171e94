// LatencyHistogram: percentiles within the bucket resolution, in constant memory.
#include "latency_histogram.hpp"

#include <gtest/gtest.h>

namespace cipherline::cli {
namespace {

using std::chrono::microseconds;

TEST(LatencyHistogram, EmptyReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0);
}

TEST(LatencyHistogram, PercentilesWithinBucketResolution) {
  LatencyHistogram h;
  for (int us = 1; us <= 10'000; ++us) h.record(microseconds(us));
  EXPECT_EQ(h.count(), 10'000u);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const double truth = q * 10'000;
    EXPECT_GE(h.percentile(q), truth) << q;          // upper bucket edge
    EXPECT_LE(h.percentile(q), truth * 1.045) << q;  // 16 buckets per doubling
  }
}

TEST(LatencyHistogram, ExtremesAreClamped) {
  LatencyHistogram h;
  h.record(std::chrono::nanoseconds(1));
  h.record(std::chrono::hours(100));
  EXPECT_GE(h.percentile(0.4), 1.0);
  EXPECT_LE(h.percentile(0.4), 1.1);
  EXPECT_GT(h.percentile(1.0), 3600e6);
}

}  // namespace
}  // namespace cipherline::cli
