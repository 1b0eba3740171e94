// RatioReporter: console output plus a table of throughput ratios.
//
// Benchmarks measured against a baseline in the same run (a coroutine echo
// against a callback echo, a field cipher against the raw AEAD) are printed
// as ratios of items per second at the end, so that the numbers compared come
// from the same machine state.
#pragma once

#include <benchmark/benchmark.h>

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
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rates_[run.benchmark_name()] = it->second.value;
    }
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\n%-44s %14s %14s %8s\n", "ratio (items/s)", "measured", "baseline", "ratio");
    for (const auto& p : pairs_) {
      const auto m = rates_.find(p.measured);
      const auto b = rates_.find(p.baseline);
      if (m == rates_.end() || b == rates_.end() || b->second == 0) continue;
      std::printf("%-44s %14.0f %14.0f %8.3f\n", p.label.c_str(), m->second, b->second,
                  m->second / b->second);
    }
  }

 private:
  std::vector<RatioPair> pairs_;
  std::map<std::string, double> rates_;
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
