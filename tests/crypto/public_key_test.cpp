// Signature verification: ECDSA P-256/P-384 (DER and raw r‖s, messages and
// prehashed digests) and RSA-PSS SHA-384, with tampering and misuse.
#include "cipherline/crypto/public_key.hpp"

#include <gtest/gtest.h>
#include <openssl/ec.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "test_bytes.hpp"
#include "test_keys.hpp"

namespace cipherline::crypto {
namespace {

using testing::text_bytes;

// raw r ‖ s from a DER ECDSA signature.
std::vector<std::byte> raw_of(std::span<const std::byte> der, std::size_t half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
  std::vector<std::byte> raw(2 * half);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()),
               static_cast<int>(half));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(raw.data()) + half,
               static_cast<int>(half));
  return raw;
}

struct CurveCase {
  const char* name;
  const EVP_MD* md;
  Hash hash;
  std::size_t half;
  PublicKey::Type type;
};

class Ecdsa : public ::testing::TestWithParam<int> {
 protected:
  CurveCase curve() const {
    return GetParam() == 256
               ? CurveCase{"P-256", EVP_sha256(), Hash::sha256, 32, PublicKey::Type::ec_p256}
               : CurveCase{"P-384", EVP_sha384(), Hash::sha384, 48, PublicKey::Type::ec_p384};
  }
};

TEST_P(Ecdsa, DerAndRawSignaturesVerify) {
  const CurveCase c = curve();
  const auto key = testing::make_ec_key(c.name);
  const PublicKey pub = testing::public_of(key);
  EXPECT_EQ(pub.type(), c.type);
  const auto message = text_bytes("attestation report body");
  const auto der = testing::sign_message(key, c.md, message);
  EXPECT_TRUE(verify_ecdsa(pub, c.hash, message, der));
  EXPECT_TRUE(verify_ecdsa(pub, c.hash, message, raw_of(der, c.half), SignatureFormat::raw));

  auto tampered = verify_ecdsa(pub, c.hash, text_bytes("attestation report bodY"), der);
  ASSERT_FALSE(tampered);
  EXPECT_EQ(tampered.error(), errc::signature_invalid);
  EXPECT_EQ(tampered.error().message(), "ECDSA signature does not verify");
  auto wrong_len =
      verify_ecdsa(pub, c.hash, message, std::span(der).first(10), SignatureFormat::raw);
  EXPECT_NE(wrong_len.error().message().find("raw ECDSA signature must be"), std::string::npos);
  EXPECT_FALSE(verify_ecdsa(pub, c.hash, message, std::span(der).first(der.size() - 1)));
}

TEST_P(Ecdsa, PrehashedDigestsAreNotHashedAgain) {
  const CurveCase c = curve();
  const auto key = testing::make_ec_key(c.name);
  const PublicKey pub = testing::public_of(key);
  // The secret service signs SHA-256(pk ‖ enc) as a prehashed digest: the
  // same as signing the message with SHA-256.
  const auto pk_and_enc = text_bytes("public key bytes, then enc bytes");
  const auto der = testing::sign_message(key, EVP_sha256(), pk_and_enc);
  const auto digest = sha256(pk_and_enc);
  EXPECT_TRUE(verify_ecdsa_prehashed(pub, digest, der));
  EXPECT_TRUE(verify_ecdsa_prehashed(pub, digest, raw_of(der, c.half), SignatureFormat::raw));
  // Hashing the digest again must not verify.
  EXPECT_FALSE(verify_ecdsa_prehashed(pub, sha256(digest), der));
}

INSTANTIATE_TEST_SUITE_P(Curves, Ecdsa, ::testing::Values(256, 384));

TEST(PublicKey, EcPointRoundTrip) {
  const auto key = testing::make_ec_key("P-256");
  std::vector<unsigned char> point(65);
  std::size_t len = 0;
  EVP_PKEY_get_octet_string_param(key.get(), "encoded-pub-key", point.data(), point.size(), &len);
  ASSERT_EQ(len, 65u);
  const auto xy = std::as_bytes(std::span(point)).subspan(1);
  const PublicKey from_point = PublicKey::from_ec_point(Curve::p256, xy).value();
  const auto message = text_bytes("quote");
  EXPECT_TRUE(verify_ecdsa(from_point, Hash::sha256, message,
                           testing::sign_message(key, EVP_sha256(), message)));

  std::vector<std::byte> off_curve(xy.begin(), xy.end());
  off_curve[63] ^= std::byte{1};
  EXPECT_EQ(PublicKey::from_ec_point(Curve::p256, off_curve).error(), errc::invalid_public_key);
  EXPECT_EQ(PublicKey::from_ec_point(Curve::p384, xy).error().message(),
            "EC point must be 96 bytes (x ‖ y), got 64");
}

TEST(RsaPss, Sha384Verifies) {
  const auto key = testing::make_rsa_key(2048);
  const PublicKey pub = testing::public_of(key);
  EXPECT_EQ(pub.description(), "RSA 2048");
  const auto message = text_bytes("ASK to-be-signed");
  const auto sig = testing::sign_message(key, EVP_sha384(), message, /*pss=*/true);
  EXPECT_TRUE(verify_rsa_pss_sha384(pub, message, sig));
  auto bad = verify_rsa_pss_sha384(pub, text_bytes("ASK to-be-signeD"), sig);
  EXPECT_EQ(bad.error().message(), "RSA-PSS signature does not verify");
  // PKCS#1 v1.5 is not PSS.
  EXPECT_FALSE(
      verify_rsa_pss_sha384(pub, message, testing::sign_message(key, EVP_sha384(), message)));
}

TEST(KeyTypes, MismatchesAreNamed) {
  const PublicKey rsa = testing::public_of(testing::make_rsa_key(2048));
  const PublicKey ec = testing::public_of(testing::make_ec_key("P-256"));
  const auto m = text_bytes("m");
  EXPECT_EQ(verify_ecdsa(rsa, Hash::sha256, m, m).error().message(),
            "ECDSA needs an EC P-256 or P-384 key, got RSA 2048");
  EXPECT_EQ(verify_rsa_pss_sha384(ec, m, m).error().message(),
            "RSA-PSS needs an RSA key, got EC P-256");
  const std::byte junk[] = {std::byte{1}, std::byte{2}};
  EXPECT_EQ(PublicKey::from_spki_der(junk).error(), errc::invalid_public_key);
}

}  // namespace
}  // namespace cipherline::crypto
