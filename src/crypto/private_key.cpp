#include "cipherline/crypto/private_key.hpp"

#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"

namespace cipherline::crypto {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using MdContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Error key_error(const std::string& why) { return Error(errc::unsupported, "private key: " + why); }

const EVP_MD* md_of(Hash hash) {
  switch (hash) {
    case Hash::sha256:
      return EVP_sha256();
    case Hash::sha384:
      return EVP_sha384();
    case Hash::sha512:
      return EVP_sha512();
  }
  return EVP_sha384();
}

}  // namespace

Result<PrivateKey, Error> PrivateKey::generate(KeyType type) {
  EVP_PKEY* key = nullptr;
  switch (type) {
    case KeyType::ec_p256:
      key = EVP_EC_gen("P-256");
      break;
    case KeyType::ec_p384:
      key = EVP_EC_gen("P-384");
      break;
    case KeyType::rsa_3072:
      key = EVP_RSA_gen(3072);
      break;
    case KeyType::rsa_4096:
      key = EVP_RSA_gen(4096);
      break;
  }
  if (key == nullptr) return key_error("key generation failed");
  return PrivateKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

Result<PrivateKey, Error> PrivateKey::from_pem(std::span<const std::byte> pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return Error(errc::invalid_public_key, "not a PEM private key");
  return PrivateKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

PublicKey PrivateKey::public_key() const {
  // The public half, as its own object (no private material shared).
  unsigned char* der = nullptr;
  const int size = i2d_PUBKEY(key_.get(), &der);
  const unsigned char* p = der;
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, size);
  OPENSSL_free(der);
  return PublicKey(std::shared_ptr<EVP_PKEY>(pub, &EVP_PKEY_free));
}

bool PrivateKey::matches(const PublicKey& key) const noexcept {
  return EVP_PKEY_eq(key_.get(), key.native()) == 1;
}

SecretBytes PrivateKey::to_pem() const {
  Bio bio(BIO_new(BIO_s_secmem()), &BIO_free);
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes::copy_of(
      std::as_bytes(std::span(data, static_cast<std::size_t>(size > 0 ? size : 0))));
}

Result<std::vector<std::byte>, Error> PrivateKey::sign_ecdsa(Hash hash,
                                                             std::span<const std::byte> message,
                                                             SignatureFormat format) const {
  const PublicKey pub = public_key();
  if (pub.type() != PublicKey::Type::ec_p256 && pub.type() != PublicKey::Type::ec_p384) {
    return key_error("ECDSA needs an EC key, this is " + pub.description());
  }
  MdContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md_of(hash), nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, u8(message), message.size()) != 1) {
    return key_error("ECDSA signing failed");
  }
  std::vector<unsigned char> der(size);
  if (EVP_DigestSign(ctx.get(), der.data(), &size, u8(message), message.size()) != 1) {
    return key_error("ECDSA signing failed");
  }
  der.resize(size);
  if (format == SignatureFormat::der) {
    return std::vector<std::byte>(reinterpret_cast<std::byte*>(der.data()),
                                  reinterpret_cast<std::byte*>(der.data() + der.size()));
  }
  const unsigned char* p = der.data();
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(
      d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), &ECDSA_SIG_free);
  const int half = pub.type() == PublicKey::Type::ec_p384 ? 48 : 32;
  std::vector<std::byte> raw(static_cast<std::size_t>(2 * half));
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), u8(std::span(raw).first(half)), half);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), u8(std::span(raw).subspan(half)), half);
  return raw;
}

Result<std::vector<std::byte>, Error> PrivateKey::sign_ecdsa_prehashed(
    std::span<const std::byte> digest) const {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key_.get(), nullptr), &EVP_PKEY_CTX_free);
  std::size_t size = 0;
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_sign(ctx.get(), nullptr, &size, u8(digest), digest.size()) != 1) {
    return key_error("ECDSA signing needs an EC key");
  }
  std::vector<std::byte> signature(size);
  if (EVP_PKEY_sign(ctx.get(), u8(std::span(signature)), &size, u8(digest), digest.size()) != 1) {
    return key_error("ECDSA signing failed");
  }
  signature.resize(size);
  return signature;
}

Result<std::vector<std::byte>, Error> PrivateKey::sign_rsa_pss_sha384(
    std::span<const std::byte> message) const {
  MdContext ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key_.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 ||
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, u8(message), message.size()) != 1) {
    return key_error("RSA-PSS signing needs an RSA key");
  }
  std::vector<std::byte> signature(size);
  if (EVP_DigestSign(ctx.get(), u8(std::span(signature)), &size, u8(message), message.size()) !=
      1) {
    return key_error("RSA-PSS signing failed");
  }
  signature.resize(size);
  return signature;
}

}  // namespace cipherline::crypto
