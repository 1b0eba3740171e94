// LoopGroup: loops on their own threads, one port shared with SO_REUSEPORT,
// cross-loop posting and group-wide stop.
#include "cipherline/runtime/loop_group.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "loopback.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

TEST(LoopGroup, RunsEachEntryOnItsOwnThread) {
  LoopGroup group(3);
  std::mutex m;
  std::set<std::thread::id> threads;
  group.run([&](std::size_t i) -> Task<void> {
    EXPECT_EQ(&Loop::current(), &group.loop(i));
    std::lock_guard lock(m);
    threads.insert(std::this_thread::get_id());
    co_return;
  });
  EXPECT_EQ(threads.size(), 3u);
}

TEST(LoopGroup, TwoLoopsServeOnePort) {
  LoopGroup group(2);
  std::promise<std::uint16_t> port_promise;
  std::shared_future<std::uint16_t> port = port_promise.get_future().share();
  std::promise<void> loop1_listening;
  std::shared_future<void> loop1_ready = loop1_listening.get_future().share();
  std::atomic<int> served[2] = {0, 0};
  constexpr int kConnections = 64;

  auto serve = [&](std::size_t i, TcpListener listener) -> Task<void> {
    TaskScope sessions;
    while (auto conn = co_await listener.accept()) {
      sessions.spawn([](TcpStream s, std::size_t i, std::atomic<int>& count) -> Task<void> {
        ++count;
        const char reply = static_cast<char>('0' + i);
        (void)co_await s.write(as_bytes(std::string_view(&reply, 1)));
      }(std::move(*conn), i, served[i]));
    }
    co_await sessions.join();
  };

  group.run([&](std::size_t i) -> Task<void> {
    TcpListener listener;
    if (i == 0) {
      listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.reuse_port = true});
      port_promise.set_value(listener.local_address().port());
    } else {
      listener =
          TcpListener::bind(*SocketAddress::from_ip("127.0.0.1", port.get()), {.reuse_port = true});
      loop1_listening.set_value();
    }
    if (i != 0) {
      co_await serve(i, std::move(listener));
      co_return;
    }
    // Loop 0 also runs the clients, once loop 1 listens too; the kernel then
    // spreads the connections across both listeners.
    loop1_ready.wait();
    auto clients = [&]() -> Task<void> {
      std::vector<Task<std::string>> conns;
      for (int c = 0; c < kConnections; ++c) {
        conns.push_back([](std::uint16_t port) -> Task<std::string> {
          auto s =
              (co_await TcpStream::connect(*SocketAddress::from_ip("127.0.0.1", port))).value();
          co_return (co_await testing::read_exactly(s, 1)).value();
        }(port.get()));
      }
      auto replies = co_await when_all(std::move(conns));
      EXPECT_EQ(replies.size(), static_cast<std::size_t>(kConnections));
      group.request_stop();
    };
    co_await when_all(serve(0, std::move(listener)), clients());
  });
  EXPECT_EQ(served[0] + served[1], kConnections);
  EXPECT_GT(served[0], 0) << "loop 0 served nothing";
  EXPECT_GT(served[1], 0) << "loop 1 served nothing";
}

TEST(LoopGroup, PostHandsWorkToAnotherLoop) {
  LoopGroup group(2);
  std::atomic<bool> ran_on_loop1{false};
  group.run([&](std::size_t i) -> Task<void> {
    if (i == 1) {
      // Wait until stopped; the post from loop 0 lands here meanwhile.
      (void)co_await sleep_for(1h);
      co_return;
    }
    Loop& other = group.loop(1);
    other.post([&] { ran_on_loop1 = &Loop::current() == &other; });
    // Hop to loop 1 and back: the task continues on each loop's thread.
    co_await other.resume_here();
    EXPECT_EQ(&Loop::current(), &other);
    co_await group.loop(0).resume_here();
    EXPECT_EQ(&Loop::current(), &group.loop(0));
    group.request_stop();
  });
  EXPECT_TRUE(ran_on_loop1);
}

TEST(LoopGroup, FirstExceptionIsRethrownAfterAllFinish) {
  LoopGroup group(2);
  std::atomic<bool> other_finished{false};
  EXPECT_THROW(group.run([&](std::size_t i) -> Task<void> {
    if (i == 0) throw std::runtime_error("entry 0 failed");
    other_finished = true;
    co_return;
  }),
               std::runtime_error);
  EXPECT_TRUE(other_finished);
}

}  // namespace
}  // namespace cipherline
