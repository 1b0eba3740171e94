// SecretBytes: ownership, constant-time equality, no accidental copies.
#include "cipherline/crypto/secret_bytes.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include <type_traits>

namespace cipherline::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(!std::is_convertible_v<SecretBytes, std::string>);

TEST(SecretBytes, StartsZeroed) {
  SecretBytes s(64);
  ASSERT_EQ(s.size(), 64u);
  for (std::byte b : s.bytes()) EXPECT_EQ(b, std::byte{0});
}

TEST(SecretBytes, ReusedStorageComesBackZeroed) {
  // Small secrets share slabs: a slot handed out again must hold nothing of
  // its last secret, across slabs and size classes (and beyond them).
  for (const std::size_t size :
       {std::size_t{32}, std::size_t{64}, std::size_t{300}, std::size_t{512}, std::size_t{4096}}) {
    std::vector<SecretBytes> secrets;
    for (int i = 0; i < 3000; ++i) {
      secrets.emplace_back(size);
      auto b = secrets.back().writable_bytes();
      std::fill(b.begin(), b.end(), std::byte{0xA5});
    }
    secrets.clear();
    for (int i = 0; i < 3000; ++i) {
      SecretBytes s(size);
      for (const auto byte : s.bytes()) ASSERT_EQ(byte, std::byte{0}) << size;
      secrets.push_back(std::move(s));
    }
  }
}

TEST(SecretBytes, CopyOfAndEquality) {
  const std::byte raw[] = {std::byte{1}, std::byte{2}, std::byte{3}};
  const SecretBytes a = SecretBytes::copy_of(raw);
  const SecretBytes b = SecretBytes::copy_of(raw);
  EXPECT_TRUE(a == b);
  SecretBytes c = SecretBytes::copy_of(raw);
  c.writable_bytes()[2] = std::byte{4};
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == SecretBytes::copy_of(std::span(raw).first(2)));
}

TEST(SecretBytes, MoveLeavesTheSourceEmpty) {
  SecretBytes a = SecretBytes::random(32);
  const auto* data = a.bytes().data();
  SecretBytes b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.bytes().data(), data);
  a = std::move(b);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_TRUE(b.empty());
}

TEST(SecretBytes, RandomSecretsDiffer) {
  EXPECT_FALSE(SecretBytes::random(32) == SecretBytes::random(32));
  EXPECT_TRUE(SecretBytes() == SecretBytes());
}

TEST(SecretBytes, ConstantTimeEqual) {
  const std::byte a[] = {std::byte{1}, std::byte{2}};
  const std::byte b[] = {std::byte{1}, std::byte{3}};
  EXPECT_TRUE(constant_time_equal(a, a));
  EXPECT_FALSE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, std::span(a).first(1)));
}

}  // namespace
}  // namespace cipherline::crypto
