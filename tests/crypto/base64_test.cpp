// Base64 (standard alphabet, padded): RFC 4648 test vectors and rejections.
#include "cipherline/crypto/base64.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::text_bytes;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(to_base64(text_bytes(plain)), encoded);
    const auto decoded = from_base64(encoded).value();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(decoded.data()), decoded.size()), plain);
  }
}

TEST(Base64, UsesTheStandardAlphabet) {
  const std::byte in[] = {std::byte{0xfb}, std::byte{0xff}, std::byte{0xbf}};
  EXPECT_EQ(to_base64(in), "+/+/");
}

TEST(Base64, RejectsNonCanonicalInput) {
  for (const char* bad :
       {"Zg", "Zg=", "Zm9", "-_-_", "Zm9v\n", " Zm9v", "Zg==Zg==", "Z===", "Zm9v===="}) {
    auto r = from_base64(bad);
    EXPECT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::invalid_base64) << bad;
  }
}

TEST(Base64, RejectsBytesOutsideTheAlphabet) {
  // Found by fuzzing: libsodium 1.0.18 alone decodes "Zg\xfa\xfa" as "Zg//".
  for (const char* bad : {"Zg\xfa\xfa", "Zm9\x80", "\xffm9v", "Zm9v\x7f==="}) {
    auto r = from_base64(bad);
    EXPECT_EQ(r.error(), errc::invalid_base64) << bad;
  }
  EXPECT_EQ(from_base64("Zg\xfa\xfa").error().message(), "invalid base64 at position 2");
}

TEST(Base64, ErrorNamesThePosition) {
  auto r = from_base64("Zm9v*mFy");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "invalid base64 at position 4");
  EXPECT_EQ(from_base64("abc").error().message(), "base64 length 3 is not a multiple of 4");
}

}  // namespace
}  // namespace cipherline::crypto
