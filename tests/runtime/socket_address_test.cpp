// SocketAddress: numeric parsing and formatting.
#include "cipherline/runtime/socket_address.hpp"

#include <gtest/gtest.h>

namespace cipherline {
namespace {

TEST(SocketAddress, ParsesIpv4) {
  const auto a = SocketAddress::parse("127.0.0.1:8080");
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.port(), 8080);
  EXPECT_EQ(a.to_string(), "127.0.0.1:8080");
}

TEST(SocketAddress, ParsesIpv6InBrackets) {
  const auto a = SocketAddress::parse("[::1]:443");
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.port(), 443);
  EXPECT_EQ(a.to_string(), "[::1]:443");
}

TEST(SocketAddress, RejectsMalformedInput) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:65536", "127.0.0.1:-1",
                          "127.0.0.1:80x", "localhost:80", "::1:80", "[::1]80",
                          "[::1]:", "[127.0.0.1]:80", "300.0.0.1:80", "[::1:80"}) {
    EXPECT_FALSE(SocketAddress::try_parse(bad).has_value()) << bad;
  }
}

TEST(SocketAddress, ParseErrorNamesTheInput) {
  try {
    SocketAddress::parse("localhost:80");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'localhost:80'"), std::string::npos) << e.what();
  }
}

TEST(SocketAddress, Equality) {
  EXPECT_EQ(SocketAddress::parse("10.0.0.1:1"), SocketAddress::parse("10.0.0.1:1"));
  EXPECT_FALSE(SocketAddress::parse("10.0.0.1:1") == SocketAddress::parse("10.0.0.1:2"));
  EXPECT_FALSE(SocketAddress::parse("[::1]:1") == SocketAddress::parse("127.0.0.1:1"));
}

}  // namespace
}  // namespace cipherline
