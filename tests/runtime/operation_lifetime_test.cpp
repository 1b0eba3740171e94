// Frames destroyed while an operation is pending, with and without a stop
// request first: nothing libuv still touches may die with the frame. Run
// under AddressSanitizer, a use-after-free here is a failure; a handle left
// open makes ~Loop abort.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <vector>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/resolve.hpp"
#include "cipherline/runtime/signal.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "loopback.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

// Started runs a task up to its first suspension, outside any awaiter, so
// that the test can destroy the suspended frame at a moment of its choosing.
template <class T>
class Started {
 public:
  Started(Task<T> task, const std::stop_token& token)
      : handle_(internal::TaskAccess::release(task)) {
    handle_.promise().set_stop_token(token);
    handle_.resume();
  }
  Started(const Started&) = delete;
  Started& operator=(const Started&) = delete;
  ~Started() { destroy(); }

  bool done() const { return handle_.done(); }
  void destroy() {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

 private:
  std::coroutine_handle<internal::TaskPromise<T>> handle_;
};

enum class Ending { destroy, stop_then_destroy };

class OperationLifetime : public ::testing::TestWithParam<Ending> {
 protected:
  // end stops (or not) and destroys the suspended frame immediately, before
  // the loop could resume it.
  template <class T>
  void end(Started<T>& started) {
    EXPECT_FALSE(started.done()) << "the operation should be pending";
    if (GetParam() == Ending::stop_then_destroy) source_.request_stop();
    started.destroy();
  }

  const std::stop_token& token() const { return token_; }

  Loop loop_;
  std::stop_source source_;
  std::stop_token token_ = source_.get_token();
};

TEST_P(OperationLifetime, Sleep) {
  Started s([]() -> Task<void> { (void)co_await sleep_for(1h); }(), token());
  end(s);
  loop_.run();
}

TEST_P(OperationLifetime, Read) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  auto pair = sync_wait(loop_, testing::loopback_pair(listener));
  Started s([](TcpStream& s) -> Task<void> { (void)co_await s.read(); }(pair.server), token());
  end(s);
  // Data arriving after the frame died must not reach it.
  sync_wait(loop_,
            [&]() -> Task<void> { (co_await pair.client.write(as_bytes("late"))).value(); }());
  EXPECT_EQ(sync_wait(loop_, testing::read_exactly(pair.server, 4)).value(), "late");
  pair = {};
  listener.close();
  loop_.run();
}

TEST_P(OperationLifetime, Write) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  auto pair = sync_wait(loop_, testing::loopback_pair(listener));
  {
    std::vector<std::byte> big(32 * 1024 * 1024, std::byte{7});
    Started s([](TcpStream& s, ConstBuffer b) -> Task<void> { (void)co_await s.write(b); }(
                                                  pair.client, big),
              token());
    end(s);
  }  // the write buffer is freed here, while libuv still holds the request
  pair = {};
  listener.close();
  loop_.run();
}

TEST_P(OperationLifetime, Connect) {
  testing::FullBacklogListener blackhole;
  sync_wait(loop_, blackhole.fill());
  Started s([](SocketAddress a) -> Task<void> { (void)co_await TcpStream::connect(a); }(
                                    blackhole.address()),
            token());
  end(s);
  blackhole.release_held();
  loop_.run();
}

TEST_P(OperationLifetime, Accept) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  Started s([](TcpListener& l) -> Task<void> { (void)co_await l.accept(); }(listener), token());
  end(s);
  // A connection arriving after the frame died must not reach it.
  auto client = sync_wait(loop_, [&]() -> Task<TcpStream> {
    co_return (co_await TcpStream::connect(listener.local_address())).value();
  }());
  auto server = sync_wait(
      loop_, [&]() -> Task<TcpStream> { co_return (co_await listener.accept()).value(); }());
  EXPECT_TRUE(server.is_open());
  client.close();
  server.close();
  listener.close();
  loop_.run();
}

TEST_P(OperationLifetime, OffloadRunning) {
  std::mutex m;
  std::condition_variable cv;
  bool started = false;
  bool release = false;
  Started s(
      [](std::mutex& m, std::condition_variable& cv, bool& started, bool& release) -> Task<void> {
        (void)co_await offload([&m, &cv, &started, &release] {
          std::unique_lock lock(m);
          started = true;
          cv.notify_all();
          cv.wait(lock, [&] { return release; });
          return std::vector<int>(1000, 1);  // a result that must be freed
        });
      }(m, cv, started, release),
      token());
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return started; });
  }
  end(s);
  {
    std::lock_guard lock(m);
    release = true;
  }
  cv.notify_all();
  loop_.run();  // the job's completion arrives for a frame that is gone
}

TEST_P(OperationLifetime, Resolve) {
  Started s([]() -> Task<void> { (void)co_await resolve("127.1", 80); }(), token());
  end(s);
  loop_.run();
}

TEST_P(OperationLifetime, Signal) {
  Started s([]() -> Task<void> { (void)co_await wait_for_signal(SIGUSR1); }(), token());
  end(s);
  loop_.run();
}

TEST_P(OperationLifetime, ChannelReceiveAndSend) {
  Channel<int> empty(0);
  Channel<std::vector<int>> full(0);
  Started r([](Channel<int>& c) -> Task<void> { (void)co_await c.receive(); }(empty), token());
  Started s(
      [](Channel<std::vector<int>>& c) -> Task<void> {
        (void)co_await c.send(std::vector<int>(10, 1));
      }(full),
      token());
  end(r);
  end(s);
  // The channels forgot the dead waiters.
  int v = 1;
  EXPECT_FALSE(empty.try_send(v));
  EXPECT_FALSE(full.try_receive().has_value());
  loop_.run();
}

INSTANTIATE_TEST_SUITE_P(Endings, OperationLifetime,
                         ::testing::Values(Ending::destroy, Ending::stop_then_destroy),
                         [](const auto& info) {
                           return info.param == Ending::destroy ? "Destroy" : "StopThenDestroy";
                         });

}  // namespace
}  // namespace cipherline
