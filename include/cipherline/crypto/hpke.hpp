// HPKE (RFC 9180), base mode, export-only: what the Privatemode key
// exchange uses.
//
//   // Secret service (sender): derive a fresh key for the client's public key.
//   auto sender = hpke_setup_sender(HpkeKem::xwing, client_public_key, {}).value();
//   SecretBytes key = sender.context.export_secret({}, 32);   // send sender.enc
//   // Client (recipient):
//   auto ctx = hpke_setup_recipient(HpkeKem::xwing, enc, seed, {}).value();
//   SecretBytes same = ctx.export_secret({}, 32);
//
// KDF HKDF-SHA256 (0x0001) and the export-only AEAD (0xFFFF) are fixed; the
// KEM is DHKEM(X25519, HKDF-SHA256) (0x0020) or X-Wing (0x647a). Private keys
// are 32 bytes for both (an X25519 scalar; an X-Wing seed). Errors are
// values: crypto::errc::invalid_length for a key or enc of the wrong size,
// crypto::errc::invalid_public_key when an X25519 exchange yields the
// all-zero value (a low-order point). Thread-safe pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

enum class HpkeKem : std::uint16_t {
  dhkem_x25519_sha256 = 0x0020,
  xwing = 0x647a,
};

inline constexpr std::uint16_t kHpkeKdfHkdfSha256 = 0x0001;
inline constexpr std::uint16_t kHpkeAeadExportOnly = 0xffff;

// HpkeContext: an export-only encryption context.
class HpkeContext {
 public:
  HpkeContext(HpkeKem kem, SecretBytes exporter_secret) noexcept
      : kem_(kem), exporter_secret_(std::move(exporter_secret)) {}

  // export_secret is the RFC's Export(exporter_context, L); L ≤ 8160.
  SecretBytes export_secret(std::span<const std::byte> exporter_context, std::size_t length) const;

  const SecretBytes& exporter_secret() const noexcept { return exporter_secret_; }

 private:
  HpkeKem kem_;
  SecretBytes exporter_secret_;
};

struct HpkeSender {
  std::vector<std::byte> enc;
  HpkeContext context;
};

Result<HpkeSender, Error> hpke_setup_sender(HpkeKem kem,
                                            std::span<const std::byte> recipient_public_key,
                                            std::span<const std::byte> info);
// Deterministic sender for known-answer tests: `randomness` is the DHKEM
// ephemeral key's ikmE (any length) or the 64-byte X-Wing encapsulation seed.
Result<HpkeSender, Error> hpke_setup_sender_derand(HpkeKem kem,
                                                   std::span<const std::byte> recipient_public_key,
                                                   std::span<const std::byte> info,
                                                   std::span<const std::byte> randomness);
Result<HpkeContext, Error> hpke_setup_recipient(HpkeKem kem, std::span<const std::byte> enc,
                                                std::span<const std::byte> recipient_private_key,
                                                std::span<const std::byte> info);

// DHKEM(X25519) key pairs, deterministic from input keying material as in
// the RFC's DeriveKeyPair (used by its test vectors).
struct X25519KeyPair {
  SecretBytes private_key;
  std::vector<std::byte> public_key;
};
X25519KeyPair dhkem_x25519_derive_key_pair(std::span<const std::byte> ikm);

// The labeled HKDF steps of RFC 9180 §4, for the given suite_id.
SecretBytes hpke_labeled_extract(std::span<const std::byte> suite_id,
                                 std::span<const std::byte> salt, std::string_view label,
                                 std::span<const std::byte> ikm);
SecretBytes hpke_labeled_expand(std::span<const std::byte> suite_id, std::span<const std::byte> prk,
                                std::string_view label, std::span<const std::byte> info,
                                std::size_t length);

}  // namespace cipherline::crypto
