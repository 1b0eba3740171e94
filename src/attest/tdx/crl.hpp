// Certificate revocation lists for the Intel PCK and root CAs (private to
// attest/tdx): parsing DER or PEM, the issuer, the validity window, the
// signature under the issuer's key, and whether a certificate is listed.
// Pure functions over OpenSSL; no I/O; thread-safe (immutable handle).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/runtime/result.hpp"

struct X509_crl_st;

namespace cipherline::attest::tdx::internal {

class Crl {
 public:
  // parse reads one CRL, DER or PEM; errors name `what` ("PCK CRL: not a
  // DER or PEM CRL").
  static Result<Crl, Error> parse(std::span<const std::byte> bytes, std::string_view what);

  std::string issuer() const;  // RFC 2253, as crypto::Certificate::subject()
  std::chrono::system_clock::time_point this_update() const;
  // No nextUpdate reads as the epoch: such a CRL is never fresh.
  std::chrono::system_clock::time_point next_update() const;
  // signed_by: the CRL's signature verifies under `issuer`'s public key.
  bool signed_by(const crypto::Certificate& issuer) const;
  // lists: `certificate`'s serial number is on the list.
  bool lists(const crypto::Certificate& certificate) const;

 private:
  explicit Crl(std::shared_ptr<X509_crl_st> crl) noexcept : crl_(std::move(crl)) {}
  std::shared_ptr<X509_crl_st> crl_;
};

}  // namespace cipherline::attest::tdx::internal
