#include "cipherline/crypto/hkdf.hpp"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>

namespace cipherline::crypto {
namespace {

using KdfContext = std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)>;

KdfContext hkdf_context() {
  // Fetching an algorithm searches OpenSSL's providers; do it once.
  static EVP_KDF* const kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) throw std::runtime_error("OpenSSL has no HKDF");
  KdfContext ctx(EVP_KDF_CTX_new(kdf), &EVP_KDF_CTX_free);
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

// OpenSSL's parameter API takes non-const pointers it does not write through.
void* mutable_data(std::span<const std::byte> s) { return const_cast<std::byte*>(s.data()); }

SecretBytes derive(int mode, std::span<const std::byte> key,
                   std::span<const std::byte> salt_or_info, std::size_t length) {
  KdfContext ctx = hkdf_context();
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
  params[n++] =
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, mutable_data(key), key.size());
  if (!salt_or_info.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(
        mode == EVP_KDF_HKDF_MODE_EXTRACT_ONLY ? OSSL_KDF_PARAM_SALT : OSSL_KDF_PARAM_INFO,
        mutable_data(salt_or_info), salt_or_info.size());
  }
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(length);
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.writable_bytes().data()),
                     out.size(), params) != 1) {
    throw std::runtime_error("HKDF-SHA256 failed");
  }
  return out;
}

}  // namespace

SecretBytes hkdf_sha256_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm) {
  return derive(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, 32);
}

SecretBytes hkdf_sha256_expand(std::span<const std::byte> prk, std::span<const std::byte> info,
                               std::size_t length) {
  if (length == 0 || length > 255 * 32) {
    throw std::invalid_argument("HKDF-SHA256 output length must be 1..8160, got " +
                                std::to_string(length));
  }
  return derive(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, info, length);
}

}  // namespace cipherline::crypto
