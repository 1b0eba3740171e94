// TcpStream and TcpListener: data integrity, backpressure, end of stream and
// the errors of bad use.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <numeric>
#include <string>
#include <vector>

#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "loopback.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;
using testing::loopback_pair;
using testing::read_exactly;

SocketAddress any_loopback_port() { return SocketAddress::parse("127.0.0.1:0"); }

TEST(Tcp, RoundTrip) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<std::string> {
    auto [client, server] = co_await loopback_pair(listener);
    (co_await client.write(as_bytes("hello"))).value();
    const std::string got = (co_await read_exactly(server, 5)).value();
    (co_await server.write(as_bytes(got + " back"))).value();
    co_return (co_await read_exactly(client, 10)).value();
  };
  EXPECT_EQ(sync_wait(loop, body()), "hello back");
}

// A released read buffer is made again when bytes arrive, whatever their
// size; a release while bytes are unread keeps them.
TEST(Tcp, AReleasedReadBufferIsMadeAgain) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    (co_await client.write(as_bytes("first"))).value();
    EXPECT_EQ((co_await read_exactly(server, 5)).value(), "first");
    server.release_buffer();
    std::string big(100 * 1024, 'b');  // grows the remade buffer on the way
    (co_await client.write(as_bytes(big))).value();
    EXPECT_EQ((co_await read_exactly(server, big.size())).value(), big);
    (co_await client.write(as_bytes("kept"))).value();
    (void)co_await sleep_for(50ms);  // arrives in the background, unread
    server.release_buffer();
    EXPECT_FALSE(server.at_rest());
    EXPECT_EQ((co_await read_exactly(server, 4)).value(), "kept");
  };
  sync_wait(loop, body());
}

TEST(Tcp, AddressesOfBothEnds) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  EXPECT_NE(listener.local_address().port(), 0);
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    EXPECT_EQ(client.peer_address(), listener.local_address());
    EXPECT_EQ(server.peer_address(), client.local_address());
  };
  sync_wait(loop, body());
}

TEST(Tcp, VectoredWriteKeepsOrder) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<std::string> {
    auto [client, server] = co_await loopback_pair(listener);
    std::vector<std::string> parts;
    for (int i = 0; i < 9; ++i) parts.push_back(std::string(1000 + i, static_cast<char>('a' + i)));
    std::vector<ConstBuffer> buffers;
    std::size_t total = 0;
    for (const auto& p : parts) {
      buffers.push_back(as_bytes(p));
      total += p.size();
    }
    buffers.insert(buffers.begin() + 3, ConstBuffer{});  // empty buffers are fine
    (co_await client.write(buffers)).value();
    co_return (co_await read_exactly(server, total)).value();
  };
  const std::string got = sync_wait(loop, body());
  std::size_t pos = 0;
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(got.substr(pos, 1000 + i), std::string(1000 + i, static_cast<char>('a' + i)));
    pos += 1000 + i;
  }
}

// 32 MiB through a reader that consumes in small steps: the writer is held
// back by TCP flow control, and every byte arrives in order.
TEST(Tcp, LargeTransferWithBackpressure) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  constexpr std::size_t kTotal = 32 * 1024 * 1024;
  std::vector<std::byte> data(kTotal);
  for (std::size_t i = 0; i < kTotal; ++i) data[i] = static_cast<std::byte>((i * 131) >> 7);
  auto body = [&]() -> Task<std::size_t> {
    auto pair = co_await loopback_pair(listener);
    TcpStream& client = pair.client;
    TcpStream& server = pair.server;
    auto writer = [&]() -> Task<void> {
      for (std::size_t off = 0; off < kTotal; off += 1 << 20) {
        (co_await client.write(ConstBuffer(data).subspan(off, 1 << 20))).value();
      }
      (co_await client.shutdown()).value();
    };
    auto reader = [&]() -> Task<std::size_t> {
      std::size_t received = 0;
      std::size_t mismatches = 0;
      while (true) {
        auto bytes = co_await server.read();
        if (bytes.error() == errc::end_of_stream) break;
        for (std::byte b : bytes.value()) {
          if (b != data[received]) ++mismatches;
          ++received;
        }
      }
      EXPECT_EQ(mismatches, 0u);
      co_return received;
    };
    auto [w, received] = co_await when_all(writer(), reader());
    (void)w;
    co_return received;
  };
  EXPECT_EQ(sync_wait(loop, body()), kTotal);
}

