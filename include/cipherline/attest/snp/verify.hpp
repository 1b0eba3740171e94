// Verifying an AMD SEV-SNP attestation report against its VCEK and the AMD
// roots: the identity and integrity part of SNP attestation. Reference
// values (measurement, policy, minimum TCB, …) are checked on top of the
// returned report by the caller that has them.
//
//   auto report = snp::parse_report(bytes).value();
//   auto vcek = crypto::Certificate::from_der(vcek_der).value();
//   VerificationReport r = snp::verify_report(report, vcek, snp::amd_chain(snp::Product::milan),
//                                             std::chrono::system_clock::now());
//   if (!r.passed()) ... r.first_failure()->name
//
// Checks, in order (each a named entry of the report):
//   product            the report's CPUID product (v3+) or the VCEK's
//                      productName (v2) is the chain's product
//   signing key        SIGNING_KEY is the kind of key the chain certifies
//                      (VCEK for an ASK chain, VLEK for an ASVK chain)
//   ARK                the chain's root is the one built in for the product
//                      (SHA-256 fingerprint), unless the chain is a
//                      development chain (TrustedChain::development)
//   certificate chain  VCEK ← ASK ← ARK verifies at `at`
//   AMD CRL            the product line's CRL (when given) is signed by the
//                      ARK and current at `at` (thisUpdate ≤ at ≤
//                      nextUpdate); without one, or with an unusable one
//                      under RevocationPolicy::fail_open, the check passes
//                      and says revocation was not checked; with
//                      require_crl a missing CRL fails
//   ASK revocation     the ASK's serial is not on that CRL (only when the
//                      CRL verified; a listed ASK always fails). VCEKs are
//                      not listed: AMD revokes by TCB version (spec §1.5.3)
//   VCEK key / VLEK key  ECDSA P-384
//   report signature   ECDSA P-384 / SHA-384 over bytes 0x000–0x29F
//   reported TCB       REPORTED_TCB equals the VCEK's TCB extensions
//   chip ID            CHIP_ID equals the VCEK's hwID; on Turin the 8 bytes
//                      it uses equal the hwID and the other 56 are zero;
//                      with MASK_CHIP_KEY all 64 bytes are zero; a VLEK is
//                      not bound to a chip (its CSP ID is a claim)
//   committed TCB      COMMITTED_TCB ≤ CURRENT_TCB, component-wise
//   VCEK TCB           the VCEK's TCB ≤ CURRENT_TCB, component-wise
// Claims: version, product, measurement, report data, host data, chip ID,
// policy, VMPL, the four TCBs, platform info, ID key digest, firmware
// versions, mitigation vectors (v5).
//
// Pure function of its inputs; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "cipherline/attest/snp/report.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/crypto/certificate.hpp"

namespace cipherline::attest::snp {

// A trusted intermediate/ARK pair for one product line: the ASK, which
// certifies VCEKs (one per chip), or the ASVK, which certifies VLEKs (one
// per cloud provider).
struct TrustedChain {
  Product product = Product::unknown;
  crypto::Certificate ask;  // the ASK, or the ASVK for a VLEK chain
  crypto::Certificate ark;
  // A development chain (the software TEE's) is trusted as given; built-in
  // AMD chains are also pinned by fingerprint.
  bool development = false;
  SigningKey key = SigningKey::vcek;  // what the intermediate certifies
};

// amd_chain returns the built-in AMD chain of a product line (parsed once).
// Throws std::invalid_argument for Product::unknown.
const TrustedChain& amd_chain(Product product);
// amd_vlek_chain returns the built-in ASVK/ARK chain of a product line.
const TrustedChain& amd_vlek_chain(Product product);
// amd_ark_fingerprint is the SHA-256 of the built-in ARK's DER, as hex.
std::string_view amd_ark_fingerprint(Product product) noexcept;

// The AMD KDS extensions of a VCEK or VLEK (OIDs 1.3.6.1.4.1.3704.1.*).
struct VcekExtensions {
  int struct_version = 0;
  std::string product_name;  // "Milan-B0", "Genoa", "Turin", …
  TcbVersion tcb;
  std::vector<std::byte> hwid;  // VCEK: CHIP_ID (64 bytes; 8 for Turin)
  std::string csp_id;           // VLEK: the cloud provider it was issued to
};
Result<VcekExtensions, Error> parse_vcek_extensions(const crypto::Certificate& vcek);

// ChainCache remembers VCEK ← ASK ← ARK chains that verified, with the
// interval in which all three certificates are valid, so that attesting
// the same machine again (every key rotation) skips the RSA-4096 work. A
// hit needs the same VCEK, ASK and ARK bytes and a time inside the
// interval; the "certificate chain" check then says "verified (cached)".
// Thread-safe; holds at most `capacity` chains (the oldest goes first).
class ChainCache {
 public:
  explicit ChainCache(std::size_t capacity = 64) : capacity_(capacity) {}
  bool contains(const crypto::Certificate& vcek, const TrustedChain& chain,
                std::chrono::system_clock::time_point at) const;
  void insert(const crypto::Certificate& vcek, const TrustedChain& chain);
  std::size_t size() const;

 private:
  struct Entry {
    std::array<std::byte, 32> key;
    std::chrono::system_clock::time_point not_before, not_after;
  };
  static std::array<std::byte, 32> key_of(const crypto::Certificate& vcek,
                                          const TrustedChain& chain);
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<Entry> entries_;
};

// Revocation: the explicit fail-open/fail-closed choice for AMD's CRL.
struct RevocationPolicy {
  // A CRL that is given but does not parse, is not signed by the ARK or is
  // not current: false (the default) fails "AMD CRL" — fail closed where a
  // CRL is available; true records why and leaves revocation unchecked.
  bool fail_open = false;
  // No CRL given: true fails "AMD CRL"; false (the default) passes it with
  // "none given: revocation not checked".
  bool require_crl = false;
};

struct Revocation {
  std::span<const std::byte> crl{};  // DER or PEM (KDS /vcek/v1/<Product>/crl); empty: none
  RevocationPolicy policy{};
};

VerificationReport verify_report(const AttestationReport& report, const crypto::Certificate& vcek,
                                 const TrustedChain& chain,
                                 std::chrono::system_clock::time_point at,
                                 ChainCache* cache = nullptr, const Revocation& revocation = {});

}  // namespace cipherline::attest::snp
