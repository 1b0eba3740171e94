// X-Wing: the hybrid KEM MLKEM768-X25519 (HPKE KEM ID 0x647a), as in the
// X-Wing draft and draft-ietf-hpke-pq.
//
//   XWingKeyPair kp = xwing_generate();                 // seed: the private key
//   auto [shared, enc] = xwing_encapsulate(kp.public_key).value();
//   SecretBytes same = xwing_decapsulate(enc, kp.seed).value();
//
// Formats: private key = a 32-byte seed, expanded with SHAKE256 into the
// ML-KEM-768 key-generation coins (64 bytes) and the X25519 secret key (32
// bytes); public key = ML-KEM-768 encapsulation key (1184 B) ‖ X25519 public
// key (32 B) = 1216 B; encapsulated key = ML-KEM-768 ciphertext (1088 B) ‖
// X25519 ephemeral public key (32 B) = 1120 B; shared secret =
// SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\./" "/^\"), 32 bytes.
//
// ML-KEM-768 is PQClean's reference implementation; X25519 is libsodium's;
// SHA3/SHAKE are OpenSSL's. As the draft specifies, the X25519 output is
// not checked for all zeros (ML-KEM carries the security then). Wrong input
// sizes give crypto::errc::invalid_length; ML-KEM's implicit rejection means
// a tampered encapsulated key yields a different secret, not an error.
// Thread-safe pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

inline constexpr std::size_t kXWingSeedSize = 32;
inline constexpr std::size_t kXWingPublicKeySize = 1216;
inline constexpr std::size_t kXWingEncapsulatedKeySize = 1120;
inline constexpr std::size_t kXWingSharedSecretSize = 32;
inline constexpr std::size_t kXWingEncapsulationSeedSize = 64;

struct XWingKeyPair {
  SecretBytes seed;
  std::vector<std::byte> public_key;
};

struct XWingEncapsulation {
  SecretBytes shared_secret;
  std::vector<std::byte> encapsulated_key;
};

XWingKeyPair xwing_generate();
// xwing_public_key derives the public key of a 32-byte seed.
Result<std::vector<std::byte>, Error> xwing_public_key(std::span<const std::byte> seed);

Result<XWingEncapsulation, Error> xwing_encapsulate(std::span<const std::byte> public_key);
// Deterministic encapsulation for known-answer tests: `eseed` is 64 bytes
// (ML-KEM coins, then the X25519 ephemeral secret).
Result<XWingEncapsulation, Error> xwing_encapsulate_derand(std::span<const std::byte> public_key,
                                                           std::span<const std::byte> eseed);
Result<SecretBytes, Error> xwing_decapsulate(std::span<const std::byte> encapsulated_key,
                                             std::span<const std::byte> seed);

}  // namespace cipherline::crypto
