// ECDSA public-key recovery: for signatures OpenSSL makes with fresh keys,
// one recovered candidate is the signer's key; bad scalars are rejected.
#include "cipherline/crypto/ecdsa_recovery.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <algorithm>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/sha512.hpp"

namespace cipherline::crypto {
namespace {

struct Signed {
  std::vector<std::byte> public_xy;  // x ‖ y
  std::vector<std::byte> r, s;
};

Signed sign_with_fresh_key(const char* curve, std::span<const std::byte> digest) {
  EVP_PKEY* key = EVP_EC_gen(curve);
  unsigned char point[133];
  std::size_t point_size = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_size);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key, nullptr);
  EVP_PKEY_sign_init(ctx);
  unsigned char der[160];
  std::size_t der_size = sizeof der;
  EVP_PKEY_sign(ctx, der, &der_size, reinterpret_cast<const unsigned char*>(digest.data()),
                digest.size());
  const unsigned char* p = der;
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_size));
  const std::size_t half = (point_size - 1) / 2;
  Signed out;
  out.public_xy.assign(reinterpret_cast<std::byte*>(point + 1),
                       reinterpret_cast<std::byte*>(point + point_size));
  out.r.resize(half);
  out.s.resize(half);
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.r.data()),
               static_cast<int>(half));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.s.data()),
               static_cast<int>(half));
  ECDSA_SIG_free(sig);
  EVP_PKEY_CTX_free(ctx);
  EVP_PKEY_free(key);
  return out;
}

TEST(EcdsaRecovery, OneCandidateIsTheSigner) {
  const std::string message = "recover me";
  const auto digest = sha384(std::as_bytes(std::span(message.data(), message.size())));
  for (auto [name, curve] : {std::pair{"P-384", Curve::p384}, std::pair{"P-256", Curve::p256}}) {
    for (int i = 0; i < 8; ++i) {
      const Signed s = sign_with_fresh_key(name, digest);
      const auto keys = recover_ecdsa_public_keys(curve, digest, s.r, s.s).value();
      EXPECT_FALSE(keys.empty());
      EXPECT_NE(std::find(keys.begin(), keys.end(), s.public_xy), keys.end()) << name;
    }
  }
}

TEST(EcdsaRecovery, ScalarsOutOfRangeAreRejected) {
  const auto digest = sha384(std::span<const std::byte>());
  const std::byte zero[] = {std::byte{0}};
  const std::byte one[] = {std::byte{1}};
  std::vector<std::byte> huge(49, std::byte{0xff});
  auto r = recover_ecdsa_public_keys(Curve::p384, digest, zero, one);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_length);
  EXPECT_FALSE(recover_ecdsa_public_keys(Curve::p384, digest, one, huge));
}

}  // namespace
}  // namespace cipherline::crypto
