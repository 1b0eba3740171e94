// Verifying an Intel TDX quote against the PCK certificate chain it carries
// and the Intel SGX Root CA: the identity and integrity part of TDX
// attestation (spec §1.6 step 2, §5.3). Collateral (TCB status, QE identity)
// is checked by collateral.hpp; reference values by check_reference_values.
//
//   auto quote = tdx::parse_quote(bytes).value();
//   VerificationReport r = tdx::verify_quote(quote, tdx::intel_root(),
//                                            std::chrono::system_clock::now());
//   tdx::check_reference_values(quote, expected, r);
//   if (!r.passed()) ... r.first_failure()->name
//
// Checks, in order (each a named entry of the report):
//   QE vendor ID          the header names Intel's quoting enclave
//   Intel root            the trusted root is the built-in Intel SGX Root CA
//                         (SHA-256 fingerprint), unless it is a development
//                         root (TrustedRoot::development)
//   PCK certificate chain PCK leaf ← Platform/Processor CA ← trusted root
//                         verifies at `at`; the root the quote carries is
//                         ignored
//   PCK key               ECDSA P-256; fails without examining the key
//                         when the chain did not verify (a key OpenSSL
//                         cannot use already fails the chain, saying so)
//   QE report signature   ECDSA P-256 / SHA-256 by the PCK key over the
//                         384-byte QE report (only tried under a verified
//                         P-256 PCK key)
//   QE report data        QE REPORTDATA = SHA-256(attestation key ‖ QE auth
//                         data) ‖ 32 zero bytes: the QE vouches for the key
//   quote signature       ECDSA P-256 / SHA-256 by the attestation key over
//                         signed_bytes()
//   PCK extensions        the PCK certificate's SGX extension parses
// Claims: version, body type, MRTD, RTMR0–3, MRSEAM, MRSIGNERSEAM,
// SEAMATTRIBUTES, TD attributes (+ flags), XFAM, MRCONFIGID, MROWNER,
// MROWNERCONFIG, REPORTDATA, TEE_TCB_SVN (TDX 1.5: TEE_TCB_SVN2,
// MRSERVICETD), QE ISVSVN, and from the PCK certificate FMSPC, PCE-ID,
// PCESVN, SGX TCB components, SGX type, PIID.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/tdx/quote.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/crypto/certificate.hpp"

namespace cipherline::attest::tdx {

// The root a PCK chain (and the collateral signing certificate) must chain to.
struct TrustedRoot {
  crypto::Certificate certificate;
  // A development root (the software TEE's) is trusted as given; the
  // built-in Intel root is also pinned by fingerprint.
  bool development = false;
};

// intel_root returns the built-in Intel SGX Root CA (parsed once).
const TrustedRoot& intel_root();
// intel_root_fingerprint is the SHA-256 of its DER, as hex.
std::string_view intel_root_fingerprint() noexcept;

// The certificates of the quote's PCK chain: the leaf first, then the CAs
// that are not self-signed (the root the quote carries is dropped: only a
// TrustedRoot is ever trusted).
struct PckChain {
  crypto::Certificate leaf;
  std::vector<crypto::Certificate> intermediates;
};
Result<PckChain, Error> parse_pck_chain(const Quote& quote);

enum class SgxType : std::uint8_t { standard = 0, scalable = 1, scalable_with_integrity = 2 };
std::string_view sgx_type_name(SgxType type) noexcept;  // "Standard", "Scalable", …

// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1,
// spec §5.4).
struct PckExtensions {
  std::array<std::byte, 16> ppid{};
  std::array<std::uint8_t, 16> sgx_tcb_components{};  // .2.1–.2.16
  std::uint16_t pcesvn = 0;                           // .2.17
  std::array<std::byte, 16> cpusvn{};                 // .2.18
  std::array<std::byte, 2> pce_id{};
  std::array<std::byte, 6> fmspc{};
  SgxType sgx_type = SgxType::standard;
  // Platform CA certificates only.
  std::optional<std::array<std::byte, 16>> platform_instance_id;
  std::optional<bool> dynamic_platform;
  std::optional<bool> cached_keys;
  std::optional<bool> smt_enabled;
};
// Failures are attest::errc::malformed_evidence naming the OID:
// "PCK extension: 1.2.840.113741.1.13.1.4 (FMSPC): 5 bytes, expected 6".
Result<PckExtensions, Error> parse_pck_extensions(const crypto::Certificate& pck);

VerificationReport verify_quote(const Quote& quote, const TrustedRoot& root,
                                std::chrono::system_clock::time_point at);

// Expected TD measurements and configuration; each value that is set adds
// one check (named as below) to the report, comparing bytes in quote order.
struct ReferenceValues {
  std::optional<Measurement> mr_td;                       // "MRTD"
  std::array<std::optional<Measurement>, 4> rtmrs;        // "RTMR0" … "RTMR3"
  std::optional<Measurement> mr_seam;                     // "MRSEAM"
  std::optional<std::array<std::byte, 8>> xfam;           // "XFAM"
  std::optional<std::array<std::byte, 8>> td_attributes;  // "TD attributes"
  // The first 32 bytes of MRCONFIGID (Contrast puts its policy hash there).
  std::optional<std::array<std::byte, 32>> mr_config_id_prefix;  // "MRCONFIGID[0:32]"
};
void check_reference_values(const Quote& quote, const ReferenceValues& expected,
                            VerificationReport& report);

}  // namespace cipherline::attest::tdx
