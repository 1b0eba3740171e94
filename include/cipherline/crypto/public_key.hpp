// PublicKey and signature verification: thin OpenSSL wrappers whose errors
// say what failed.
//
//   auto key = PublicKey::from_certificate(vcek);
//   if (auto r = verify_ecdsa(key, Hash::sha384, report_body, signature_der); !r) ...
//   verify_ecdsa_prehashed(key, sha256(pk_and_enc), signature_der);   // digest, not hashed again
//
// Contract:
// - ECDSA over P-256 and P-384, with the signature in DER or as raw
//   big-endian r ‖ s (each half the curve size), over a message (hashed
//   here) or a precomputed digest. RSA-PSS with SHA-384 and MGF1-SHA-384 as
//   AMD's SEV certificates use it.
// - Verification failures are crypto::errc::signature_invalid; unusable
//   keys or encodings (a key of the wrong type, r ‖ s of the wrong length,
//   undecodable DER) are named in the Error's message.
// - PublicKey is a reference-counted handle: copies share one immutable
//   OpenSSL key, and every function here is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/result.hpp"

struct evp_pkey_st;

namespace cipherline::crypto {

enum class Hash { sha256, sha384, sha512 };
enum class Curve { p256, p384 };

class PublicKey {
 public:
  enum class Type { ec_p256, ec_p384, rsa, other };

  // from_spki_der parses a DER SubjectPublicKeyInfo; from_pem a "PUBLIC KEY" PEM block.
  static Result<PublicKey, Error> from_spki_der(std::span<const std::byte> der);
  static Result<PublicKey, Error> from_pem(std::string_view pem);
  // from_ec_point takes the raw affine coordinates x ‖ y (64 or 96 bytes).
  static Result<PublicKey, Error> from_ec_point(Curve curve, std::span<const std::byte> xy);

  // spki_der: the DER SubjectPublicKeyInfo (what from_spki_der reads).
  std::vector<std::byte> spki_der() const;
  Type type() const noexcept;
  std::string description() const;  // "EC P-384", "RSA 4096", ...
  evp_pkey_st* native() const noexcept { return key_.get(); }

 private:
  friend class Certificate;
  friend class PrivateKey;
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key) noexcept : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

enum class SignatureFormat { der, raw };

Result<void, Error> verify_ecdsa(const PublicKey& key, Hash hash,
                                 std::span<const std::byte> message,
                                 std::span<const std::byte> signature,
                                 SignatureFormat format = SignatureFormat::der);
Result<void, Error> verify_ecdsa_prehashed(const PublicKey& key, std::span<const std::byte> digest,
                                           std::span<const std::byte> signature,
                                           SignatureFormat format = SignatureFormat::der);
Result<void, Error> verify_rsa_pss_sha384(const PublicKey& key, std::span<const std::byte> message,
                                          std::span<const std::byte> signature);

}  // namespace cipherline::crypto
