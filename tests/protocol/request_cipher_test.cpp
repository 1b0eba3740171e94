// The sequence rules of one exchange (spec §4.3): independent counters, no
// encrypt after decrypt, the server's nonce from the first field, one
// secret ID per request.
#include "cipherline/protocol/request_cipher.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/secret_bytes.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

std::shared_ptr<const InferenceSecret> make_secret(std::string id) {
  const auto key = crypto::SecretBytes::random(32);
  return std::make_shared<const InferenceSecret>(std::move(id), key.bytes());
}

TEST(ExchangeCiphers, ClientAndServerTalk) {
  auto secret = make_secret("secret-A");
  RequestCipher client(secret);
  std::string f0, f1;
  client.seal(R"("gpt")", f0).value();
  client.seal(R"([{"role":"user"}])", f1).value();

  ResponseCipher server(secret);
  std::string p0, p1;
  server.open(f0, p0).value();
  server.open(f1, p1).value();
  EXPECT_EQ(p0, R"("gpt")");
  EXPECT_EQ(p1, R"([{"role":"user"}])");

  std::string r0, r1, r2;
  server.seal("first", r0).value();
  server.seal("second", r1).value();
  server.seal("third", r2).value();
  std::string back;
  client.open(r0, back).value();
  client.open(r1, back).value();
  client.open(r2, back).value();
  EXPECT_EQ(back, "firstsecondthird");
}

TEST(ExchangeCiphers, FieldsOutOfOrderFail) {
  auto secret = make_secret("s");
  RequestCipher client(secret);
  std::string f0, f1;
  client.seal("zero", f0).value();
  client.seal("one", f1).value();
  ResponseCipher server(secret);
  std::string out;
  // The first field decides the nonce but seq 0 does not match f1.
  EXPECT_EQ(server.open(f1, out).error(), errc::authentication_failed);
  // A failed open does not advance: f0 still opens as seq 0.
  server.open(f0, out).value();
  server.open(f1, out).value();
  EXPECT_EQ(out, "zeroone");
}

TEST(ExchangeCiphers, SwappingFieldsBetweenRequestsFails) {
  auto secret = make_secret("s");
  RequestCipher a(secret), b(secret);
  std::string fa0, fa1, fb1;
  a.seal("a0", fa0).value();
  a.seal("a1", fa1).value();
  std::string fb0;
  b.seal("b0", fb0).value();
  b.seal("b1", fb1).value();
  ResponseCipher server(secret);
  std::string out;
  server.open(fa0, out).value();
  EXPECT_EQ(server.open(fb1, out).error(), errc::authentication_failed) << "other request's nonce";
}

TEST(ExchangeCiphers, AReflectedRequestFieldIsNotAResponseField) {
  // Same key, nonce and AAD layout both ways: request field k would
  // authenticate as response field k unless the client refuses its own IVs.
  auto secret = make_secret("s");
  RequestCipher client(secret);
  std::string f0, f1;
  client.seal(R"("user prompt")", f0).value();
  client.seal(R"("more")", f1).value();
  std::string out;
  auto r = client.open(f0, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::authentication_failed);
  EXPECT_NE(r.error().message().find("reflected"), std::string::npos) << r.error().message();
  EXPECT_TRUE(out.empty());
  // A genuine response still opens after the refused one.
  ResponseCipher server(secret);
  std::string ignored, r0;
  server.open(f0, ignored).value();
  server.seal("answer", r0).value();
  client.open(r0, out).value();
  EXPECT_EQ(out, "answer");
}

TEST(ExchangeCiphers, AResponseFieldMustCarryTheRequestNonce) {
  auto secret = make_secret("s");
  RequestCipher client(secret), other(secret);
  std::string f0, g0;
  client.seal("x", f0).value();
  other.seal("y", g0).value();
  ResponseCipher server(secret);
  std::string ignored, r0;
  server.open(f0, ignored).value();
  server.seal("answer", r0).value();
  // Put the other exchange's nonce into the field's nonce component: the
  // AAD uses the client's own nonce, so only the explicit check catches it.
  const auto parsed = parse_field(r0).value();
  const auto foreign = parse_field(g0).value();
  std::string tampered = r0;
  const auto at = tampered.find(':') + 1;
  std::string foreign_hex(g0.substr(g0.find(':') + 1, 24));
  tampered.replace(at, 24, foreign_hex);
  ASSERT_NE(parsed.nonce, foreign.nonce);
  std::string out;
  auto r = client.open(tampered, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::authentication_failed);
  EXPECT_NE(r.error().message().find("nonce"), std::string::npos) << r.error().message();
  client.open(r0, out).value();
  EXPECT_EQ(out, "answer");
}

TEST(ExchangeCiphers, RequestCipherRefusesToEncryptAfterDecrypting) {
  auto secret = make_secret("s");
  RequestCipher client(secret);
  std::string f;
  client.seal("x", f).value();
  ResponseCipher server(secret);
  std::string out;
  server.open(f, out).value();
  std::string r;
  server.seal("y", r).value();
  client.open(r, out).value();
  std::string late;
  auto e = client.seal("late", late);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), errc::cipher_state);
  EXPECT_TRUE(late.empty());
}

TEST(ExchangeCiphers, ResponseCipherOrderRules) {
  auto secret = make_secret("s");
  ResponseCipher server(secret);
  std::string out;
  auto early = server.seal("no request yet", out);
  EXPECT_EQ(early.error(), errc::cipher_state);
  EXPECT_EQ(early.error().message(),
            "cannot encrypt a response before decrypting a request field (no nonce yet)");

  RequestCipher client(secret);
  std::string f0, f1;
  client.seal("0", f0).value();
  client.seal("1", f1).value();
  server.open(f0, out).value();
  server.seal("r", out).value();
  EXPECT_EQ(server.open(f1, out).error(), errc::cipher_state);
}

TEST(ExchangeCiphers, OneSecretIdPerExchange) {
  auto a = make_secret("secret-A");
  auto b = make_secret("secret-B");
  RequestCipher client_b(b);
  std::string f;
  client_b.seal("x", f).value();
  ResponseCipher server_a(a);
  std::string out;
  auto r = server_a.open(f, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::secret_id_mismatch);
  EXPECT_EQ(r.error().message(),
            "field is encrypted for secret 'secret-B', this exchange uses 'secret-A'");
}

TEST(ExchangeCiphers, LaterFieldsNonceComponentIsIgnoredByTheServer) {
  auto secret = make_secret("s");
  const FieldNonce nonce{std::byte{9}};
  RequestCipher client(secret, nonce);
  std::string f0, f1;
  client.seal("a", f0).value();
  client.seal("b", f1).value();
  // Rewrite the nonce component of the second field: the server uses the
  // nonce of the first field, so the field still authenticates.
  const std::size_t at = f1.find(':') + 1;
  f1.replace(at, 24, std::string(24, 'f'));
  ResponseCipher server(secret);
  std::string out;
  server.open(f0, out).value();
  server.open(f1, out).value();
  EXPECT_EQ(out, "ab");
}

TEST(SecretId, IsBase64OfSha256OfThePublicKey) {
  const std::string_view pk = "abc";
  // SHA-256("abc") = ba7816bf…; its base64:
  EXPECT_EQ(secret_id_for(std::as_bytes(std::span(pk))),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  EXPECT_EQ(secret_id_for(std::as_bytes(std::span(pk))).size(), 44u);
}

}  // namespace
}  // namespace cipherline::protocol
