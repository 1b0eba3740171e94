// Channel<T>: backpressure, FIFO, close semantics, cancellation.
#include "cipherline/runtime/channel.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "stop_while_pending.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

TEST(Channel, SenderWaitsWhileFull) {
  Loop loop;
  Channel<int> ch(2);
  std::vector<std::string> events;
  auto producer = [&]() -> Task<void> {
    for (int i = 0; i < 4; ++i) {
      (co_await ch.send(i)).value();
      events.push_back("sent " + std::to_string(i));
    }
  };
  auto consumer = [&]() -> Task<void> {
    // The producer has filled the buffer and is blocked on its third send.
    EXPECT_EQ(ch.size(), 2u);
    events.push_back("consumer starts");
    for (int i = 0; i < 4; ++i) {
      const int v = (co_await ch.receive()).value();
      EXPECT_EQ(v, i);
      events.push_back("received " + std::to_string(v));
    }
  };
  sync_wait(loop, [&]() -> Task<void> { co_await when_all(producer(), consumer()); }());
  // Backpressure: no more than `capacity` sends complete ahead of receives.
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0], "sent 0");
  EXPECT_EQ(events[1], "sent 1");
  EXPECT_EQ(events[2], "consumer starts");
  int sent = 0;
  int received = 0;
  for (const auto& e : events) {
    if (e.starts_with("sent")) ++sent;
    if (e.starts_with("received")) ++received;
    EXPECT_LE(sent - received, 3) << "more than capacity + 1 in flight";
  }
  EXPECT_EQ(sent, 4);
  EXPECT_EQ(received, 4);
}

TEST(Channel, RendezvousWithZeroCapacity) {
  Loop loop;
  Channel<std::unique_ptr<int>> ch(0);
  auto body = [&]() -> Task<int> {
    auto sender = [&]() -> Task<void> { (co_await ch.send(std::make_unique<int>(5))).value(); };
    auto receiver = [&]() -> Task<int> { co_return *(co_await ch.receive()).value(); };
    auto [s, r] = co_await when_all(sender(), receiver());
    (void)s;
    co_return r;
  };
  EXPECT_EQ(sync_wait(loop, body()), 5);
  int stranded = 1;
  std::unique_ptr<int> v = std::make_unique<int>(stranded);
  EXPECT_FALSE(ch.try_send(v)) << "no receiver waits and there is no buffer";
  EXPECT_NE(v, nullptr) << "a failed try_send leaves the value with the caller";
}

TEST(Channel, ManyProducersOneConsumerLoseNothing) {
  Loop loop;
  Channel<int> ch(4);
  auto body = [&]() -> Task<long> {
    TaskScope producers;
    for (int p = 0; p < 10; ++p) {
      producers.spawn([](Channel<int>& ch, int p) -> Task<void> {
        for (int i = 0; i < 100; ++i) (co_await ch.send(p * 1000 + i)).value();
      }(ch, p));
    }
    long sum = 0;
    for (int n = 0; n < 1000; ++n) sum += (co_await ch.receive()).value();
    co_await producers.join();
    co_return sum;
  };
  long expected = 0;
  for (int p = 0; p < 10; ++p) {
    for (int i = 0; i < 100; ++i) expected += p * 1000 + i;
  }
  EXPECT_EQ(sync_wait(loop, body()), expected);
}

TEST(Channel, CloseDrainsBufferThenReportsClosed) {
  Loop loop;
  Channel<int> ch(3);
  auto body = [&]() -> Task<void> {
    (co_await ch.send(1)).value();
    (co_await ch.send(2)).value();
    ch.close();
    EXPECT_EQ((co_await ch.send(3)).error(), errc::channel_closed);
    EXPECT_EQ((co_await ch.receive()).value(), 1);
    EXPECT_EQ((co_await ch.receive()).value(), 2);
    EXPECT_EQ((co_await ch.receive()).error(), errc::channel_closed);
    EXPECT_EQ((co_await ch.receive()).error(), errc::channel_closed);
  };
  sync_wait(loop, body());
}

TEST(Channel, CloseWakesWaitingReceiversAndSenders) {
  Loop loop;
  Channel<int> empty(1);
  Channel<int> full(1);
  auto body = [&]() -> Task<void> {
    (co_await full.send(0)).value();
    TaskScope scope;
    Result<int> received = 0;
    Result<void> sent;
    scope.spawn([](Channel<int>& ch, Result<int>& out) -> Task<void> {
      out = co_await ch.receive();
    }(empty, received));
    scope.spawn([](Channel<int>& ch, Result<void>& out) -> Task<void> {
      out = co_await ch.send(1);
    }(full, sent));
    empty.close();
    full.close();
    co_await scope.join();
    EXPECT_EQ(received.error(), errc::channel_closed);
    EXPECT_EQ(sent.error(), errc::channel_closed);
    // The value buffered before close is still delivered.
    EXPECT_EQ((co_await full.receive()).value(), 0);
  };
  sync_wait(loop, body());
}

TEST(Channel, CancelledReceiveAndSendLeaveTheChannelConsistent) {
  Loop loop;
  Channel<int> ch(1);
  auto body = [&]() -> Task<void> {
    EXPECT_EQ((co_await testing::stop_while_pending(ch.receive())).error(),
              errc::operation_cancelled);
    (co_await ch.send(10)).value();  // fills the buffer
    EXPECT_EQ((co_await testing::stop_while_pending(ch.send(11))).error(),
              errc::operation_cancelled);
    // The cancelled send did not enqueue; the buffered value is intact.
    EXPECT_EQ((co_await ch.receive()).value(), 10);
    EXPECT_EQ(ch.size(), 0u);
    EXPECT_FALSE(ch.try_receive().has_value());
  };
  sync_wait(loop, body());
}

TEST(Channel, PingPong) {
  Loop loop;
  Channel<int> ping(1);
  Channel<int> pong(1);
  auto body = [&]() -> Task<int> {
    auto a = [&]() -> Task<int> {
      int v = 0;
      for (int i = 0; i < 10'000; ++i) {
        (co_await ping.send(v)).value();
        v = (co_await pong.receive()).value();
      }
      co_return v;
    };
    auto b = [&]() -> Task<void> {
      for (int i = 0; i < 10'000; ++i)
        (co_await pong.send((co_await ping.receive()).value() + 1)).value();
    };
    auto [v, unused] = co_await when_all(a(), b());
    (void)unused;
    co_return v;
  };
  EXPECT_EQ(sync_wait(loop, body()), 10'000);
}

}  // namespace
}  // namespace cipherline
