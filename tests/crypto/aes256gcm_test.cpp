// AES-256-GCM: both backends agree byte for byte, tampering is detected,
// failures release no plaintext.
#include "cipherline/crypto/aes256gcm.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::bytes;
using Backend = Aes256Gcm::Backend;

// Spec §4.5 worked example, seen as a raw AEAD operation.
TEST(Aes256Gcm, KnownAnswer) {
  const std::vector<std::byte> key(32, std::byte{0x42});
  const Aes256Gcm aead(key);
  const auto iv = bytes("101112131415161718191a1b");
  const auto aad = bytes("000102030405060708090a0b00000000");
  const auto plain = testing::text_bytes(R"([{"role":"user","content":"Hello"}])");
  const std::string expected =
      "09828bdac0665a079cbd29b5194163f321815c2f17ffbf16038cef13089c348bc56daba978205afbffac989e8001"
      "3c"
      "912c32cd";
  for (Backend b : {Backend::automatic, Backend::openssl}) {
    std::vector<std::byte> out(plain.size() + 16);
    aead.seal(out, plain, iv, aad, b);
    EXPECT_EQ(to_hex(out), expected);
  }
  if (Aes256Gcm::libsodium_available()) {
    std::vector<std::byte> out(plain.size() + 16);
    aead.seal(out, plain, iv, aad, Backend::libsodium);
    EXPECT_EQ(to_hex(out), expected);
  }
}

TEST(Aes256Gcm, BackendsAgreeAndOpenEachOther) {
  if (!Aes256Gcm::libsodium_available()) GTEST_SKIP() << "no AES-NI: only OpenSSL runs";
  const auto key = SecretBytes::random(32);
  const Aes256Gcm aead(key.bytes());
  for (std::size_t size : {0, 1, 15, 16, 17, 255, 256, 2559, 2560, 2561, 4096, 65536}) {
    std::vector<std::byte> plain(size), iv(12), aad(size % 40);
    random_bytes(plain);
    random_bytes(iv);
    random_bytes(aad);
    std::vector<std::byte> a(size + 16), b(size + 16);
    aead.seal(a, plain, iv, aad, Backend::libsodium);
    aead.seal(b, plain, iv, aad, Backend::openssl);
    ASSERT_EQ(a, b) << size;
    std::vector<std::byte> back(size);
    ASSERT_TRUE(aead.open(back, a, iv, aad, Backend::openssl)) << size;
    EXPECT_EQ(back, plain);
    ASSERT_TRUE(aead.open(back, b, iv, aad, Backend::libsodium)) << size;
    EXPECT_EQ(back, plain);
  }
}

TEST(Aes256Gcm, EveryBitFlipIsDetectedAndReleasesNothing) {
  const auto key = SecretBytes::random(32);
  const Aes256Gcm aead(key.bytes());
  std::vector<std::byte> plain(40, std::byte{0x5a}), iv(12), aad(16);
  random_bytes(iv);
  std::vector<std::byte> sealed(plain.size() + 16);
  aead.seal(sealed, plain, iv, aad);
  for (Backend backend : {Backend::automatic, Backend::openssl}) {
    for (std::size_t bit = 0; bit < sealed.size() * 8; ++bit) {
      auto tampered = sealed;
      tampered[bit / 8] ^= static_cast<std::byte>(1 << (bit % 8));
      std::vector<std::byte> out(plain.size(), std::byte{0x77});
      auto r = aead.open(out, tampered, iv, aad, backend);
      ASSERT_FALSE(r) << bit;
      EXPECT_EQ(r.error(), errc::authentication_failed);
      EXPECT_EQ(out, std::vector<std::byte>(plain.size())) << "output zeroed";
    }
  }
}

TEST(Aes256Gcm, WrongKeyIvOrAadFails) {
  const auto key = SecretBytes::random(32);
  const auto other = SecretBytes::random(32);
  const Aes256Gcm aead(key.bytes());
  const auto iv = bytes("000000000000000000000001");
  const auto aad = bytes("aa");
  std::vector<std::byte> plain(100, std::byte{1}), sealed(116), out(100);
  aead.seal(sealed, plain, iv, aad);
  EXPECT_FALSE(Aes256Gcm(other.bytes()).open(out, sealed, iv, aad));
  EXPECT_FALSE(aead.open(out, sealed, bytes("000000000000000000000002"), aad));
  EXPECT_FALSE(aead.open(out, sealed, iv, bytes("ab")));
  EXPECT_TRUE(aead.open(out, sealed, iv, aad));
}

TEST(Aes256Gcm, InPlaceOperation) {
  const auto key = SecretBytes::random(32);
  const Aes256Gcm aead(key.bytes());
  const auto iv = bytes("0102030405060708090a0b0c");
  std::vector<std::byte> buffer(64 + 16);
  for (std::size_t i = 0; i < 64; ++i) buffer[i] = static_cast<std::byte>(i);
  const std::vector<std::byte> original(buffer.begin(), buffer.begin() + 64);
  aead.seal(buffer, std::span(buffer).first(64), iv, {});
  EXPECT_NE(std::vector<std::byte>(buffer.begin(), buffer.begin() + 64), original);
  ASSERT_TRUE(aead.open(std::span(buffer).first(64), buffer, iv, {}));
  EXPECT_EQ(std::vector<std::byte>(buffer.begin(), buffer.begin() + 64), original);
}

TEST(Aes256Gcm, MisuseIsRejected) {
  EXPECT_THROW(Aes256Gcm(std::vector<std::byte>(16)), std::invalid_argument);
  const Aes256Gcm aead(std::vector<std::byte>(32));
  std::vector<std::byte> out(10);
  EXPECT_THROW(aead.seal(out, std::vector<std::byte>(10), std::vector<std::byte>(12), {}),
               std::invalid_argument);
  out.resize(26);
  EXPECT_THROW(aead.seal(out, std::vector<std::byte>(10), std::vector<std::byte>(8), {}),
               std::invalid_argument);
}

}  // namespace
}  // namespace cipherline::crypto
