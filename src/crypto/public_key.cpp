#include "cipherline/crypto/public_key.hpp"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstdio>
#include <vector>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"
#include "openssl_error.hpp"

namespace cipherline::crypto {
namespace {

using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using MdContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Error key_error(const std::string& what) {
  const std::string reason = openssl_reason();
  return Error(errc::invalid_public_key, reason.empty() ? what : what + ": " + reason);
}

Error bad_signature(const char* what) {
  openssl_reason();  // clear the queue
  return Error(errc::signature_invalid, std::string(what) + " signature does not verify");
}

const EVP_MD* digest_of(Hash h) {
  switch (h) {
    case Hash::sha256:
      return EVP_sha256();
    case Hash::sha384:
      return EVP_sha384();
    case Hash::sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

std::size_t coordinate_size(PublicKey::Type t) { return t == PublicKey::Type::ec_p384 ? 48 : 32; }

// The DER form of an ECDSA signature given as raw r ‖ s.
Result<std::vector<unsigned char>, Error> der_from_raw(const PublicKey& key,
                                                       std::span<const std::byte> raw) {
  const std::size_t half = coordinate_size(key.type());
  if (raw.size() != 2 * half) {
    return Error(errc::signature_invalid,
                 "raw ECDSA signature must be " + std::to_string(2 * half) + " bytes (r ‖ s) for " +
                     key.description() + ", got " + std::to_string(raw.size()));
  }
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), &ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(u8(raw.first(half)), static_cast<int>(half), nullptr);
  BIGNUM* s = BN_bin2bn(u8(raw.subspan(half)), static_cast<int>(half), nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    throw std::bad_alloc();
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  std::vector<unsigned char> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_ECDSA_SIG(sig.get(), &p);
  return der;
}

Result<void, Error> require_ec(const PublicKey& key) {
  if (key.type() == PublicKey::Type::ec_p256 || key.type() == PublicKey::Type::ec_p384) return {};
  return Error(errc::invalid_public_key,
               "ECDSA needs an EC P-256 or P-384 key, got " + key.description());
}

// ecdsa_der checks that `key` is an ECDSA key and returns the signature in
// DER, converting it from raw r ‖ s if need be.
Result<std::vector<unsigned char>, Error> ecdsa_der(const PublicKey& key,
                                                    std::span<const std::byte> signature,
                                                    SignatureFormat format) {
  if (auto r = require_ec(key); !r) return r.error();
  if (format == SignatureFormat::raw) return der_from_raw(key, signature);
  return std::vector<unsigned char>(u8(signature), u8(signature) + signature.size());
}

}  // namespace

Result<PublicKey, Error> PublicKey::from_spki_der(std::span<const std::byte> der) {
  const unsigned char* p = u8(der);
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (key == nullptr) return key_error("not a DER SubjectPublicKeyInfo");
  return PublicKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

std::vector<std::byte> PublicKey::spki_der() const {
  const int size = i2d_PUBKEY(key_.get(), nullptr);
  if (size <= 0) return {};
  std::vector<std::byte> der(static_cast<std::size_t>(size));
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key_.get(), &p);
  return der;
}

Result<PublicKey, Error> PublicKey::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return key_error("not a PEM public key");
  return PublicKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

Result<PublicKey, Error> PublicKey::from_ec_point(Curve curve, std::span<const std::byte> xy) {
  const std::size_t half = curve == Curve::p384 ? 48 : 32;
  if (xy.size() != 2 * half) {
    return Error(errc::invalid_length, "EC point must be " + std::to_string(2 * half) +
                                           " bytes (x ‖ y), got " + std::to_string(xy.size()));
  }
  std::vector<unsigned char> point(1 + xy.size());
  point[0] = 0x04;  // uncompressed
  std::copy(u8(xy), u8(xy) + xy.size(), point.begin() + 1);
  char group[16];
  std::snprintf(group, sizeof group, "%s", curve == Curve::p384 ? "P-384" : "P-256");
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  PkeyContext ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return key_error("EC point is not on the curve");
  }
  return PublicKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

PublicKey::Type PublicKey::type() const noexcept {
  if (!key_) return Type::other;
  if (EVP_PKEY_is_a(key_.get(), "RSA") || EVP_PKEY_is_a(key_.get(), "RSA-PSS")) return Type::rsa;
  if (!EVP_PKEY_is_a(key_.get(), "EC")) return Type::other;
  char group[32] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &len) != 1) {
    return Type::other;
  }
  const std::string_view g(group, len);
  if (g == "prime256v1" || g == "P-256") return Type::ec_p256;
  if (g == "secp384r1" || g == "P-384") return Type::ec_p384;
  return Type::other;
}

std::string PublicKey::description() const {
  if (!key_) return "no key";
  switch (type()) {
    case Type::ec_p256:
      return "EC P-256";
    case Type::ec_p384:
      return "EC P-384";
    case Type::rsa:
      return "RSA " + std::to_string(EVP_PKEY_get_bits(key_.get()));
    case Type::other:
      break;
  }
  return std::string(EVP_PKEY_get0_type_name(key_.get()) ? EVP_PKEY_get0_type_name(key_.get())
                                                         : "unknown") +
         " key";
}

Result<void, Error> verify_ecdsa(const PublicKey& key, Hash hash,
                                 std::span<const std::byte> message,
                                 std::span<const std::byte> signature, SignatureFormat format) {
  auto der = ecdsa_der(key, signature, format);
  if (!der) return der.error();
  MdContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx ||
      EVP_DigestVerifyInit(ctx.get(), nullptr, digest_of(hash), nullptr, key.native()) != 1) {
    return key_error("cannot verify with " + key.description());
  }
  if (EVP_DigestVerify(ctx.get(), der->data(), der->size(), u8(message), message.size()) != 1) {
    return bad_signature("ECDSA");
  }
  return {};
}

Result<void, Error> verify_ecdsa_prehashed(const PublicKey& key, std::span<const std::byte> digest,
                                           std::span<const std::byte> signature,
                                           SignatureFormat format) {
  auto der = ecdsa_der(key, signature, format);
  if (!der) return der.error();
  PkeyContext ctx(EVP_PKEY_CTX_new(key.native(), nullptr), &EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
    return key_error("cannot verify with " + key.description());
  }
  if (EVP_PKEY_verify(ctx.get(), der->data(), der->size(), u8(digest), digest.size()) != 1) {
    return bad_signature("ECDSA");
  }
  return {};
}

Result<void, Error> verify_rsa_pss_sha384(const PublicKey& key, std::span<const std::byte> message,
                                          std::span<const std::byte> signature) {
  if (key.type() != PublicKey::Type::rsa) {
    return Error(errc::invalid_public_key, "RSA-PSS needs an RSA key, got " + key.description());
  }
  MdContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key.native()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1) {
    return key_error("cannot verify RSA-PSS with " + key.description());
  }
  if (EVP_DigestVerify(ctx.get(), u8(signature), signature.size(), u8(message), message.size()) !=
      1) {
    return bad_signature("RSA-PSS");
  }
  return {};
}

}  // namespace cipherline::crypto
