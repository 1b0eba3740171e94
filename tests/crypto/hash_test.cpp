// SHA-256, HMAC-SHA256, SHA3-256, SHAKE256 and HKDF-SHA256 against published
// known answers.
#include <gtest/gtest.h>

#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/hkdf.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/crypto/sha3.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::bytes;
using testing::text_bytes;

TEST(Sha256, KnownAnswers) {
  EXPECT_EQ(to_hex(sha256(text_bytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256(text_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, PartsHashAsTheirConcatenation) {
  EXPECT_EQ(sha256({text_bytes("a"), text_bytes(""), text_bytes("bc")}), sha256(text_bytes("abc")));
}

TEST(HmacSha256, Rfc4231TestCase2) {
  EXPECT_EQ(to_hex(hmac_sha256(text_bytes("Jefe"), text_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Sha3, KnownAnswers) {
  EXPECT_EQ(to_hex(sha3_256({text_bytes("")})),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
  EXPECT_EQ(to_hex(sha3_256({text_bytes("ab"), text_bytes("c")})),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
  std::vector<std::byte> out(32);
  shake256(text_bytes(""), out);
  EXPECT_EQ(to_hex(out), "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f");
}

TEST(Hkdf, Rfc5869TestCase1) {
  const auto ikm = bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const auto salt = bytes("000102030405060708090a0b0c");
  const auto info = bytes("f0f1f2f3f4f5f6f7f8f9");
  const SecretBytes prk = hkdf_sha256_extract(salt, ikm);
  EXPECT_EQ(to_hex(prk.bytes()),
            "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  const SecretBytes okm = hkdf_sha256_expand(prk.bytes(), info, 42);
  EXPECT_EQ(to_hex(okm.bytes()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(Hkdf, Rfc5869TestCase3EmptySaltAndInfo) {
  const auto ikm = bytes("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  const SecretBytes prk = hkdf_sha256_extract({}, ikm);
  EXPECT_EQ(to_hex(prk.bytes()),
            "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
  EXPECT_EQ(to_hex(hkdf_sha256_expand(prk.bytes(), {}, 42).bytes()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(Hkdf, RejectsImpossibleLengths) {
  const auto prk = bytes("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
  EXPECT_THROW(hkdf_sha256_expand(prk, {}, 0), std::invalid_argument);
  EXPECT_THROW(hkdf_sha256_expand(prk, {}, 255 * 32 + 1), std::invalid_argument);
  EXPECT_EQ(hkdf_sha256_expand(prk, {}, 255 * 32).size(), 255u * 32);
}

}  // namespace
}  // namespace cipherline::crypto
