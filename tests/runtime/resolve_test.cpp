// resolve: numeric hosts, local names, errors, cancellation.
#include "cipherline/runtime/resolve.hpp"

#include <gtest/gtest.h>

#include "cipherline/runtime/sync_wait.hpp"
#include "stop_while_pending.hpp"

namespace cipherline {
namespace {

Task<Result<std::vector<SocketAddress>>> lookup(std::string host, std::uint16_t port) {
  co_return co_await resolve(host, port);
}

TEST(Resolve, NumericHostsNeedNoLookup) {
  Loop loop;
  auto v4 = sync_wait(loop, lookup("192.0.2.7", 80));
  ASSERT_TRUE(v4);
  ASSERT_EQ(v4->size(), 1u);
  EXPECT_EQ((*v4)[0].to_string(), "192.0.2.7:80");
  auto v6 = sync_wait(loop, lookup("[2001:db8::1]", 443));
  ASSERT_TRUE(v6);
  EXPECT_EQ((*v6)[0].to_string(), "[2001:db8::1]:443");
}

TEST(Resolve, LocalhostResolvesToLoopback) {
  Loop loop;
  auto r = sync_wait(loop, lookup("localhost", 8080));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->empty());
  for (const auto& a : *r) {
    EXPECT_EQ(a.port(), 8080);
    const std::string s = a.to_string();
    EXPECT_TRUE(s.starts_with("127.") || s.starts_with("[::1]")) << s;
  }
}

TEST(Resolve, EmptyHostIsAnError) {
  Loop loop;
  auto r = sync_wait(loop, lookup("", 80));
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.error().message().empty());
}

TEST(Resolve, CancellationCompletesAtOnce) {
  Loop loop;
  std::stop_source source;
  source.request_stop();
  auto r = sync_wait(loop, lookup("localhost", 80), source.get_token());
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

TEST(Resolve, CancelledWhileLookingUp) {
  Loop loop;
  const auto r = sync_wait(loop, testing::stop_while_pending(resolve("localhost", 80)));
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

}  // namespace
}  // namespace cipherline
