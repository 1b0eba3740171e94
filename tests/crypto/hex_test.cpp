// Hex codec: lowercase out, either case in, positions of errors, SIMD and
// scalar paths agreeing at every length.
#include "cipherline/crypto/hex.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/random.hpp"

namespace cipherline::crypto {
namespace {

std::vector<std::byte> all_bytes() {
  std::vector<std::byte> v(256);
  for (int i = 0; i < 256; ++i) v[i] = static_cast<std::byte>(i);
  return v;
}

TEST(Hex, EncodesLowercase) {
  const std::byte in[] = {std::byte{0x00}, std::byte{0x9f}, std::byte{0xa0}, std::byte{0xff}};
  EXPECT_EQ(to_hex(in), "009fa0ff");
  EXPECT_EQ(to_hex({}), "");
}

TEST(Hex, EveryByteValueRoundTrips) {
  const auto v = all_bytes();
  const std::string s = to_hex(v);
  for (int i = 0; i < 256; ++i) {
    char expected[3];
    std::snprintf(expected, sizeof expected, "%02x", i);
    EXPECT_EQ(s.substr(2 * i, 2), expected);
  }
  EXPECT_EQ(from_hex(s).value(), v);
}

TEST(Hex, AcceptsUppercaseAndMixedCase) {
  EXPECT_EQ(from_hex("ABCDEF").value(), from_hex("abcdef").value());
  EXPECT_EQ(from_hex("aBcD").value(), (std::vector{std::byte{0xab}, std::byte{0xcd}}));
}

TEST(Hex, EveryLengthAgreesBetweenVectorAndScalarPaths) {
  for (std::size_t n = 0; n < 100; ++n) {
    std::vector<std::byte> v(n);
    random_bytes(v);
    const std::string s = to_hex(v);
    ASSERT_EQ(s.size(), 2 * n);
    for (char c : s) ASSERT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << s;
    EXPECT_EQ(from_hex(s).value(), v) << n;
  }
}

TEST(Hex, OddLengthIsRejected) {
  auto r = from_hex("abc");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_hex);
  EXPECT_EQ(r.error().message(), "odd number of hex digits (3)");
}

TEST(Hex, InvalidDigitReportsItsPosition) {
  // Every position in a 70-character string (both vector blocks and the
  // scalar tail), and every kind of non-hex character.
  for (std::size_t pos = 0; pos < 70; ++pos) {
    for (char bad : {'g', 'G', ' ', ':', '/', '@', '`', 'z', '\0', '\x80', '\xff'}) {
      std::string s(70, 'a');
      s[pos] = bad;
      auto r = from_hex(s);
      ASSERT_FALSE(r) << pos;
      EXPECT_EQ(r.error(), errc::invalid_hex);
      EXPECT_EQ(r.error().message(), "invalid hex digit at position " + std::to_string(pos));
    }
  }
}

TEST(Hex, FirstOfSeveralInvalidDigitsIsReported) {
  EXPECT_EQ(from_hex("00zz00x0").error().message(), "invalid hex digit at position 2");
  std::string s(64, '0');
  s[40] = 'x';
  s[7] = 'y';
  EXPECT_EQ(from_hex(s).error().message(), "invalid hex digit at position 7");
}

TEST(Hex, DecodeIntoBufferChecksItsSize) {
  std::byte out[3];
  auto r = hex_decode("0011", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_length);
}

}  // namespace
}  // namespace cipherline::crypto
