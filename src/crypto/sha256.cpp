#include "cipherline/crypto/sha256.hpp"

#include <sodium.h>

#include "byte_access.hpp"
#include "sodium_init.hpp"

namespace cipherline::crypto {
namespace {}  // namespace

Sha256Digest sha256(std::span<const std::byte> data) noexcept { return sha256({data}); }

Sha256Digest sha256(std::initializer_list<std::span<const std::byte>> parts) noexcept {
  ensure_sodium();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  for (auto part : parts) crypto_hash_sha256_update(&state, u8(part), part.size());
  Sha256Digest out;
  crypto_hash_sha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

Sha256Digest hmac_sha256(std::span<const std::byte> key,
                         std::span<const std::byte> message) noexcept {
  ensure_sodium();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, u8(key), key.size());
  crypto_auth_hmacsha256_update(&state, u8(message), message.size());
  Sha256Digest out;
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

}  // namespace cipherline::crypto
