// Issuing X.509 v3 certificates and v2 CRLs (OpenSSL): the software TEE's
// development AMD-shaped chain and its CRL, the Coordinator's mesh CA and
// service certificates, test PKIs.
//
//   CertificateSpec spec{.subject = {{"CN", "SEV-VCEK"}}, .public_key = vcek_key.public_key(),
//                        .not_before = now, .not_after = now + years(7),
//                        .extensions = {{"1.3.6.1.4.1.3704.1.2", der_ia5("Genoa")}}};
//   Certificate vcek = issue_certificate(spec, ask_key, &ask_cert,
//   Signature::rsa_pss_sha384).value();
//
// Contract:
// - Subject and issuer are lists of (attribute, value) RDNs in order
//   ("C", "ST", "L", "O", "OU", "CN"); the issuer name is the issuing
//   certificate's subject (or the subject itself when self-signed).
// - Basic constraints (critical) always; key usage keyCertSign|cRLSign for
//   CAs, digitalSignature|keyEncipherment otherwise; subject and authority
//   key identifiers; DNS and IP subject alternative names; any further
//   extension as (dotted OID, DER value, critical).
// - Signature::rsa_pss_sha384 is RSASSA-PSS with SHA-384, MGF1-SHA-384 and a
//   48-byte salt (AMD's ARK/ASK parameters).
// - Errors: crypto::errc::unsupported naming what OpenSSL rejected.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/private_key.hpp"

namespace cipherline::crypto {

struct CertificateExtension {
  std::string oid;             // dotted
  std::vector<std::byte> der;  // the extension value's DER encoding
  bool critical = false;
};

struct CertificateSpec {
  std::vector<std::pair<std::string, std::string>> subject;
  PublicKey public_key;
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::uint64_t serial = 1;
  bool ca = false;
  std::vector<std::string> dns_names{};
  std::vector<std::string> ip_addresses{};
  std::vector<CertificateExtension> extensions{};
};

enum class Signature { ecdsa_sha256, ecdsa_sha384, rsa_pss_sha384 };

// issue_certificate signs `spec` with `issuer_key`; `issuer` is the issuing
// certificate, or null for a self-signed one.
Result<Certificate, Error> issue_certificate(const CertificateSpec& spec,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer, Signature signature);

struct CrlSpec {
  std::chrono::system_clock::time_point this_update;
  std::optional<std::chrono::system_clock::time_point> next_update;
  std::vector<std::uint64_t> revoked_serials{};
};

// issue_crl signs a v2 CRL of `issuer` listing `spec.revoked_serials`.
Result<Crl, Error> issue_crl(const CrlSpec& spec, const PrivateKey& issuer_key,
                             const Certificate& issuer, Signature signature);

// DER encodings of the small values extensions carry.
std::vector<std::byte> der_integer(std::uint64_t value);
std::vector<std::byte> der_ia5_string(std::string_view text);
std::vector<std::byte> der_octet_string(std::span<const std::byte> bytes);

// to_pem: the certificate as a PEM block.
std::string to_pem(const Certificate& certificate);
std::string to_pem(const Crl& crl);

}  // namespace cipherline::crypto