TEST(Tcp, EndOfStreamOnceThenReadAfterEnd) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    (co_await client.write(as_bytes("last words"))).value();
    (co_await client.shutdown()).value();
    EXPECT_EQ((co_await read_exactly(server, 10)).value(), "last words");
    auto end = co_await server.read();
    EXPECT_EQ(end.error(), errc::end_of_stream);
    auto again = co_await server.read();
    EXPECT_EQ(again.error(), errc::read_after_end_of_stream);
    EXPECT_EQ(again.error().message(), "read after end of stream was already reported");
    // A half-closed stream still writes the other way.
    (co_await server.write(as_bytes("reply"))).value();
    EXPECT_EQ((co_await read_exactly(client, 5)).value(), "reply");
  };
  sync_wait(loop, body());
}

TEST(Tcp, OperationsOnAClosedStreamFail) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    client.close();
    EXPECT_FALSE(client.is_open());
    EXPECT_EQ((co_await client.write(as_bytes("x"))).error(), errc::stream_closed);
    EXPECT_EQ((co_await client.read()).error(), errc::stream_closed);
    EXPECT_EQ((co_await client.shutdown()).error(), errc::stream_closed);
    EXPECT_THROW(client.local_address(), std::system_error);
    // The peer sees an orderly end.
    EXPECT_EQ((co_await server.read()).error(), errc::end_of_stream);
  };
  sync_wait(loop, body());
}

TEST(Tcp, MovedFromStreamIsClosed) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    TcpStream moved = std::move(client);
    EXPECT_EQ((co_await client.write(as_bytes("x"))).error(), errc::stream_closed);
    (co_await moved.write(as_bytes("y"))).value();
    EXPECT_EQ((co_await read_exactly(server, 1)).value(), "y");
  };
  sync_wait(loop, body());
}

TEST(Tcp, SecondConcurrentReadIsRejected) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    TaskScope scope;
    Result<std::string> first = errc::timed_out;
    scope.spawn([](TcpStream& s, Result<std::string>& out) -> Task<void> {
      out = co_await read_exactly(s, 3);
    }(server, first));
    EXPECT_EQ((co_await server.read()).error(), errc::read_in_progress);
    (co_await client.write(as_bytes("abc"))).value();
    co_await scope.join();
    EXPECT_EQ(first.value(), "abc");
  };
  sync_wait(loop, body());
}

TEST(Tcp, ClosingWakesAPendingReader) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    TaskScope scope;
    Result<std::span<const std::byte>> r = errc::timed_out;
    scope.spawn([](TcpStream& s, Result<std::span<const std::byte>>& out) -> Task<void> {
      out = co_await s.read();
    }(server, r));
    server.close();
    co_await scope.join();
    EXPECT_EQ(r.error(), errc::stream_closed);
  };
  sync_wait(loop, body());
}

TEST(Tcp, ReadForTimesOutAndLosesNothing) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    // Nothing sent: the read gives up, at once for a zero timeout.
    EXPECT_EQ((co_await server.read_for(0ms)).error(), errc::timed_out);
    EXPECT_EQ((co_await server.read_for(30ms)).error(), errc::timed_out);
    // Bytes sent after a timeout arrive whole; buffered bytes are returned
    // even with a zero timeout.
    (co_await client.write(as_bytes("late"))).value();
    std::string got;
    while (got.size() < 4) {
      auto bytes = co_await server.read_for(5'000ms);
      got += as_string(bytes.value());
    }
    EXPECT_EQ(got, "late");
    (co_await client.write(as_bytes("x"))).value();
    (co_await sleep_for(20ms)).value();
    EXPECT_EQ(as_string((co_await server.read_for(0ms)).value()), "x");
  };
  sync_wait(loop, body());
}

