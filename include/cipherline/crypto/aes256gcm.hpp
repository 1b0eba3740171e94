// Aes256Gcm: AES-256-GCM with a fixed key, 12-byte IVs and 16-byte tags.
//
//   Aes256Gcm aead(key);                       // 32-byte key; expands it once
//   aead.seal(out, plaintext, iv, aad);        // out = ciphertext ‖ tag
//   if (!aead.open(plain, out, iv, aad)) ...   // authentication failed
//
// WARNING: an (key, IV) pair must never be used twice; with GCM a repeated IV
// reveals the XOR of the plaintexts and lets an attacker forge tags. Take IVs
// from random_bytes() (96 random bits: stay well below 2^32 messages per key).
//
// Contract:
// - Two implementations, chosen per message size: libsodium's AES-NI code
//   with its precomputed key state (fastest for small messages, the token
//   hot path) and OpenSSL's EVP (fastest for large ones); `kOpenSslFrom` is
//   the measured crossover (see docs/benchmarks.md). Without AES-NI and
//   PCLMUL, libsodium's code is unavailable and OpenSSL serves every size.
//   Both produce identical output; tests check each against the other.
// - The expanded key lives in sodium_malloc memory (locked, zeroed on free)
//   and in an OpenSSL context that cleanses itself; the object is move-only.
// - Thread-safe: seal and open are const and may run concurrently.
// - seal and open take the output buffer from the caller and allocate
//   nothing for messages below `kOpenSslFrom`. In-place operation (out and
//   in the same buffer) is allowed; partial overlap is not.
// - open never releases unauthenticated plaintext: on failure the output is
//   zeroed and the result is crypto::errc::authentication_failed.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

class Aes256Gcm {
 public:
  static constexpr std::size_t kKeySize = 32;
  static constexpr std::size_t kIvSize = 12;
  static constexpr std::size_t kTagSize = 16;
  // Messages of at least this many bytes go to OpenSSL.
  static constexpr std::size_t kOpenSslFrom = 2560;

  enum class Backend { automatic, libsodium, openssl };

  // Throws std::invalid_argument unless key.size() == kKeySize.
  explicit Aes256Gcm(std::span<const std::byte> key);
  Aes256Gcm(Aes256Gcm&&) noexcept;
  Aes256Gcm& operator=(Aes256Gcm&&) noexcept;
  ~Aes256Gcm();

  // seal encrypts `plaintext` into `out`, which must hold plaintext.size() +
  // kTagSize bytes (ciphertext, then tag). Throws std::invalid_argument on
  // wrong buffer or IV sizes (a programming error).
  void seal(std::span<std::byte> out, std::span<const std::byte> plaintext,
            std::span<const std::byte> iv, std::span<const std::byte> aad,
            Backend backend = Backend::automatic) const;

  // open authenticates and decrypts `sealed` (ciphertext ‖ tag) into `out`,
  // which must hold sealed.size() - kTagSize bytes.
  Result<void> open(std::span<std::byte> out, std::span<const std::byte> sealed,
                    std::span<const std::byte> iv, std::span<const std::byte> aad,
                    Backend backend = Backend::automatic) const;

  // Whether this CPU runs libsodium's AES-GCM (AES-NI and PCLMUL).
  static bool libsodium_available() noexcept;

 private:
  struct Keys;
  std::unique_ptr<Keys> keys_;
};

}  // namespace cipherline::crypto
