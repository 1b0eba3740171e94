#include "cipherline/crypto/aes256gcm.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <stdexcept>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"
#include "locked_pool.hpp"
#include "sodium_init.hpp"

namespace cipherline::crypto {
namespace {

using EvpContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

EvpContext new_context() {
  EvpContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

// The cipher, fetched from OpenSSL's providers once: initialising with
// EVP_aes_256_gcm() fetches it again on every key.
const EVP_CIPHER* aes_256_gcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  if (cipher == nullptr) throw std::runtime_error("OpenSSL has no AES-256-GCM");
  return cipher;
}

int as_int(std::size_t n) {
  if (n > static_cast<std::size_t>(INT32_MAX)) throw std::length_error("AES-GCM message too long");
  return static_cast<int>(n);
}

}  // namespace

// Both key schedules. The OpenSSL contexts are templates: each operation
// works on a copy, which keeps seal/open const and thread-safe.
struct Aes256Gcm::Keys {
  crypto_aead_aes256gcm_state* sodium = nullptr;  // in locked memory
  EvpContext encrypt = new_context();
  EvpContext decrypt = new_context();

  Keys() = default;
  Keys(const Keys&) = delete;
  Keys& operator=(const Keys&) = delete;
  ~Keys() { internal::locked_free(sodium, crypto_aead_aes256gcm_statebytes()); }
};

bool Aes256Gcm::libsodium_available() noexcept {
  ensure_sodium();
  static const bool available = crypto_aead_aes256gcm_is_available() == 1;
  return available;
}

Aes256Gcm::Aes256Gcm(std::span<const std::byte> key) : keys_(std::make_unique<Keys>()) {
  if (key.size() != kKeySize) {
    throw std::invalid_argument("AES-256-GCM key must be 32 bytes, got " +
                                std::to_string(key.size()));
  }
  if (libsodium_available()) {
    keys_->sodium = static_cast<crypto_aead_aes256gcm_state*>(
        internal::locked_alloc(crypto_aead_aes256gcm_statebytes()));
    crypto_aead_aes256gcm_beforenm(keys_->sodium, u8(key));
  }
  if (EVP_EncryptInit_ex(keys_->encrypt.get(), aes_256_gcm(), nullptr, u8(key), nullptr) != 1 ||
      EVP_DecryptInit_ex(keys_->decrypt.get(), aes_256_gcm(), nullptr, u8(key), nullptr) != 1) {
    throw std::runtime_error("OpenSSL AES-256-GCM initialisation failed");
  }
}

Aes256Gcm::Aes256Gcm(Aes256Gcm&&) noexcept = default;
Aes256Gcm& Aes256Gcm::operator=(Aes256Gcm&&) noexcept = default;
Aes256Gcm::~Aes256Gcm() = default;

namespace {

bool use_openssl(Aes256Gcm::Backend backend, std::size_t size, bool sodium_ok) {
  switch (backend) {
    case Aes256Gcm::Backend::openssl:
      return true;
    case Aes256Gcm::Backend::libsodium:
      if (!sodium_ok) throw std::invalid_argument("libsodium AES-GCM is not available on this CPU");
      return false;
    case Aes256Gcm::Backend::automatic:
      break;
  }
  return !sodium_ok || size >= Aes256Gcm::kOpenSslFrom;
}

void check_iv(std::span<const std::byte> iv) {
  if (iv.size() != Aes256Gcm::kIvSize) {
    throw std::invalid_argument("AES-GCM IV must be 12 bytes, got " + std::to_string(iv.size()));
  }
}

}  // namespace

void Aes256Gcm::seal(std::span<std::byte> out, std::span<const std::byte> plaintext,
                     std::span<const std::byte> iv, std::span<const std::byte> aad,
                     Backend backend) const {
  check_iv(iv);
  if (out.size() != plaintext.size() + kTagSize) {
    throw std::invalid_argument("AES-GCM seal: output must be plaintext size + 16");
  }
  std::span<std::byte> tag = out.subspan(plaintext.size());
  if (!use_openssl(backend, plaintext.size(), keys_->sodium != nullptr)) {
    crypto_aead_aes256gcm_encrypt_detached_afternm(u8(out), u8(tag), nullptr, u8(plaintext),
                                                   plaintext.size(), u8(aad), aad.size(), nullptr,
                                                   u8(iv), keys_->sodium);
    return;
  }
  EvpContext ctx = new_context();
  int len = 0;
  if (EVP_CIPHER_CTX_copy(ctx.get(), keys_->encrypt.get()) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, u8(iv)) != 1 ||
      (!aad.empty() &&
       EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), as_int(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), u8(out), &len, u8(plaintext), as_int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), u8(out) + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, u8(tag)) != 1) {
    throw std::runtime_error("OpenSSL AES-256-GCM encryption failed");
  }
}

Result<void> Aes256Gcm::open(std::span<std::byte> out, std::span<const std::byte> sealed,
                             std::span<const std::byte> iv, std::span<const std::byte> aad,
                             Backend backend) const {
  check_iv(iv);
  if (sealed.size() < kTagSize || out.size() != sealed.size() - kTagSize) {
    throw std::invalid_argument("AES-GCM open: output must be sealed size - 16");
  }
  std::span<const std::byte> ciphertext = sealed.first(out.size());
  std::span<const std::byte> tag = sealed.subspan(out.size());
  bool ok = false;
  if (!use_openssl(backend, ciphertext.size(), keys_->sodium != nullptr)) {
    ok = crypto_aead_aes256gcm_decrypt_detached_afternm(u8(out), nullptr, u8(ciphertext),
                                                        ciphertext.size(), u8(tag), u8(aad),
                                                        aad.size(), u8(iv), keys_->sodium) == 0;
  } else {
    EvpContext ctx = new_context();
    int len = 0;
    // The tag is set before the data; the const_cast is OpenSSL's API only.
    ok = EVP_CIPHER_CTX_copy(ctx.get(), keys_->decrypt.get()) == 1 &&
         EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, nullptr, u8(iv)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                             const_cast<unsigned char*>(u8(tag))) == 1 &&
         (aad.empty() ||
          EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), as_int(aad.size())) == 1) &&
         EVP_DecryptUpdate(ctx.get(), u8(out), &len, u8(ciphertext), as_int(ciphertext.size())) ==
             1 &&
         EVP_DecryptFinal_ex(ctx.get(), u8(out) + len, &len) == 1;
  }
  if (!ok) {
    sodium_memzero(out.data(), out.size());
    return errc::authentication_failed;
  }
  return {};
}

}  // namespace cipherline::crypto
