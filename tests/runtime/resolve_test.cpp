// resolve: numeric hosts, local names, errors, cancellation.
#include "cipherline/runtime/resolve.hpp"

#include <gtest/gtest.h>
#include <netdb.h>
#include <unistd.h>

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

TEST(Resolve, LocalhostNamesNeedNoResolver) {
  Loop loop;
  for (const char* name : {"localhost", "LocalHost.", "api.localhost"}) {
    auto r = sync_wait(loop, lookup(name, 9));
    ASSERT_TRUE(r) << name;
    ASSERT_EQ(r->size(), 2u) << name;
    EXPECT_EQ((*r)[0].to_string(), "127.0.0.1:9");
    EXPECT_EQ((*r)[1].to_string(), "[::1]:9");
  }
}

TEST(Resolve, SystemResolverNamesAreLookedUp) {
  // The machine's own host name always resolves through getaddrinfo (from
  // /etc/hosts or the resolver); skip where the system itself cannot.
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  addrinfo* system = nullptr;
  if (getaddrinfo(name, nullptr, nullptr, &system) != 0)
    GTEST_SKIP() << "system cannot resolve " << name;
  freeaddrinfo(system);
  Loop loop;
  auto r = sync_wait(loop, lookup(name, 80));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(r->empty());
}

TEST(Resolve, EmptyHostIsAnError) {
  Loop loop;
  auto r = sync_wait(loop, lookup("", 80));
  EXPECT_FALSE(r);
  EXPECT_FALSE(r.error().message().empty());
}

// "127.1" is numeric to getaddrinfo (inet_aton form) but not to
// SocketAddress, so it takes the thread-pool path without touching the
// network: a lookup that is really pending, and quick to finish.

TEST(Resolve, ThreadPoolLookup) {
  Loop loop;
  auto r = sync_wait(loop, lookup("127.1", 5));
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_FALSE(r->empty());
  EXPECT_EQ((*r)[0].to_string(), "127.0.0.1:5");
}

TEST(Resolve, CancellationCompletesAtOnce) {
  Loop loop;
  std::stop_source source;
  source.request_stop();
  auto r = sync_wait(loop, lookup("127.1", 80), source.get_token());
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

TEST(Resolve, CancelledWhileLookingUp) {
  Loop loop;
  const auto r = sync_wait(loop, testing::stop_while_pending(resolve("127.1", 80)));
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

}  // namespace
}  // namespace cipherline
