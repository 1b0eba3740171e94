// Whom the local proxy serves: its own names and the listen address, names
// and origins the user allowed; a rebinding page's Host and a web page's
// Origin are refused with the header named.
#include "cipherline/client/local_callers.hpp"

#include <gtest/gtest.h>

#include "cipherline/client/error.hpp"

namespace cipherline::client {
namespace {

http::Headers with(std::string_view host, std::optional<std::string_view> origin = std::nullopt) {
  http::Headers h{{"Host", host}};
  if (origin) h.add("Origin", *origin);
  return h;
}

int status(const LocalCallers& callers, const http::Headers& headers) {
  const auto refusal = callers.check(headers);
  return refusal ? refusal->status : 200;
}

const LocalCallers kOnLoopback =
    LocalCallers::create({.listen = SocketAddress::parse("127.0.0.1:8080")}).value();

TEST(LocalCallers, ServesItsOwnNamesOnItsPort) {
  for (const char* host : {"localhost", "localhost:8080", "LocalHost:8080", "127.0.0.1",
                           "127.0.0.1:8080", "[::1]:8080", "[::1]"}) {
    EXPECT_EQ(status(kOnLoopback, with(host)), 200) << host;
  }
  // Another port is not this proxy.
  EXPECT_EQ(status(kOnLoopback, with("localhost:9999")), 421);
  EXPECT_EQ(status(kOnLoopback, with("127.0.0.1:80")), 421);
  // Without a listen address (or before binding, port 0): any port.
  EXPECT_EQ(status(LocalCallers(), with("localhost:9999")), 200);
  EXPECT_EQ(status(kOnLoopback.listening_on(SocketAddress::parse("127.0.0.1:9999")),
                   with("localhost:9999")),
            200);
}

TEST(LocalCallers, RefusesARebindingPagesHost) {
  const auto refusal = kOnLoopback.check(with("attacker.example:8080"));
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 421);
  EXPECT_NE(
      refusal->message.find("Host \"attacker.example:8080\" is not one of this proxy's names"),
      std::string::npos)
      << refusal->message;
  EXPECT_NE(refusal->message.find("--allowed-host"), std::string::npos);
  // The default policy too: only loopback names.
  EXPECT_EQ(status(LocalCallers(), with("attacker.example")), 421);
  // A name that merely starts like a loopback one.
  EXPECT_EQ(status(kOnLoopback, with("localhost.attacker.example")), 421);
  EXPECT_EQ(status(kOnLoopback, with("127.0.0.1.nip.io:8080")), 421);
}

TEST(LocalCallers, RefusesAMissingDuplicateOrMalformedHost) {
  EXPECT_EQ(kOnLoopback.check({})->message, "the request has no Host header");
  http::Headers twice{{"Host", "localhost"}, {"Host", "attacker.example"}};
  EXPECT_EQ(status(kOnLoopback, twice), 400);
  for (const char* host : {"", "localhost:", "localhost:99999", "local host", "user@localhost",
                           "::1", "[::1", "[zz]:8080", "localhost:8080/x"}) {
    EXPECT_EQ(status(kOnLoopback, with(host)), 400) << host;
  }
}

TEST(LocalCallers, ServesTheListenAddress) {
  const auto lan = LocalCallers::create({.listen = SocketAddress::parse("192.168.1.5:8080")});
  EXPECT_EQ(status(*lan, with("192.168.1.5:8080")), 200);
  EXPECT_EQ(status(*lan, with("192.168.1.6:8080")), 421);
  // Bound to every address: any IP literal on the port, still no names.
  const auto any = LocalCallers::create({.listen = SocketAddress::parse("0.0.0.0:8080")});
  EXPECT_EQ(status(*any, with("10.0.0.7:8080")), 200);
  EXPECT_EQ(status(*any, with("10.0.0.7:8081")), 421);
  EXPECT_EQ(status(*any, with("attacker.example:8080")), 421);
  const auto any6 = LocalCallers::create({.listen = SocketAddress::parse("[::]:8080")});
  EXPECT_EQ(status(*any6, with("[fd00::7]:8080")), 200);
}

TEST(LocalCallers, ServesAllowedHosts) {
  const auto callers = LocalCallers::create({.listen = SocketAddress::parse("127.0.0.1:8080"),
                                             .allowed_hosts = {"LLM.lan", "gw.example:8443"}})
                           .value();
  EXPECT_EQ(status(callers, with("llm.lan")), 200);
  EXPECT_EQ(status(callers, with("llm.lan:443")), 200);  // a name alone: any port
  EXPECT_EQ(status(callers, with("gw.example:8443")), 200);
  EXPECT_EQ(status(callers, with("gw.example")), 421);  // name:port: that port only
  EXPECT_EQ(status(callers, with("gw.example:443")), 421);
  EXPECT_EQ(status(callers, with("attacker.example")), 421);
}

TEST(LocalCallers, RefusesWebPagesUnlessTheirOriginIsAllowed) {
  const auto refusal = kOnLoopback.check(with("127.0.0.1:8080", "http://attacker.example"));
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->status, 403);
  EXPECT_NE(refusal->message.find("Origin \"http://attacker.example\" is not allowed"),
            std::string::npos)
      << refusal->message;
  EXPECT_NE(refusal->message.find("--allowed-origin"), std::string::npos);
  // None by default, not even a local page, nor a sandboxed one.
  EXPECT_EQ(status(kOnLoopback, with("localhost:8080", "http://localhost:3000")), 403);
  EXPECT_EQ(status(kOnLoopback, with("localhost:8080", "null")), 403);

  const auto callers = LocalCallers::create({.listen = SocketAddress::parse("127.0.0.1:8080"),
                                             .allowed_origins = {"http://localhost:3000"}})
                           .value();
  EXPECT_EQ(status(callers, with("localhost:8080", "http://localhost:3000")), 200);
  EXPECT_EQ(status(callers, with("localhost:8080", "HTTP://LOCALHOST:3000")), 200);
  EXPECT_EQ(status(callers, with("localhost:8080", "http://localhost:3001")), 403);
  EXPECT_EQ(status(callers, with("localhost:8080", "https://localhost:3000")), 403);
  // An allowed origin does not admit a foreign Host.
  EXPECT_EQ(status(callers, with("attacker.example", "http://localhost:3000")), 421);
  http::Headers twice = with("localhost:8080", "http://localhost:3000");
  twice.add("Origin", "http://attacker.example");
  EXPECT_EQ(status(callers, twice), 403);
}

TEST(LocalCallers, RefusesMalformedAllowances) {
  for (const char* host : {"", "http://llm.lan", "llm.lan/", "llm lan", "*"}) {
    auto r = LocalCallers::create({.allowed_hosts = {host}});
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error(), errc::bad_configuration);
    EXPECT_NE(r.error().message().find("--allowed-host"), std::string::npos);
  }
  for (const char* origin : {"", "localhost:3000", "http://localhost:3000/", "*", "null",
                             "http://*.example", "http://"}) {
    auto r = LocalCallers::create({.allowed_origins = {origin}});
    ASSERT_FALSE(r) << origin;
    EXPECT_NE(r.error().message().find("--allowed-origin \"" + std::string(origin) + "\""),
              std::string::npos)
        << r.error().message();
  }
}

}  // namespace
}  // namespace cipherline::client
