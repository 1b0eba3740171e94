// OAE streams: the known answers of privatemode-oae.md §1, round trips, and
// every way a stream can be attacked or misused.
#include "cipherline/crypto/oae.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/hkdf.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::bytes;

OaeHeader header_of(std::string_view hex) {
  OaeHeader h;
  const auto b = bytes(hex);
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

OaeNonce nonce_of(std::string_view hex) {
  OaeNonce n;
  const auto b = bytes(hex);
  std::copy(b.begin(), b.end(), n.begin());
  return n;
}

std::string hex_of(std::string_view s) { return to_hex(std::as_bytes(std::span(s))); }

class OaeKnownAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    json_ = simdjson::padded_string(testing::read_vector_file("privatemode_oae.json"));
    doc_ = parser_.parse(json_);
    secret_ = bytes(str("secret"));
    request_salt_ = header_of(str("request_salt"));
    response_salt_ = header_of(str("response_salt"));
  }
  std::string_view str(const char* name) { return doc_[name].get_string().value(); }
  simdjson::dom::array messages(const char* name) { return doc_[name].get_array().value(); }

  simdjson::padded_string json_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
  std::vector<std::byte> secret_;
  OaeHeader request_salt_, response_salt_;
};

TEST_F(OaeKnownAnswers, KeySchedule) {
  const SecretBytes prk = hkdf_sha256_extract(request_salt_, secret_);
  EXPECT_EQ(to_hex(prk.bytes()), str("prk"));
  // The labels are part of the vectors: a wrong label or a missing NUL would
  // change these.
  const std::string_view request_info{"privatemode oae request key\0", 28};
  EXPECT_EQ(
      to_hex(hkdf_sha256_expand(prk.bytes(), std::as_bytes(std::span(request_info)), 32).bytes()),
      str("request_key"));
}

TEST_F(OaeKnownAnswers, RequesterSealsTheRequestStream) {
  OaeRequester requester(secret_, request_salt_);
  EXPECT_EQ(requester.request_header(), request_salt_);
  for (const auto m : messages("request")) {
    std::string out;
    ASSERT_TRUE(requester.request().seal_with_nonce(
        std::as_bytes(std::span(std::string_view(m["plaintext"]))), bool(m["final"]),
        nonce_of(std::string_view(m["nonce"])), out));
    EXPECT_EQ(hex_of(out), std::string_view(m["sealed"]));
  }
  EXPECT_TRUE(requester.request().closed());
}

TEST_F(OaeKnownAnswers, ResponderOpensTheRequestAndSealsTheResponse) {
  auto responder = OaeResponder::create(secret_, request_salt_, &response_salt_);
  ASSERT_TRUE(responder);
  EXPECT_EQ(responder->response_header(), response_salt_);
  for (const auto m : messages("request")) {
    std::string plain;
    ASSERT_TRUE(responder->request().open(bytes(std::string_view(m["sealed"])), plain));
    EXPECT_EQ(plain, std::string_view(m["plaintext"]));
  }
  EXPECT_TRUE(responder->request().finish());
  for (const auto m : messages("response")) {
    std::string out;
    ASSERT_TRUE(responder->response().seal_with_nonce(
        std::as_bytes(std::span(std::string_view(m["plaintext"]))), bool(m["final"]),
        nonce_of(std::string_view(m["nonce"])), out));
    EXPECT_EQ(hex_of(out), std::string_view(m["sealed"]));
  }
}

TEST_F(OaeKnownAnswers, RequesterOpensTheResponse) {
  OaeRequester requester(secret_, request_salt_);
  auto opener = requester.accept_response(response_salt_);
  ASSERT_TRUE(opener);
  std::string plain;
  for (const auto m : messages("response")) {
    ASSERT_TRUE(opener->open(bytes(std::string_view(m["sealed"])), plain));
  }
  EXPECT_EQ(plain, "data: {}\n\n");
  EXPECT_TRUE(opener->complete());
  EXPECT_TRUE(opener->finish());
}

// A live exchange with random salts and nonces, for the attacks below.
struct Exchange {
  std::vector<std::byte> secret = std::vector<std::byte>(32, std::byte{7});
  OaeRequester requester{secret};
  OaeResponder responder = OaeResponder::create(secret, requester.request_header()).value();
  OaeOpener opener = requester.accept_response(responder.response_header()).value();

  std::string seal_response(std::string_view plaintext, bool final) {
    std::string out;
    EXPECT_TRUE(responder.response().seal(plaintext, final, out));
    return out;
  }
};

