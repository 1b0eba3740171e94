// InferenceSecret: the 32-byte AES-256 key both ends derive in the key
// exchange (spec §3), with its ID and lifetime.
//
// Contract:
// - The ID is base64(SHA-256(client X-Wing public key)), 44 characters
//   (`secret_id_for`); it names the key on the wire and in the secret store.
// - The key is held in locked memory twice: as raw bytes (SecretBytes; the
//   OCSP policy MAC is an HMAC keyed with them) and as an expanded Aes256Gcm.
// - Lifetime: the client uses a secret for 45 minutes (`kUsableFor`), the
//   server keeps it 60 minutes (`kStoredFor`), so that requests in flight at
//   rotation still decrypt.
// - Immutable after construction and thread-safe; shared by std::shared_ptr
//   between the session and the ciphers of its requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <span>
#include <string>

#include "cipherline/crypto/aes256gcm.hpp"
#include "cipherline/crypto/secret_bytes.hpp"

namespace cipherline::protocol {

inline constexpr std::chrono::minutes kSecretUsableFor{45};
inline constexpr std::chrono::minutes kSecretStoredFor{60};

// secret_id_for returns base64(SHA-256(public_key)).
std::string secret_id_for(std::span<const std::byte> public_key);

class InferenceSecret {
 public:
  // Throws std::invalid_argument unless key is 32 bytes.
  InferenceSecret(std::string id, std::span<const std::byte> key)
      : id_(std::move(id)), key_(crypto::SecretBytes::copy_of(key)), aead_(key) {}

  const std::string& id() const noexcept { return id_; }
  const crypto::SecretBytes& key() const noexcept { return key_; }
  const crypto::Aes256Gcm& aead() const noexcept { return aead_; }

 private:
  std::string id_;
  crypto::SecretBytes key_;
  crypto::Aes256Gcm aead_;
};

}  // namespace cipherline::protocol
