// The encrypted-field format: the worked example of spec §4.5, round trips,
// tampering, and the named errors of malformed fields.
#include "cipherline/protocol/field_cipher.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/secret_bytes.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace cipherline::protocol {
namespace {

using crypto::errc;

template <std::size_t N>
std::array<std::byte, N> hex_array(std::string_view s) {
  std::array<std::byte, N> a;
  crypto::hex_decode(s, a).value();
  return a;
}

std::span<const std::byte> text(std::string_view s) { return std::as_bytes(std::span(s)); }

const std::vector<std::byte> kExampleKey(32, std::byte{0x42});
const FieldNonce kExampleNonce = hex_array<12>("000102030405060708090a0b");
const FieldIv kExampleIv = hex_array<12>("101112131415161718191a1b");
constexpr std::string_view kExamplePlaintext = R"([{"role":"user","content":"Hello"}])";
constexpr std::string_view kExampleField =
    R"("123:000102030405060708090a0b:101112131415161718191a1b:09828bdac0665a079cbd29b5194163f321815c2f17ffbf16038cef13089c348bc56daba978205afbffac989e80013c912c32cd")";

TEST(FieldCipher, WorkedExampleOfTheSpecification) {
  const crypto::Aes256Gcm aead(kExampleKey);
  std::string out = "prefix ";
  seal_field_with_iv(aead, "123", kExampleNonce, kExampleIv, 0, text(kExamplePlaintext), out);
  EXPECT_EQ(out, "prefix " + std::string(kExampleField));

  const ParsedField f = parse_field(kExampleField).value();
  EXPECT_EQ(f.secret_id, "123");
  EXPECT_EQ(f.nonce, kExampleNonce);
  EXPECT_EQ(f.iv, kExampleIv);
  std::string plain;
  open_field(aead, f, kExampleNonce, 0, plain).value();
  EXPECT_EQ(plain, kExamplePlaintext);
}

TEST(FieldCipher, SizeFormula) {
  EXPECT_EQ(sealed_field_size(3, kExamplePlaintext.size()), kExampleField.size());
}

TEST(FieldCipher, RoundTripsFromEmptyToOneMebibyte) {
  const auto key = crypto::SecretBytes::random(32);
  const crypto::Aes256Gcm aead(key.bytes());
  const std::string id(44, 'I');
  for (std::size_t size :
       {0, 1, 2, 15, 16, 17, 100, 255, 256, 1000, 4095, 4096, 4097, 65536, 1 << 20}) {
    std::vector<std::byte> plain(size);
    crypto::random_bytes(plain);
    FieldNonce nonce;
    crypto::random_bytes(nonce);
    std::string field;
    seal_field(aead, id, nonce, 7, plain, field);
    ASSERT_EQ(field.size(), sealed_field_size(id.size(), size));
    std::string back;
    open_field(aead, parse_field(field).value(), nonce, 7, back).value();
    ASSERT_EQ(back.size(), size);
    EXPECT_TRUE(
        std::equal(plain.begin(), plain.end(), reinterpret_cast<const std::byte*>(back.data())))
        << size;
  }
}

TEST(FieldCipher, FreshIvEveryTime) {
  const crypto::Aes256Gcm aead(kExampleKey);
  std::string a, b;
  seal_field(aead, "id", kExampleNonce, 0, text("same"), a);
  seal_field(aead, "id", kExampleNonce, 0, text("same"), b);
  EXPECT_NE(a, b);
  EXPECT_NE(parse_field(a).value().iv, parse_field(b).value().iv);
}

TEST(FieldCipher, EverySingleBitFlipFails) {
  const crypto::Aes256Gcm aead(kExampleKey);
  const std::string field(kExampleField);
  const ParsedField good = parse_field(field).value();
  // Flip each bit of every byte of the ciphertext and tag (as hex text).
  const std::size_t begin = field.size() - 1 - good.sealed_hex.size();
  int failures = 0;
  for (std::size_t i = begin; i < field.size() - 1; ++i) {
    for (int bit = 0; bit < 4; ++bit) {
      // Flip a bit of the nibble the digit encodes, keeping it valid hex.
      std::string t = field;
      const char digits[] = "0123456789abcdef";
      const auto nibble = static_cast<unsigned>(std::string_view(digits).find(t[i]));
      t[i] = digits[nibble ^ (1u << bit)];
      std::string out;
      auto r = open_field(aead, parse_field(t).value(), kExampleNonce, 0, out);
      ASSERT_FALSE(r) << "flip at " << i << " bit " << bit;
      EXPECT_EQ(r.error(), errc::authentication_failed);
      EXPECT_EQ(r.error().message(), "authentication failed");
      EXPECT_TRUE(out.empty()) << "no unauthenticated bytes released";
      ++failures;
    }
  }
  EXPECT_EQ(failures, static_cast<int>(good.sealed_hex.size()) * 4);
  // The IV is authenticated too (it is the GCM nonce).
  for (std::size_t i = 0; i < 24; ++i) {
    std::string t = field;
    const std::size_t at = field.find(':', 5) + 1 + i;
    t[at] = t[at] == '0' ? '1' : '0';
    std::string out;
    EXPECT_FALSE(open_field(aead, parse_field(t).value(), kExampleNonce, 0, out)) << i;
  }
}

TEST(FieldCipher, WrongKeyNonceOrSequenceFail) {
  const crypto::Aes256Gcm aead(kExampleKey);
  const ParsedField f = parse_field(kExampleField).value();
  std::string out;
  EXPECT_EQ(open_field(crypto::Aes256Gcm(std::vector<std::byte>(32, std::byte{0x43})), f,
                       kExampleNonce, 0, out)
                .error(),
            errc::authentication_failed);
  FieldNonce other = kExampleNonce;
  other[11] ^= std::byte{1};
  EXPECT_EQ(open_field(aead, f, other, 0, out).error(), errc::authentication_failed);
  EXPECT_EQ(open_field(aead, f, kExampleNonce, 1, out).error(), errc::authentication_failed);
  EXPECT_TRUE(out.empty());
}

TEST(FieldCipher, MalformedFieldsGiveNamedErrors) {
  struct Case {
    std::string field;
    errc code;
    std::string message;
  };
  const std::string iv = "101112131415161718191a1b";
  const std::string nonce = "000102030405060708090a0b";
  const std::string ct(40, 'a');
  const Case cases[] = {
      {"", errc::malformed_field, "encrypted field is not a quoted string"},
      {"123:" + nonce + ":" + iv + ":" + ct, errc::malformed_field,
       "encrypted field is not a quoted string"},
      {"\"123:" + nonce + ":" + iv + "\"", errc::malformed_field,
       "encrypted field has 3 parts, expected 4 (secret ID:nonce:IV:ciphertext)"},
      {"\"123:" + nonce + ":" + iv + ":" + ct + ":x\"", errc::malformed_field,
       "encrypted field has 5 parts, expected 4 (secret ID:nonce:IV:ciphertext)"},
      {"\":" + nonce + ":" + iv + ":" + ct + "\"", errc::malformed_field,
       "encrypted field has an empty secret ID"},
      {"\"1:0001:" + iv + ":" + ct + "\"", errc::invalid_length,
       "nonce: 4 hex digits, expected 24"},
      {"\"1:" + nonce.substr(0, 5) + "x" + nonce.substr(6) + ":" + iv + ":" + ct + "\"",
       errc::invalid_hex, "nonce: invalid hex digit at position 5"},
      {"\"1:" + nonce + ":" + iv.substr(0, 23) + "g:" + ct + "\"", errc::invalid_hex,
       "IV: invalid hex digit at position 23"},
      {"\"1:" + nonce + ":" + iv + ":abcd\"", errc::invalid_length,
       "ciphertext: 4 hex digits, shorter than the 16-byte tag"},
      {"\"1:" + nonce + ":" + iv + ":" + ct + "a\"", errc::invalid_hex,
       "ciphertext: odd number of hex digits (41)"},
  };
  for (const Case& c : cases) {
    auto r = parse_field(c.field);
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error(), c.code) << c.field;
    EXPECT_EQ(r.error().message(), c.message) << c.field;
  }
  // A bad digit in the ciphertext is found when decoding, with its position.
  const crypto::Aes256Gcm aead(kExampleKey);
  std::string bad(kExampleField);
  bad[bad.size() - 5] = 'z';
  std::string out;
  auto r = open_field(aead, parse_field(bad).value(), kExampleNonce, 0, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_hex);
  EXPECT_EQ(r.error().message(), "ciphertext: invalid hex digit at position 98");
}

TEST(FieldCipher, UppercaseHexAndSurroundingWhitespaceAreAccepted) {
  const crypto::Aes256Gcm aead(kExampleKey);
  std::string upper(kExampleField);
  for (std::size_t i = 5; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  std::string out;
  open_field(aead, parse_field("  " + upper + "\n").value(), kExampleNonce, 0, out).value();
  EXPECT_EQ(out, kExamplePlaintext);
}

}  // namespace
}  // namespace cipherline::protocol
