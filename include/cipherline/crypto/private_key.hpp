// PrivateKey: an asymmetric signing key (OpenSSL), for the parts of the
// system that sign: the software TEE's development certificates and
// reports, the secret service's mesh key, test PKIs.
//
//   auto key = PrivateKey::generate(KeyType::ec_p384).value();
//   auto sig = key.sign_ecdsa(Hash::sha384, report_body, SignatureFormat::raw).value();
//   SecretBytes pem = key.to_pem();            // PKCS#8, in locked memory
//   auto again = PrivateKey::from_pem(pem.bytes()).value();
//
// Contract:
// - Keys: EC P-256, EC P-384, RSA (3072 or 4096 bits). RSA generation takes
//   seconds; do it once and persist the PEM.
// - ECDSA signatures come as DER or raw r ‖ s (big-endian, coordinate-sized);
//   RSA signatures are RSASSA-PSS with SHA-384, MGF1-SHA-384 and a 48-byte
//   salt (AMD's parameters).
// - The PEM export is the only way out of the object and lands in
//   SecretBytes; there is no printing or string conversion.
// - Shared immutable handle; thread-safe.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "cipherline/crypto/public_key.hpp"
#include "cipherline/crypto/secret_bytes.hpp"

namespace cipherline::crypto {

enum class KeyType { ec_p256, ec_p384, rsa_3072, rsa_4096 };

class PrivateKey {
 public:
  static Result<PrivateKey, Error> generate(KeyType type);
  // from_pem reads a PKCS#8 (or traditional EC/RSA) PEM private key.
  static Result<PrivateKey, Error> from_pem(std::span<const std::byte> pem);

  PublicKey public_key() const;
  // matches says whether `key` is this key's public half.
  bool matches(const PublicKey& key) const noexcept;
  SecretBytes to_pem() const;

  Result<std::vector<std::byte>, Error> sign_ecdsa(Hash hash, std::span<const std::byte> message,
                                                   SignatureFormat format) const;
  // sign_ecdsa_prehashed signs `digest` as given (not hashed again), DER.
  Result<std::vector<std::byte>, Error> sign_ecdsa_prehashed(
      std::span<const std::byte> digest) const;
  Result<std::vector<std::byte>, Error> sign_rsa_pss_sha384(
      std::span<const std::byte> message) const;

  evp_pkey_st* native() const noexcept { return key_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) noexcept : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

}  // namespace cipherline::crypto
