// The key exchange, both sides: the service's offer and the client's
// acceptance agree on the secret and its ID; each way the client must refuse
// an offer is refused with the step named; the JSON bodies round-trip.
#include "cipherline/protocol/secret_exchange.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/error.hpp"

namespace cipherline::protocol {
namespace {

using namespace std::chrono;

const system_clock::time_point kNow = system_clock::now();

struct Mesh {
  crypto::PrivateKey ca_key;
  crypto::Certificate ca;
  crypto::PrivateKey key;
  crypto::Certificate certificate;
};

// A mesh CA and a leaf it issued, for the usages Contrast gives workloads
// unless `usages` says otherwise.
Mesh make_mesh(crypto::KeyType leaf_type = crypto::KeyType::ec_p256,
               std::vector<std::string> usages = {"serverAuth", "clientAuth"}) {
  auto ca_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  auto ca = crypto::issue_certificate({.subject = {{"CN", "system:coordinator:intermediate"}},
                                       .public_key = ca_key.public_key(),
                                       .not_before = kNow - hours(1),
                                       .not_after = kNow + hours(24),
                                       .ca = true},
                                      ca_key, nullptr, crypto::Signature::ecdsa_sha256)
                .value();
  auto key = crypto::PrivateKey::generate(leaf_type).value();
  auto certificate = crypto::issue_certificate({.subject = {{"CN", "secret-service"}},
                                                .public_key = key.public_key(),
                                                .not_before = kNow - hours(1),
                                                .not_after = kNow + hours(24),
                                                .serial = 2,
                                                .dns_names = {"secret-service"},
                                                .extended_key_usage = std::move(usages)},
                                               ca_key, &ca, crypto::Signature::ecdsa_sha256)
                         .value();
  return {ca_key, ca, key, certificate};
}

TEST(SecretExchange, BothSidesAgree) {
  const Mesh mesh = make_mesh();
  const auto keys = crypto::xwing_generate();
  // Over the wire, as JSON, both ways.
  const auto pk = parse_secret_request(secret_request_json(keys.public_key)).value();
  ASSERT_EQ(pk, keys.public_key);
  const SecretOffer offer = offer_secret(pk, mesh.key, mesh.certificate).value();
  EXPECT_EQ(offer.response.encapsulated_key.size(), 1120u);
  const SecretResponse response =
      parse_secret_response(secret_response_json(offer.response)).value();
  const auto secret = accept_secret(keys, response, mesh.ca, kNow).value();
  EXPECT_EQ(secret->id(), offer.secret->id());
  EXPECT_EQ(secret->id(), secret_id_for(keys.public_key));
  EXPECT_EQ(secret->key(), offer.secret->key());
  EXPECT_EQ(secret->key().size(), 32u);
  // A second exchange gives another secret.
  const SecretOffer again = offer_secret(pk, mesh.key, mesh.certificate).value();
  EXPECT_FALSE(again.secret->key() == offer.secret->key());
}

TEST(SecretExchange, TheClientRefusesWhatItCannotTrust) {
  const Mesh mesh = make_mesh();
  const auto keys = crypto::xwing_generate();
  const SecretOffer offer = offer_secret(keys.public_key, mesh.key, mesh.certificate).value();
  const auto refused = [&](SecretResponse response, const crypto::Certificate& ca) {
    auto r = accept_secret(keys, response, ca, kNow);
    EXPECT_FALSE(r);
    return r ? std::string() : r.error().message();
  };
  // A signature over something else.
  SecretResponse tampered = offer.response;
  tampered.encapsulated_key[0] ^= std::byte{1};
  EXPECT_EQ(refused(tampered, mesh.ca), "secret exchange: invalid signature");
  // A signature by another key, presented with the genuine certificate.
  const Mesh other = make_mesh();
  SecretResponse foreign =
      offer_secret(keys.public_key, other.key, mesh.certificate).value().response;
  EXPECT_EQ(refused(foreign, mesh.ca), "secret exchange: invalid signature");
  // A certificate from another mesh CA.
  EXPECT_NE(refused(offer.response, other.ca).find("does not chain to the mesh CA"),
            std::string::npos);
  // Expired mesh CA at the time of use.
  auto late = accept_secret(keys, offer.response, mesh.ca, kNow + hours(48));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), crypto::errc::certificate_invalid);
  // A mesh certificate with an RSA key.
  const Mesh rsa = make_mesh(crypto::KeyType::rsa_3072);
  const SecretOffer rsa_offer = [&] {
    SecretOffer o = offer_secret(keys.public_key, mesh.key, rsa.certificate).value();
    return o;
  }();
  EXPECT_NE(refused(rsa_offer.response, rsa.ca).find("not ECDSA"), std::string::npos);
  // A mesh certificate without the extended key usage, and one for
  // clientAuth only: not a certificate the secret service may answer with.
  for (const auto& usages : {std::vector<std::string>{}, std::vector<std::string>{"clientAuth"}}) {
    const Mesh narrow = make_mesh(crypto::KeyType::ec_p256, usages);
    const SecretOffer narrow_offer =
        offer_secret(keys.public_key, narrow.key, narrow.certificate).value();
    const std::string why = refused(narrow_offer.response, narrow.ca);
    EXPECT_NE(why.find("extended key usage lacks serverAuth"), std::string::npos) << why;
    EXPECT_NE(why.find(usages.empty() ? "no such extension" : "1.3.6.1.5.5.7.3.2"),
              std::string::npos)
        << why;
  }
  // Garbage instead of a certificate.
  SecretResponse garbage = offer.response;
  garbage.mesh_certificate = {std::byte{0x30}, std::byte{0x00}};
  EXPECT_NE(refused(garbage, mesh.ca).find("does not parse"), std::string::npos);
}

TEST(SecretExchange, AnAnswerForAnotherPublicKeyIsRefused) {
  const Mesh mesh = make_mesh();
  const auto a = crypto::xwing_generate();
  const auto b = crypto::xwing_generate();
  // A genuine, signed answer to A's request, replayed to B (whose request
  // the attacker withheld from the service).
  const SecretOffer for_a = offer_secret(a.public_key, mesh.key, mesh.certificate).value();
  ASSERT_TRUE(accept_secret(a, for_a.response, mesh.ca, kNow));
  auto replayed = accept_secret(b, for_a.response, mesh.ca, kNow);
  ASSERT_FALSE(replayed);
  EXPECT_EQ(replayed.error(), crypto::errc::signature_invalid);
  EXPECT_EQ(replayed.error().message(), "secret exchange: invalid signature");
}

TEST(SecretExchange, MalformedBodiesAreNamed) {
  EXPECT_EQ(parse_secret_request("{}").error().message(),
            "secret exchange: the secret request lacks the string field \"PublicKey\"");
  EXPECT_NE(parse_secret_request("{").error().message().find("is not JSON"), std::string::npos);
  EXPECT_NE(parse_secret_response(R"({"EncapsulatedKey":"!!","Signature":"","MeshCert":""})")
                .error()
                .message()
                .find("field \"EncapsulatedKey\""),
            std::string::npos);
  // The service refuses a public key of the wrong size.
  const Mesh mesh = make_mesh();
  const std::vector<std::byte> short_key(100);
  EXPECT_FALSE(offer_secret(short_key, mesh.key, mesh.certificate));
}

}  // namespace
}  // namespace cipherline::protocol
