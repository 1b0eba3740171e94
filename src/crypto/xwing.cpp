#include "cipherline/crypto/xwing.hpp"

#include <sodium.h>

#include <cstring>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha3.hpp"
#include "sodium_init.hpp"

extern "C" {
#include "kem.h"  // PQClean ML-KEM-768, including the deterministic entry points
}

namespace cipherline::crypto {
namespace {

constexpr std::size_t kMlKemPublicKey = PQCLEAN_MLKEM768_CLEAN_CRYPTO_PUBLICKEYBYTES;
constexpr std::size_t kMlKemSecretKey = PQCLEAN_MLKEM768_CLEAN_CRYPTO_SECRETKEYBYTES;
constexpr std::size_t kMlKemCiphertext = PQCLEAN_MLKEM768_CLEAN_CRYPTO_CIPHERTEXTBYTES;
constexpr std::size_t kX25519 = crypto_scalarmult_curve25519_BYTES;
static_assert(kMlKemPublicKey + kX25519 == kXWingPublicKeySize);
static_assert(kMlKemCiphertext + kX25519 == kXWingEncapsulatedKeySize);

constexpr std::byte kLabel[6] = {std::byte{0x5c}, std::byte{0x2e}, std::byte{0x2f},
                                 std::byte{0x2f}, std::byte{0x5e}, std::byte{0x5c}};

// The expanded private key: ML-KEM-768 secret key, X25519 secret key and
// the public key, all derived from the seed.
struct Expanded {
  SecretBytes mlkem_secret{kMlKemSecretKey};
  SecretBytes x25519_secret{kX25519};
  std::vector<std::byte> public_key = std::vector<std::byte>(kXWingPublicKeySize);
};

Expanded expand(std::span<const std::byte> seed) {
  ensure_sodium();
  SecretBytes expanded(96);
  shake256(seed, expanded.writable_bytes());
  Expanded e;
  PQCLEAN_MLKEM768_CLEAN_crypto_kem_keypair_derand(u8(std::span(e.public_key)),
                                                   u8(e.mlkem_secret.writable_bytes()),
                                                   u8(expanded.bytes().first(64)));
  std::memcpy(e.x25519_secret.writable_bytes().data(), expanded.bytes().data() + 64, kX25519);
  crypto_scalarmult_curve25519_base(u8(std::span(e.public_key).subspan(kMlKemPublicKey)),
                                    u8(e.x25519_secret.bytes()));
  return e;
}

// X25519 as X-Wing uses it: an all-zero result is kept, not rejected.
void x25519_unchecked(std::span<std::byte> out, std::span<const std::byte> scalar,
                      std::span<const std::byte> point) noexcept {
  if (crypto_scalarmult_curve25519(u8(out), u8(scalar), u8(point)) != 0) {
    // Low-order point: `out` is all zeros; the combiner still binds ML-KEM's secret.
  }
}

SecretBytes combine(std::span<const std::byte> ss_m, std::span<const std::byte> ss_x,
                    std::span<const std::byte> ct_x, std::span<const std::byte> pk_x) {
  const auto digest = sha3_256({ss_m, ss_x, ct_x, pk_x, kLabel});
  return SecretBytes::copy_of(digest);
}

}  // namespace

XWingKeyPair xwing_generate() {
  XWingKeyPair kp{SecretBytes::random(kXWingSeedSize), {}};
  kp.public_key = expand(kp.seed.bytes()).public_key;
  return kp;
}

Result<std::vector<std::byte>, Error> xwing_public_key(std::span<const std::byte> seed) {
  if (seed.size() != kXWingSeedSize) return wrong_size("X-Wing seed", kXWingSeedSize, seed.size());
  return expand(seed).public_key;
}

Result<XWingEncapsulation, Error> xwing_encapsulate(std::span<const std::byte> public_key) {
  SecretBytes eseed = SecretBytes::random(kXWingEncapsulationSeedSize);
  return xwing_encapsulate_derand(public_key, eseed.bytes());
}

Result<XWingEncapsulation, Error> xwing_encapsulate_derand(std::span<const std::byte> public_key,
                                                           std::span<const std::byte> eseed) {
  if (public_key.size() != kXWingPublicKeySize) {
    return wrong_size("X-Wing public key", kXWingPublicKeySize, public_key.size());
  }
  if (eseed.size() != kXWingEncapsulationSeedSize) {
    return wrong_size("X-Wing encapsulation seed", kXWingEncapsulationSeedSize, eseed.size());
  }
  ensure_sodium();
  const auto pk_m = public_key.first(kMlKemPublicKey);
  const auto pk_x = public_key.subspan(kMlKemPublicKey);
  XWingEncapsulation out{SecretBytes{}, std::vector<std::byte>(kXWingEncapsulatedKeySize)};
  const auto ct_m = std::span(out.encapsulated_key).first(kMlKemCiphertext);
  const auto ct_x = std::span(out.encapsulated_key).subspan(kMlKemCiphertext);

  SecretBytes ss_m(32);
  PQCLEAN_MLKEM768_CLEAN_crypto_kem_enc_derand(u8(ct_m), u8(ss_m.writable_bytes()), u8(pk_m),
                                               u8(eseed.first(32)));
  const auto ek_x = eseed.subspan(32);
  SecretBytes ss_x(kX25519);
  crypto_scalarmult_curve25519_base(u8(ct_x), u8(ek_x));
  x25519_unchecked(ss_x.writable_bytes(), ek_x, pk_x);
  out.shared_secret = combine(ss_m.bytes(), ss_x.bytes(), ct_x, pk_x);
  return out;
}

Result<SecretBytes, Error> xwing_decapsulate(std::span<const std::byte> encapsulated_key,
                                             std::span<const std::byte> seed) {
  if (encapsulated_key.size() != kXWingEncapsulatedKeySize) {
    return wrong_size("X-Wing encapsulated key", kXWingEncapsulatedKeySize,
                      encapsulated_key.size());
  }
  if (seed.size() != kXWingSeedSize) return wrong_size("X-Wing seed", kXWingSeedSize, seed.size());
  const Expanded e = expand(seed);
  const auto ct_m = encapsulated_key.first(kMlKemCiphertext);
  const auto ct_x = encapsulated_key.subspan(kMlKemCiphertext);
  SecretBytes ss_m(32);
  PQCLEAN_MLKEM768_CLEAN_crypto_kem_dec(u8(ss_m.writable_bytes()), u8(ct_m),
                                        u8(e.mlkem_secret.bytes()));
  SecretBytes ss_x(kX25519);
  x25519_unchecked(ss_x.writable_bytes(), e.x25519_secret.bytes(), ct_x);
  return combine(ss_m.bytes(), ss_x.bytes(), ct_x,
                 std::span<const std::byte>(e.public_key).subspan(kMlKemPublicKey));
}

}  // namespace cipherline::crypto
