// AsyncGenerator<T>: pull-driven values, end of stream, exceptions, cancellation.
#include "cipherline/runtime/async_generator.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

AsyncGenerator<int> count_to(int n, int& produced) {
  for (int i = 1; i <= n; ++i) {
    (void)co_await sleep_for(0ms);
    ++produced;
    co_yield i;
  }
}

TEST(AsyncGenerator, YieldsValuesThenEnds) {
  Loop loop;
  int produced = 0;
  auto body = [&]() -> Task<std::vector<int>> {
    std::vector<int> out;
    auto gen = count_to(5, produced);
    while (auto v = co_await gen.next()) out.push_back(*v);
    EXPECT_FALSE((co_await gen.next()).has_value()) << "stays ended";
    co_return out;
  };
  EXPECT_EQ(sync_wait(loop, body()), (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(AsyncGenerator, ProducesOnlyOnDemand) {
  Loop loop;
  int produced = 0;
  auto body = [&]() -> Task<void> {
    auto gen = count_to(1000, produced);
    EXPECT_EQ(produced, 0) << "lazy";
    (void)co_await gen.next();
    (void)co_await gen.next();
    EXPECT_EQ(produced, 2) << "one value per next(): backpressure";
  };
  sync_wait(loop, body());
  EXPECT_EQ(produced, 2) << "destroying the generator abandons the rest";
}

TEST(AsyncGenerator, ExceptionsReachTheConsumer) {
  Loop loop;
  auto failing = []() -> AsyncGenerator<std::string> {
    co_yield "one";
    throw std::runtime_error("producer failed");
  };
  auto body = [&]() -> Task<void> {
    auto gen = failing();
    EXPECT_EQ(*(co_await gen.next()), "one");
    EXPECT_THROW(co_await gen.next(), std::runtime_error);
    EXPECT_FALSE((co_await gen.next()).has_value());
  };
  sync_wait(loop, body());
}

TEST(AsyncGenerator, ProducerInheritsTheConsumersStopToken) {
  Loop loop;
  std::stop_source source;
  auto slow = []() -> AsyncGenerator<int> {
    auto r = co_await sleep_for(1h);
    co_yield r ? 1 : -1;
  };
  auto body = [&]() -> Task<int> {
    auto gen = slow();
    source.request_stop();
    co_return *(co_await gen.next());
  };
  EXPECT_EQ(sync_wait(loop, body(), source.get_token()), -1);
}

TEST(AsyncGenerator, NextOnEmptyGeneratorIsALogicError) {
  Loop loop;
  auto body = []() -> Task<void> {
    AsyncGenerator<int> empty;
    (void)co_await empty.next();
  };
  EXPECT_THROW(sync_wait(loop, body()), std::logic_error);
}

}  // namespace
}  // namespace cipherline
