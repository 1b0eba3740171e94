// OCSP policy header and MAC (spec §6.5); shard key (spec §6.6) with the
// known answers given there.
#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/protocol/ocsp_policy.hpp"
#include "cipherline/protocol/shard_key.hpp"

namespace cipherline::protocol {
namespace {

using namespace std::chrono_literals;

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'201'600));

TEST(OcspPolicy, HeaderLists) {
  EXPECT_EQ(ocsp_policy_header({}, kNow), "rules=allow-good; revocation-time-not-before=1764201600");
  EXPECT_EQ(ocsp_policy_header({.revoked_grace_period = 24h}, kNow),
            "rules=allow-good,allow-revoked; revocation-time-not-before=1764115200");
  EXPECT_EQ(ocsp_policy_header({.revoked_grace_period = 1h, .allow_unknown = true}, kNow),
            "rules=allow-good,allow-revoked,allow-unknown; revocation-time-not-before=1764198000");
  EXPECT_EQ(ocsp_policy_header({.allow_unknown = true}, kNow),
            "rules=allow-good,allow-unknown; revocation-time-not-before=1764201600");
}

TEST(OcspPolicy, MacIsHexHmacKeyedWithTheSecret) {
  const std::vector<std::byte> key(32, std::byte{0x0b});
  const InferenceSecret secret("id", key);
  const std::string header = ocsp_policy_header({}, kNow);
  const std::string mac = ocsp_policy_mac(secret, header);
  EXPECT_EQ(mac, crypto::to_hex(crypto::hmac_sha256(key, std::as_bytes(std::span(header)))));
  EXPECT_EQ(mac.size(), 64u);
  const InferenceSecret other("id", std::vector<std::byte>(32, std::byte{0x0c}));
  EXPECT_NE(ocsp_policy_mac(other, header), mac);
}

TEST(ShardKey, KnownAnswersOfTheSpecification) {
  EXPECT_EQ(shard_key("test-salt", "").value(), "087280357dfdc5a3");
  EXPECT_EQ(shard_key("test-salt", std::string(63, 'a')).value(), "087280357dfdc5a3");
  EXPECT_EQ(shard_key("test-salt", std::string(64, 'a')).value(), "087280357dfdc5a3-Q");
}

TEST(ShardKey, OneCharacterPerCompleteBlockAcrossTiers) {
  auto blocks = [](std::size_t chars) {
    const std::string k = shard_key("s", std::string(chars, 'x')).value();
    return k.size() <= 16 ? 0 : k.size() - 17;
  };
  EXPECT_EQ(blocks(64 * 3 + 10), 3u);
  EXPECT_EQ(blocks(4096), 64u);               // 1,024 tokens in 16-token blocks
  EXPECT_EQ(blocks(4096 + 511), 64u);         // the next tier's block is not complete
  EXPECT_EQ(blocks(4096 + 512), 65u);
  EXPECT_EQ(blocks(400'384), 64u + 774u);     // up to 100,096 tokens in 128-token blocks
  EXPECT_EQ(blocks(400'384 + 2048), 64u + 774u + 1u);
}

TEST(ShardKey, SharedPrefixesShareKeyPrefixes) {
  const std::string base(640, 'p');
  const std::string a = shard_key("salt", base + std::string(64, 'a')).value();
  const std::string b = shard_key("salt", base + std::string(64, 'b')).value();
  EXPECT_EQ(a.substr(0, a.size() - 1), b.substr(0, b.size() - 1));
  EXPECT_NE(shard_key("other", base).value().substr(0, 16), a.substr(0, 16));
}

TEST(ShardKey, TooLongContentIsAnError) {
  auto r = shard_key("s", std::string(4'000'001, 'x'));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), crypto::errc::invalid_length);
  EXPECT_TRUE(shard_key("s", std::string(4'000'000, 'x')));
}

}  // namespace
}  // namespace cipherline::protocol
