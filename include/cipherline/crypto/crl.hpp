// Certificate revocation lists (X.509 v2 CRLs, through OpenSSL).
//
//   auto crl = Crl::parse(crl_bytes).value();              // DER or PEM
//   if (auto r = crl.verify(ark, collateral_time); !r) ...  // signed by ARK, fresh at that time
//   auto listed = crl.is_revoked(ask);                     // Result<bool>: ASK's serial listed?
//
// Contract:
// - parse reads DER, or PEM ("-----BEGIN X509 CRL-----") when the bytes
//   start with "-----BEGIN"; trailing bytes after DER are an error.
// - verify_signature checks that the CRL's issuer name is the issuer
//   certificate's subject and that the issuer's key signed it (RSA-PSS as
//   AMD's ARK signs, ECDSA as Intel signs).
// - check_fresh requires thisUpdate <= at <= nextUpdate; a CRL without a
//   nextUpdate is refused (there is no way to tell it is current).
// - is_revoked answers for a certificate of the CRL's issuer (by serial);
//   a certificate of another issuer is an error, not "not revoked".
//   lists_serial answers for a bare serial (big-endian magnitude bytes,
//   leading zeros ignored), whoever issued it.
// - Failures are crypto::errc::crl_invalid with a message that says what
//   was wrong ("CRL (CN=ARK-Milan,...) expired at 2024-04-02T10:22:51Z, checked at ...").
// - Crl is a reference-counted handle to an immutable OpenSSL CRL;
//   thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/runtime/result.hpp"

struct X509_crl_st;

namespace cipherline::crypto {

class Crl {
 public:
  static Result<Crl, Error> parse(std::span<const std::byte> der_or_pem);
  static Result<Crl, Error> from_der(std::span<const std::byte> der);
  static Result<Crl, Error> from_pem(std::string_view pem);

  std::string issuer() const;  // RFC 2253 form
  std::chrono::system_clock::time_point this_update() const;
  std::optional<std::chrono::system_clock::time_point> next_update() const;
  std::size_t revoked_count() const;
  std::vector<std::byte> der() const;

  Result<void, Error> verify_signature(const Certificate& issuer) const;
  Result<void, Error> check_fresh(std::chrono::system_clock::time_point at) const;
  // verify: verify_signature and check_fresh.
  Result<void, Error> verify(const Certificate& issuer,
                             std::chrono::system_clock::time_point at) const;

  Result<bool, Error> is_revoked(const Certificate& certificate) const;
  bool lists_serial(std::span<const std::byte> serial) const;

  X509_crl_st* native() const noexcept { return crl_.get(); }

 private:
  explicit Crl(std::shared_ptr<X509_crl_st> crl) noexcept : crl_(std::move(crl)) {}
  std::shared_ptr<X509_crl_st> crl_;
};

}  // namespace cipherline::crypto
