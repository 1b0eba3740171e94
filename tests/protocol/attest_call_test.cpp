// The /privatemode/v1/attest bodies, both ends: round trips, and every way a
// body can be wrong named.
#include "cipherline/protocol/attest_call.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

TEST(AttestCall, RequestRoundTripsItsNonce) {
  std::vector<std::byte> nonce(32);
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = std::byte(i);
  const std::string json = attest_request_json(nonce);
  EXPECT_EQ(json, R"({"Nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="})");
  EXPECT_EQ(parse_attest_request(json).value(), nonce);
}

TEST(AttestCall, RequestErrorsNameWhatIsWrong) {
  const auto code_of = [](std::string_view json) { return parse_attest_request(json).error(); };
  EXPECT_EQ(code_of("not json"), errc::invalid_json);
  EXPECT_EQ(code_of(R"({"nonce":"AAAA"})"), errc::invalid_json);  // the field's name is exact
  EXPECT_EQ(code_of(R"({"Nonce":7})"), errc::invalid_json);
  EXPECT_EQ(code_of(R"({"Nonce":"!!"})"), errc::invalid_base64);
  const auto short_nonce = parse_attest_request(R"({"Nonce":"AAAA"})");
  ASSERT_FALSE(short_nonce);
  EXPECT_EQ(short_nonce.error(), errc::invalid_length);
  EXPECT_NE(short_nonce.error().message().find("32 bytes, got 3"), std::string::npos);
}

TEST(AttestCall, ResponseRoundTripsTheDocument) {
  const std::string doc = R"({"raw_attestation_doc":"…"})";
  const auto bytes = std::as_bytes(std::span(doc));
  const auto back = parse_attest_response(attest_response_json(bytes)).value();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(back.data()), back.size()), doc);
  const auto missing = parse_attest_response(R"({"Doc":"AAAA"})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("\"AttestationDoc\""), std::string::npos);
}

}  // namespace
}  // namespace cipherline::protocol
