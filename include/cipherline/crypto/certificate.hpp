// Certificate and chain verification (X.509, through OpenSSL).
//
//   auto chain = Certificate::all_from_pem(ask_ark_pem).value();   // ASK, ARK
//   auto vcek = Certificate::from_der(vcek_der).value();
//   verify_chain(vcek, {chain[0]}, {chain[1]}, collateral_time);     // Error names the failing
//   check
//   verify_chain(pck, {platform_ca}, {intel_root}, t, {.crls = crls});   // also revocation
//
// Contract:
// - Chains are verified against exactly the given roots at exactly the given
//   time; no system store is consulted. Signature algorithms include
//   RSA-PSS (AMD) and ECDSA (NVIDIA, Intel, mesh certificates).
// - A failure is crypto::errc::certificate_invalid with a message naming
//   the certificate (its depth and subject) and the reason: "certificate at
//   depth 0 (CN=SEV-VCEK,...): certificate has expired", "... unable to get
//   local issuer certificate" for an unknown CA, and so on.
// - Certificate is a reference-counted handle to an immutable OpenSSL
//   certificate; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/public_key.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/runtime/result.hpp"

struct x509_st;

namespace cipherline::crypto {

class Certificate {
 public:
  static Result<Certificate, Error> from_der(std::span<const std::byte> der);
  // from_pem reads the first certificate of a PEM text.
  static Result<Certificate, Error> from_pem(std::string_view pem);
  // all_from_pem reads every certificate of a PEM text, in order.
  static Result<std::vector<Certificate>, Error> all_from_pem(std::string_view pem);

  std::string subject() const;  // RFC 2253 form, "CN=SEV-VCEK,O=…"
  std::string issuer() const;
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  // public_key: the subject's key; an error (errc::invalid_public_key,
  // naming the algorithm OID) when OpenSSL cannot use it — an unknown or
  // malformed SubjectPublicKeyInfo.
  Result<PublicKey, Error> public_key() const;
  // serial: the serial number's big-endian magnitude bytes.
  std::vector<std::byte> serial() const;
  std::vector<std::byte> der() const;
  Sha256Digest fingerprint_sha256() const;
  // extension returns the DER contents of the extension with the dotted
  // OID, if present.
  std::optional<std::vector<std::byte>> extension(std::string_view oid) const;
  // extended_key_usage returns the dotted OIDs of the extended key usage
  // extension ("1.3.6.1.5.5.7.3.1" is serverAuth), nullopt without one; an
  // extension that does not parse lists nothing.
  std::optional<std::vector<std::string>> extended_key_usage() const;

  x509_st* native() const noexcept { return cert_.get(); }

 private:
  explicit Certificate(std::shared_ptr<x509_st> cert) noexcept : cert_(std::move(cert)) {}
  std::shared_ptr<x509_st> cert_;
};

class Crl;

struct ChainOptions {
  // Accept a chain that ends at a root which is not self-signed (an
  // intermediate given as trust anchor).
  bool partial_chain = false;
  // Revocation: when non-empty, every certificate of the chain must be
  // covered by one of these CRLs from its issuer (a missing CRL fails:
  // "unable to get certificate CRL"), each CRL must verify under its issuer
  // and be current at `at`, and a listed certificate fails ("certificate
  // revoked"). Empty: no revocation check.
  std::span<const Crl> crls{};
};

Result<void, Error> verify_chain(const Certificate& leaf,
                                 std::span<const Certificate> intermediates,
                                 std::span<const Certificate> roots,
                                 std::chrono::system_clock::time_point at,
                                 ChainOptions options = {});

}  // namespace cipherline::crypto
