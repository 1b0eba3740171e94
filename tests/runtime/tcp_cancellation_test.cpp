// Cancellation of TCP operations mid-flight: read, accept, connect, write.
#include <gtest/gtest.h>

#include <chrono>
#include <vector>

#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/with_timeout.hpp"
#include "loopback.hpp"
#include "stop_while_pending.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;
using testing::loopback_pair;
using testing::read_exactly;
using testing::stop_while_pending;

SocketAddress any_loopback_port() { return SocketAddress::parse("127.0.0.1:0"); }

TEST(TcpCancellation, MidReadLosesNoData) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    EXPECT_EQ((co_await stop_while_pending(server.read())).error(), errc::operation_cancelled);
    // The stream is still usable and the bytes sent afterwards all arrive.
    (co_await client.write(as_bytes("after cancel"))).value();
    EXPECT_EQ((co_await read_exactly(server, 12)).value(), "after cancel");
  };
  sync_wait(loop, body());
}

TEST(TcpCancellation, MidAccept) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    EXPECT_EQ((co_await stop_while_pending(listener.accept())).error(), errc::operation_cancelled);
    // The listener still accepts.
    auto [client, server] = co_await loopback_pair(listener);
    EXPECT_TRUE(server.is_open());
  };
  sync_wait(loop, body());
}

TEST(TcpCancellation, MidConnectToAFullBacklog) {
  Loop loop;
  testing::FullBacklogListener blackhole;
  auto body = [&]() -> Task<Result<TcpStream>> {
    co_await blackhole.fill();
    EXPECT_TRUE(blackhole.full());
    // The SYN is dropped, so the connect cannot complete: only the timeout
    // (which cancels it) ends it.
    co_return co_await with_timeout(TcpStream::connect(blackhole.address()), 50ms);
  };
  EXPECT_EQ(sync_wait(loop, body()).error(), errc::timed_out);
}

TEST(TcpCancellation, MidConnectByStopRequest) {
  Loop loop;
  testing::FullBacklogListener blackhole;
  auto body = [&]() -> Task<Result<TcpStream>> {
    co_await blackhole.fill();
    co_return co_await stop_while_pending(TcpStream::connect(blackhole.address()));
  };
  EXPECT_EQ(sync_wait(loop, body()).error(), errc::operation_cancelled);
}

TEST(TcpCancellation, MidWriteClosesTheStream) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  // More than the socket buffers hold while nobody reads.
  const std::vector<std::byte> big(64 * 1024 * 1024, std::byte{1});
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    auto w = co_await with_timeout(
        [](TcpStream& s, ConstBuffer b) -> Task<Result<void>> { co_return co_await s.write(b); }(
                                            client, big),
        20ms);
    EXPECT_EQ(w.error(), errc::timed_out);
    EXPECT_EQ((co_await client.write(as_bytes("more"))).error(), errc::stream_closed);
    // The peer sees the stream end (after whatever part had been sent).
    std::size_t received = 0;
    while (true) {
      auto bytes = co_await server.read();
      if (!bytes) {
        EXPECT_TRUE(bytes.error() == errc::end_of_stream ||
                    bytes.error() == std::errc::connection_reset)
            << bytes.error().message();
        break;
      }
      received += bytes->size();
    }
    EXPECT_LT(received, big.size());
  };
  sync_wait(loop, body());
}

}  // namespace
}  // namespace cipherline
