#include "cipherline/crypto/hpke.hpp"

#include <sodium.h>

#include <array>
#include <cstring>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hkdf.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "sodium_init.hpp"

namespace cipherline::crypto {
namespace {

constexpr std::size_t kX25519 = crypto_scalarmult_curve25519_BYTES;

std::span<const std::byte> bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

void append(std::vector<std::byte>& out, std::span<const std::byte> part) {
  out.insert(out.end(), part.begin(), part.end());
}

void append_u16(std::vector<std::byte>& out, std::uint16_t v) {
  out.push_back(static_cast<std::byte>(v >> 8));
  out.push_back(static_cast<std::byte>(v & 0xff));
}

std::vector<std::byte> kem_suite_id(HpkeKem kem) {
  std::vector<std::byte> id;
  append(id, bytes_of("KEM"));
  append_u16(id, static_cast<std::uint16_t>(kem));
  return id;
}

std::vector<std::byte> hpke_suite_id(HpkeKem kem) {
  std::vector<std::byte> id;
  append(id, bytes_of("HPKE"));
  append_u16(id, static_cast<std::uint16_t>(kem));
  append_u16(id, kHpkeKdfHkdfSha256);
  append_u16(id, kHpkeAeadExportOnly);
  return id;
}

// DHKEM's DH(): X25519 with the all-zero output rejected (RFC 9180 §7.1.4).
Result<SecretBytes, Error> x25519(std::span<const std::byte> private_key,
                                  std::span<const std::byte> public_key) {
  ensure_sodium();
  SecretBytes shared(kX25519);
  if (crypto_scalarmult_curve25519(u8(shared.writable_bytes()), u8(private_key), u8(public_key)) !=
      0) {
    return Error(errc::invalid_public_key, "X25519 public key is of low order");
  }
  return shared;
}

std::vector<std::byte> x25519_public(std::span<const std::byte> private_key) {
  ensure_sodium();
  std::vector<std::byte> pk(kX25519);
  crypto_scalarmult_curve25519_base(u8(std::span(pk)), u8(private_key));
  return pk;
}

// ExtractAndExpand of DHKEM.
SecretBytes dhkem_shared_secret(std::span<const std::byte> dh, std::span<const std::byte> enc,
                                std::span<const std::byte> recipient_public_key) {
  const auto suite = kem_suite_id(HpkeKem::dhkem_x25519_sha256);
  std::vector<std::byte> kem_context;
  append(kem_context, enc);
  append(kem_context, recipient_public_key);
  const SecretBytes eae_prk = hpke_labeled_extract(suite, {}, "eae_prk", dh);
  return hpke_labeled_expand(suite, eae_prk.bytes(), "shared_secret", kem_context, 32);
}

// KeySchedule for mode_base with the export-only AEAD: only the exporter
// secret is derived.
HpkeContext key_schedule(HpkeKem kem, const SecretBytes& shared_secret,
                         std::span<const std::byte> info) {
  const auto suite = hpke_suite_id(kem);
  const SecretBytes psk_id_hash = hpke_labeled_extract(suite, {}, "psk_id_hash", {});
  const SecretBytes info_hash = hpke_labeled_extract(suite, {}, "info_hash", info);
  std::vector<std::byte> context{std::byte{0x00}};  // mode_base
  append(context, psk_id_hash.bytes());
  append(context, info_hash.bytes());
  const SecretBytes secret = hpke_labeled_extract(suite, shared_secret.bytes(), "secret", {});
  return HpkeContext(kem, hpke_labeled_expand(suite, secret.bytes(), "exp", context, 32));
}

Result<HpkeSender, Error> dhkem_sender(std::span<const std::byte> pk_r,
                                       std::span<const std::byte> info,
                                       const X25519KeyPair& ephemeral) {
  if (pk_r.size() != kX25519) return wrong_size("X25519 public key", kX25519, pk_r.size());
  auto dh = x25519(ephemeral.private_key.bytes(), pk_r);
  if (!dh) return dh.error();
  const SecretBytes shared = dhkem_shared_secret(dh->bytes(), ephemeral.public_key, pk_r);
  return HpkeSender{ephemeral.public_key, key_schedule(HpkeKem::dhkem_x25519_sha256, shared, info)};
}

Result<HpkeSender, Error> xwing_sender(Result<XWingEncapsulation, Error> encapsulation,
                                       std::span<const std::byte> info) {
  if (!encapsulation) return encapsulation.error();
  return HpkeSender{std::move(encapsulation->encapsulated_key),
                    key_schedule(HpkeKem::xwing, encapsulation->shared_secret, info)};
}

Error unknown_kem(HpkeKem kem) {
  return Error(errc::unsupported,
               "unsupported HPKE KEM 0x" + std::to_string(static_cast<int>(kem)));
}

}  // namespace

SecretBytes hpke_labeled_extract(std::span<const std::byte> suite_id,
                                 std::span<const std::byte> salt, std::string_view label,
                                 std::span<const std::byte> ikm) {
  std::vector<std::byte> labeled;
  append(labeled, bytes_of("HPKE-v1"));
  append(labeled, suite_id);
  append(labeled, bytes_of(label));
  append(labeled, ikm);
  SecretBytes prk = hkdf_sha256_extract(salt, labeled);
  sodium_memzero(labeled.data(), labeled.size());
  return prk;
}

SecretBytes hpke_labeled_expand(std::span<const std::byte> suite_id, std::span<const std::byte> prk,
                                std::string_view label, std::span<const std::byte> info,
                                std::size_t length) {
  std::vector<std::byte> labeled;
  append_u16(labeled, static_cast<std::uint16_t>(length));
  append(labeled, bytes_of("HPKE-v1"));
  append(labeled, suite_id);
  append(labeled, bytes_of(label));
  append(labeled, info);
  return hkdf_sha256_expand(prk, labeled, length);
}

SecretBytes HpkeContext::export_secret(std::span<const std::byte> exporter_context,
                                       std::size_t length) const {
  return hpke_labeled_expand(hpke_suite_id(kem_), exporter_secret_.bytes(), "sec", exporter_context,
                             length);
}

X25519KeyPair dhkem_x25519_derive_key_pair(std::span<const std::byte> ikm) {
  const auto suite = kem_suite_id(HpkeKem::dhkem_x25519_sha256);
  const SecretBytes dkp_prk = hpke_labeled_extract(suite, {}, "dkp_prk", ikm);
  X25519KeyPair kp{hpke_labeled_expand(suite, dkp_prk.bytes(), "sk", {}, kX25519), {}};
  kp.public_key = x25519_public(kp.private_key.bytes());
  return kp;
}

Result<HpkeSender, Error> hpke_setup_sender(HpkeKem kem,
                                            std::span<const std::byte> recipient_public_key,
                                            std::span<const std::byte> info) {
  switch (kem) {
    case HpkeKem::dhkem_x25519_sha256: {
      const SecretBytes ikm = SecretBytes::random(kX25519);
      return dhkem_sender(recipient_public_key, info, dhkem_x25519_derive_key_pair(ikm.bytes()));
    }
    case HpkeKem::xwing:
      return xwing_sender(xwing_encapsulate(recipient_public_key), info);
  }
  return unknown_kem(kem);
}

Result<HpkeSender, Error> hpke_setup_sender_derand(HpkeKem kem,
                                                   std::span<const std::byte> recipient_public_key,
                                                   std::span<const std::byte> info,
                                                   std::span<const std::byte> randomness) {
  switch (kem) {
    case HpkeKem::dhkem_x25519_sha256:
      return dhkem_sender(recipient_public_key, info, dhkem_x25519_derive_key_pair(randomness));
    case HpkeKem::xwing:
      return xwing_sender(xwing_encapsulate_derand(recipient_public_key, randomness), info);
  }
  return unknown_kem(kem);
}

Result<HpkeContext, Error> hpke_setup_recipient(HpkeKem kem, std::span<const std::byte> enc,
                                                std::span<const std::byte> recipient_private_key,
                                                std::span<const std::byte> info) {
  switch (kem) {
    case HpkeKem::dhkem_x25519_sha256: {
      if (enc.size() != kX25519) return wrong_size("DHKEM encapsulated key", kX25519, enc.size());
      if (recipient_private_key.size() != kX25519) {
        return wrong_size("X25519 private key", kX25519, recipient_private_key.size());
      }
      auto dh = x25519(recipient_private_key, enc);
      if (!dh) return dh.error();
      const auto pk_r = x25519_public(recipient_private_key);
      const SecretBytes shared = dhkem_shared_secret(dh->bytes(), enc, pk_r);
      return key_schedule(kem, shared, info);
    }
    case HpkeKem::xwing: {
      auto shared = xwing_decapsulate(enc, recipient_private_key);
      if (!shared) return shared.error();
      return key_schedule(kem, *shared, info);
    }
  }
  return unknown_kem(kem);
}

}  // namespace cipherline::crypto
