// Proxy settings: proxy URLs, NO_PROXY matching and the environment
// variables, following curl's rules.
#include "cipherline/http/proxy.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "cipherline/http/client.hpp"
#include "cipherline/http/error.hpp"

namespace cipherline::http {
namespace {

TEST(ProxyUrl, HostPortAndTheDefaultPort) {
  auto p = parse_proxy_url("http://proxy.corp:3128").value();
  EXPECT_EQ(p.host, "proxy.corp");
  EXPECT_EQ(p.port, 3128);
  EXPECT_EQ(p.authorization, "");
  EXPECT_EQ(p.url, "http://proxy.corp:3128");
  // No scheme means http; no port means curl's 1080; a path is ignored.
  p = parse_proxy_url("proxy.corp/").value();
  EXPECT_EQ(p.host, "proxy.corp");
  EXPECT_EQ(p.port, 1080);
  p = parse_proxy_url("HTTP://[::1]:8080").value();
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.url, "http://[::1]:8080");
}

TEST(ProxyUrl, CredentialsBecomeBasicAuthorization) {
  // "alice:s3cret" in base64 is YWxpY2U6czNjcmV0.
  EXPECT_EQ(parse_proxy_url("http://alice:s3cret@p:1").value().authorization,
            "Basic YWxpY2U6czNjcmV0");
  // Percent-escapes are decoded first: "a@b:p:w" is YUBiOnA6dw==.
  EXPECT_EQ(parse_proxy_url("http://a%40b:p%3Aw@p:1").value().authorization, "Basic YUBiOnA6dw==");
  // The URL kept for messages carries no credentials.
  EXPECT_EQ(parse_proxy_url("http://alice:s3cret@p:1").value().url, "http://p:1");
}

TEST(ProxyUrl, BadUrlsSayWhatIsWrong) {
  const auto failure = [](std::string_view url) {
    auto r = parse_proxy_url(url);
    EXPECT_FALSE(r) << url;
    if (!r) EXPECT_EQ(r.error(), errc::proxy_failed);
    return r ? std::string() : r.error().message();
  };
  EXPECT_NE(failure("socks5://p:1080").find("unsupported scheme 'socks5'"), std::string::npos);
  EXPECT_NE(failure("https://p:443").find("only http:// proxies"), std::string::npos);
  EXPECT_NE(failure("http://p:0").find("invalid port '0'"), std::string::npos);
  EXPECT_NE(failure("http://p:99999").find("invalid port"), std::string::npos);
  EXPECT_NE(failure("http://:8080").find("no host"), std::string::npos);
  EXPECT_NE(failure("http://[::1").find("unclosed '['"), std::string::npos);
  EXPECT_NE(failure("http://a%4@p:1").find("%-escape"), std::string::npos);
}

TEST(NoProxy, NamesMatchThemselvesAndSubdomains) {
  // curl's documented example.
  EXPECT_TRUE(no_proxy_matches("ample.com", "ample.com"));
  EXPECT_TRUE(no_proxy_matches("ample.com", "www.ample.com"));
  EXPECT_FALSE(no_proxy_matches("ample.com", "www.example.com"));
  EXPECT_FALSE(no_proxy_matches("ample.com", "ample.com.org"));
  // A leading dot, case, blanks, empty entries and trailing dots do not matter.
  EXPECT_TRUE(no_proxy_matches(".ample.com", "ample.com"));
  EXPECT_TRUE(no_proxy_matches(" , foo.org ,  AMPLE.com", "api.Ample.COM."));
  EXPECT_FALSE(no_proxy_matches("", "ample.com"));
  EXPECT_FALSE(no_proxy_matches(".", "ample.com"));
  EXPECT_TRUE(no_proxy_matches("localhost,*", "anything.example"));
  EXPECT_FALSE(no_proxy_matches("*.ample.com", "www.ample.com"));  // no globs, as curl
}

TEST(NoProxy, AddressesAndCidrRanges) {
  EXPECT_TRUE(no_proxy_matches("10.0.0.1", "10.0.0.1"));
  EXPECT_FALSE(no_proxy_matches("10.0.0.1", "10.0.0.10"));
  EXPECT_TRUE(no_proxy_matches("192.168.0.0/16", "192.168.77.1"));
  EXPECT_FALSE(no_proxy_matches("192.168.0.0/16", "192.169.0.1"));
  EXPECT_TRUE(no_proxy_matches("10.1.2.0/23", "10.1.3.255"));
  EXPECT_FALSE(no_proxy_matches("10.1.2.0/23", "10.1.4.0"));
  EXPECT_TRUE(no_proxy_matches("0.0.0.0/0", "8.8.8.8"));
  // IPv6 entries without brackets; hosts as they appear in URLs.
  EXPECT_TRUE(no_proxy_matches("::1", "[::1]"));
  EXPECT_TRUE(no_proxy_matches("fd00::/8", "[fd12:3456::1]"));
  EXPECT_FALSE(no_proxy_matches("fd00::/8", "[fe80::1]"));
  // Families do not mix; names do not match addresses; junk is skipped.
  EXPECT_FALSE(no_proxy_matches("::ffff:10.0.0.1", "10.0.0.1"));
  EXPECT_FALSE(no_proxy_matches("0.0.1", "10.0.0.1"));
  EXPECT_FALSE(no_proxy_matches("10.0.0.0/33,10.0.0.0/x", "10.0.0.1"));
  EXPECT_FALSE(no_proxy_matches("10.0.0.1", "host10.0.0.1"));
}

// Sets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  static constexpr const char* kNames[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};
  ScopedEnv() {
    for (const char* name : kNames) {
      if (const char* v = std::getenv(name)) saved_.emplace_back(name, v);
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    for (const char* name : kNames) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }
  void set(const char* name, const char* value) { ::setenv(name, value, 1); }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(ProxyEnvironment, CurlsVariablesAndPrecedence) {
  ScopedEnv env;
  env.set("HTTP_PROXY", "http://ignored:1");  // never read: httpoxy
  env.set("HTTPS_PROXY", "http://upper:2");
  env.set("NO_PROXY", "internal.corp");
  auto s = ProxySettings::from_environment();
  EXPECT_EQ(s.http_proxy, "");
  EXPECT_EQ(s.https_proxy, "http://upper:2");
  EXPECT_EQ(s.https_source, "HTTPS_PROXY");
  EXPECT_EQ(s.no_proxy, "internal.corp");

  env.set("https_proxy", "http://lower:3");
  env.set("no_proxy", "");  // empty counts as unset
  env.set("ALL_PROXY", "http://all:4");
  s = ProxySettings::from_environment();
  EXPECT_EQ(s.https_proxy, "http://lower:3");
  EXPECT_EQ(s.http_proxy, "http://all:4");
  EXPECT_EQ(s.http_source, "ALL_PROXY");
  EXPECT_EQ(s.no_proxy, "internal.corp");
}

TEST(ProxyEnvironment, RouteForAnOrigin) {
  const ProxySettings s{.http_proxy = "",
                        .https_proxy = "socks5://p:1080",
                        .no_proxy = "localhost,10.0.0.0/8",
                        .https_source = "HTTPS_PROXY"};
  // Direct: no proxy for the scheme, or listed in no_proxy.
  EXPECT_FALSE(s.route_for(Origin::parse("http://api.example").value()).value());
  EXPECT_FALSE(s.route_for(Origin::parse("https://localhost:8443").value()).value());
  EXPECT_FALSE(s.route_for(Origin::parse("https://10.2.3.4").value()).value());
  // Otherwise the setting is used, and a bad one names its variable.
  auto r = s.route_for(Origin::parse("https://api.example").value());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::proxy_failed);
  EXPECT_NE(r.error().message().find("HTTPS_PROXY: proxy URL 'socks5://p:1080'"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace cipherline::http