TEST(Oae, RoundTripOfManyMessages) {
  Exchange x;
  std::string sealed_request;
  ASSERT_TRUE(
      x.requester.request().seal(std::string_view("{\"model\":\"m\"}"), true, sealed_request));
  EXPECT_EQ(sealed_request.size(), kOaeOverhead + 13);
  std::string request;
  ASSERT_TRUE(x.responder.request().open(sealed_request, request));
  EXPECT_EQ(request, "{\"model\":\"m\"}");
  std::string plain;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(
        x.opener.open(x.seal_response("data: " + std::to_string(i) + "\n\n", false), plain));
  }
  ASSERT_TRUE(x.opener.open(x.seal_response("", true), plain));
  EXPECT_TRUE(x.opener.finish());
  EXPECT_EQ(x.opener.opened(), 101u);
  EXPECT_TRUE(plain.starts_with("data: 0\n\ndata: 1\n\n"));
  EXPECT_TRUE(plain.ends_with("data: 99\n\n"));
}

TEST(Oae, EmptyPlaintextSealsTo29Bytes) {
  Exchange x;
  EXPECT_EQ(x.seal_response("", true).size(), 29u);
}

void expect_error(const Result<void, Error>& r, errc code) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), code) << r.error().message();
}

TEST(Oae, AFlippedBitAnywhereFailsAuthentication) {
  Exchange probe;
  const std::string message = probe.seal_response("data: {\"x\":1}\n\n", false);
  // Every byte after the flag; the flag itself is tested below.
  for (std::size_t i = 1; i < message.size(); ++i) {
    Exchange x;
    std::string m = x.seal_response("data: {\"x\":1}\n\n", false);
    m[i] = static_cast<char>(m[i] ^ 0x01);
    std::string plain;
    expect_error(x.opener.open(m, plain), errc::authentication_failed);
    EXPECT_TRUE(plain.empty()) << "byte " << i;
  }
}

TEST(Oae, AFlippedFlagFailsAuthentication) {
  Exchange x;
  std::string m = x.seal_response("data: a\n\n", false);
  m[0] = 0x01;  // claims to be the last message
  std::string plain;
  expect_error(x.opener.open(m, plain), errc::authentication_failed);
}

TEST(Oae, AFlagOtherThanZeroOrOneIsMalformed) {
  Exchange x;
  std::string m = x.seal_response("data: a\n\n", false);
  m[0] = 0x02;
  std::string plain;
  expect_error(x.opener.open(m, plain), errc::malformed_message);
}

TEST(Oae, AFlippedResponseHeaderFailsAuthentication) {
  std::vector<std::byte> secret(32, std::byte{9});
  OaeRequester requester(secret);
  auto responder = OaeResponder::create(secret, requester.request_header()).value();
  OaeHeader header = responder.response_header();
  header[5] ^= std::byte{0x80};
  auto opener = requester.accept_response(header).value();
  std::string m, plain;
  ASSERT_TRUE(responder.response().seal(std::string_view("x"), true, m));
  expect_error(opener.open(m, plain), errc::authentication_failed);
}

TEST(Oae, AFlippedRequestHeaderFailsAuthentication) {
  std::vector<std::byte> secret(32, std::byte{9});
  OaeRequester requester(secret);
  OaeHeader header = requester.request_header();
  header[0] ^= std::byte{1};
  auto responder = OaeResponder::create(secret, header).value();
  std::string m, plain;
  ASSERT_TRUE(requester.request().seal(std::string_view("{}"), true, m));
  expect_error(responder.request().open(m, plain), errc::authentication_failed);
}

TEST(Oae, ReplayIsRejected) {
  Exchange x;
  const std::string first = x.seal_response("data: a\n\n", false);
  std::string plain;
  ASSERT_TRUE(x.opener.open(first, plain));
  expect_error(x.opener.open(first, plain), errc::authentication_failed);
}

TEST(Oae, ReorderIsRejected) {
  Exchange x;
  const std::string a = x.seal_response("data: a\n\n", false);
  const std::string b = x.seal_response("data: b\n\n", false);
  std::string plain;
  expect_error(x.opener.open(b, plain), errc::authentication_failed);
  (void)a;
}

TEST(Oae, ADroppedMessageIsRejected) {
  Exchange x;
  const std::string a = x.seal_response("data: a\n\n", false);
  const std::string b = x.seal_response("data: b\n\n", false);
  const std::string c = x.seal_response("data: c\n\n", true);
  std::string plain;
  ASSERT_TRUE(x.opener.open(a, plain));
  expect_error(x.opener.open(c, plain), errc::authentication_failed);
  (void)b;
}

