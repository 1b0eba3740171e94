// RatioReporter: console output plus a table of throughput ratios.
//
// Benchmarks measured against a baseline in the same run (a coroutine echo
// against a callback echo, a field cipher against the raw AEAD) are printed
// as ratios of items per second at the end, so that the numbers compared come
// from the same machine state. With --benchmark_repetitions=N the median of
// the repetitions is used, which a noisy shared machine needs.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace cipherline::bench {

struct RatioPair {
  std::string label;
  std::string measured;  // benchmark name
  std::string baseline;  // benchmark name
};

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  explicit RatioReporter(std::vector<RatioPair> pairs) : pairs_(std::move(pairs)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const auto it = run.counters.find("items_per_second");
      if (it == run.counters.end()) continue;
      if (run.run_type == Run::RT_Iteration) {
        rates_[run.benchmark_name()].push_back(it->second.value);
      } else if (run.aggregate_name == "median") {
        medians_[run.run_name.str()] = it->second.value;
      }
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-44s %14s %14s %8s\n", "ratio (median items/s)", "measured", "baseline",
                "ratio");
    for (const auto& p : pairs_) {
      const double m = median(p.measured);
      const double b = median(p.baseline);
      if (m == 0 || b == 0) continue;
      std::printf("%-44s %14.0f %14.0f %8.3f\n", p.label.c_str(), m, b, m / b);
    }
  }

 private:
  // The median: Google Benchmark's own aggregate when it reported one
  // (--benchmark_report_aggregates_only), else ours over the repetitions.
  double median(const std::string& name) const {
    if (const auto m = medians_.find(name); m != medians_.end()) return m->second;
    const auto it = rates_.find(name);
    if (it == rates_.end() || it->second.empty()) return 0;
    std::vector<double> v = it->second;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }

  std::vector<RatioPair> pairs_;
  std::map<std::string, std::vector<double>> rates_;
  std::map<std::string, double> medians_;
};

// run_with_ratios is a benchmark main: it parses Google Benchmark's flags,
// runs every benchmark and prints the ratio table.
inline int run_with_ratios(int argc, char** argv, std::vector<RatioPair> pairs) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(std::move(pairs));
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace cipherline::bench