TEST(Tcp, ReadForStopsItsTimerWhenDataArrives) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    TaskScope scope;
    scope.spawn([](TcpStream& c) -> Task<void> {
      (void)co_await sleep_for(10ms);
      (void)co_await c.write(as_bytes("a"));
    }(client));
    EXPECT_EQ(as_string((co_await server.read_for(40ms)).value()), "a");
    // An untimed read that follows is not ended by the earlier read's timer.
    scope.spawn([](TcpStream& c) -> Task<void> {
      (void)co_await sleep_for(80ms);
      (void)co_await c.write(as_bytes("b"));
    }(client));
    EXPECT_EQ(as_string((co_await server.read()).value()), "b");
    co_await scope.join();
  };
  sync_wait(loop, body());
}

TEST(Tcp, ClosingDuringATimedReadWakesTheReaderOnce) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    TaskScope scope;
    scope.spawn([](TcpStream& s) -> Task<void> {
      (void)co_await sleep_for(10ms);
      s.close();
    }(server));
    EXPECT_EQ((co_await server.read_for(30ms)).error(), errc::stream_closed);
    (co_await sleep_for(40ms)).value();  // the timer must not fire into a freed reader
    co_await scope.join();
  };
  sync_wait(loop, body());
}

TEST(Tcp, PeerResetIsReported) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<void> {
    auto [client, server] = co_await loopback_pair(listener);
    const linger abort_on_close{1, 0};
    EXPECT_EQ(setsockopt(server.native_fd(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                         sizeof abort_on_close),
              0);
    server.close();  // sends RST
    auto r = co_await client.read();
    EXPECT_EQ(r.error(), std::errc::connection_reset) << r.error().message();
  };
  sync_wait(loop, body());
}

TEST(Tcp, BindingAUsedPortSaysWhichAddress) {
  Loop loop;
  auto first = TcpListener::bind(any_loopback_port());
  const SocketAddress taken = first.local_address();
  try {
    auto second = TcpListener::bind(taken);
    FAIL() << "second bind succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::address_in_use);
    const std::string what = e.what();
    EXPECT_NE(what.find(taken.to_string()), std::string::npos) << what;
    EXPECT_NE(what.find("address already in use"), std::string::npos) << what;
  }
}

TEST(Tcp, BindWithoutALoopThrowsCleanly) {
  EXPECT_THROW(TcpListener::bind(any_loopback_port()), std::logic_error);
}

TEST(Tcp, ConnectRefused) {
  Loop loop;
  SocketAddress closed_port;
  {
    auto l = TcpListener::bind(any_loopback_port());
    closed_port = l.local_address();
  }
  auto r = sync_wait(loop, [&]() -> Task<Result<TcpStream>> {
    co_return co_await TcpStream::connect(closed_port);
  }());
  EXPECT_EQ(r.error(), std::errc::connection_refused);
}

TEST(Tcp, ClosedListenerRejectsAccept) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  listener.close();
  auto r =
      sync_wait(loop, [&]() -> Task<Result<TcpStream>> { co_return co_await listener.accept(); }());
  EXPECT_EQ(r.error(), errc::stream_closed);
}

TEST(Tcp, ClosingTheListenerWakesAPendingAccept) {
  Loop loop;
  auto listener = TcpListener::bind(any_loopback_port());
  auto body = [&]() -> Task<Result<TcpStream>> {
    TaskScope scope;
    Result<TcpStream> out = errc::timed_out;
    scope.spawn([](TcpListener& l, Result<TcpStream>& out) -> Task<void> {
      out = co_await l.accept();
    }(listener, out));
    listener.close();
    co_await scope.join();
    co_return out;
  };
  EXPECT_EQ(sync_wait(loop, body()).error(), errc::stream_closed);
}

}  // namespace
}  // namespace cipherline