TEST(Oae, AMessageOfTheOtherStreamIsRejected) {
  Exchange x;
  // The responder's request stream and response stream both start at seq 0;
  // the keys differ.
  std::string request;
  std::string sealed_request;
  ASSERT_TRUE(x.requester.request().seal(std::string_view("data: a\n\n"), false, sealed_request));
  std::string plain;
  expect_error(x.opener.open(sealed_request, plain), errc::authentication_failed);
}

TEST(Oae, AMessageOfAnotherExchangeIsRejected) {
  Exchange x, y;
  std::string plain;
  expect_error(x.opener.open(y.seal_response("data: a\n\n", false), plain),
               errc::authentication_failed);
}

TEST(Oae, AMessageUnderAnotherSecretIsRejected) {
  std::vector<std::byte> secret(32, std::byte{1}), other(32, std::byte{2});
  OaeRequester requester(secret);
  auto responder = OaeResponder::create(other, requester.request_header()).value();
  std::string m, plain;
  ASSERT_TRUE(requester.request().seal(std::string_view("{}"), true, m));
  expect_error(responder.request().open(m, plain), errc::authentication_failed);
}

TEST(Oae, ShortInputIsMalformed) {
  Exchange x;
  std::string m = x.seal_response("", false);
  m.pop_back();
  std::string plain;
  expect_error(x.opener.open(m, plain), errc::malformed_message);
  expect_error(x.opener.open(std::string_view(), plain), errc::malformed_message);
}

TEST(Oae, AStreamWithoutItsFinalMessageIsTruncated) {
  Exchange x;
  std::string plain;
  expect_error(x.opener.finish(), errc::stream_truncated);
  ASSERT_TRUE(x.opener.open(x.seal_response("data: a\n\n", false), plain));
  expect_error(x.opener.finish(), errc::stream_truncated);
  EXPECT_FALSE(x.opener.complete());
}

TEST(Oae, NothingOpensOrSealsAfterTheFinalMessage) {
  Exchange x;
  std::string plain;
  ASSERT_TRUE(x.opener.open(x.seal_response("", true), plain));
  std::string more;
  expect_error(x.responder.response().seal(std::string_view("x"), false, more),
               errc::stream_closed);
  EXPECT_TRUE(more.empty());
  // Even a well-formed message of the right key at the next position.
  EXPECT_TRUE(x.opener.finish());  // it did end with its final message
  OaeSealer forger(std::vector<std::byte>(32));
  std::string m;
  ASSERT_TRUE(forger.seal(std::string_view("x"), false, m));
  expect_error(x.opener.open(m, plain), errc::stream_closed);
  // Sticky: the misuse is what the stream now reports.
  expect_error(x.opener.finish(), errc::stream_closed);
}

TEST(Oae, ErrorsAreSticky) {
  Exchange x;
  const std::string a = x.seal_response("data: a\n\n", false);
  std::string bad = a;
  bad[20] ^= 1;
  std::string plain;
  expect_error(x.opener.open(bad, plain), errc::authentication_failed);
  // The genuine message no longer helps, and finish reports the failure.
  expect_error(x.opener.open(a, plain), errc::authentication_failed);
  expect_error(x.opener.finish(), errc::authentication_failed);
  EXPECT_TRUE(plain.empty());
}

TEST(Oae, AResponseHeaderIsAcceptedOnce) {
  std::vector<std::byte> secret(32, std::byte{3});
  OaeRequester requester(secret);
  auto responder = OaeResponder::create(secret, requester.request_header()).value();
  // A malformed header still consumes the PRK.
  const std::vector<std::byte> short_header(31);
  auto bad = requester.accept_response(short_header);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::malformed_message);
  auto again = requester.accept_response(responder.response_header());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), errc::cipher_state);
}

TEST(Oae, ASecondAcceptIsRefused) {
  Exchange x;
  auto again = x.requester.accept_response(x.responder.response_header());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), errc::cipher_state);
}

TEST(Oae, SizesAreChecked) {
  const std::vector<std::byte> short_secret(31), secret(32), header(33);
  EXPECT_THROW(OaeRequester{short_secret}, std::invalid_argument);
  auto r = OaeResponder::create(short_secret, std::vector<std::byte>(32));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_length);
  auto h = OaeResponder::create(secret, header);
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error(), errc::malformed_message);
}

}  // namespace
}  // namespace cipherline::crypto
