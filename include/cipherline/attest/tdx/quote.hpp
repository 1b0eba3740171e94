// Intel TDX quotes: parsing the DCAP quote format, versions 4 and 5, with
// the ECDSA P-256 signature data that carries the QE report and the PCK
// certificate chain (spec §5.1–5.2).
//
//   auto quote = tdx::parse_quote(bytes);
//   if (!quote) ... quote.error().message()
//       // "TDX quote: TEE_TYPE at offset 0x4: 0x0 is not 0x81 (TDX)"
//   quote->body.mr_td, quote->signed_bytes(), quote->pck_chain_pem
//
// Contract:
// - parse_quote accepts version 4 (a TDX 1.0 body) and version 5 (body type
//   2, TDX 1.0, 584 bytes; or 3, TDX 1.5, 648 bytes), attestation key type 2
//   (ECDSA-256 with P-256), TEE type 0x81, certification data type 6 (QE
//   report certification data) wrapping type 5 (a PEM PCK chain). Every
//   length must agree with the bytes it describes. Bytes after the signature
//   data are allowed and ignored (quotes are often handed over in
//   zero-padded buffers). Failures are attest::errc::malformed_evidence or
//   ::unsupported_evidence, naming the field and its byte offset.
// - Parsing checks structure only: nothing is verified here (see verify.hpp).
// - The parsed quote owns a copy of the bytes up to the end of the signature
//   data; the attestation key signs signed_bytes(), everything before the
//   signature-data length. Pure functions; no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::attest::tdx {

inline constexpr std::size_t kHeaderSize = 48;
inline constexpr std::size_t kTdx10BodySize = 584;
inline constexpr std::size_t kTdx15BodySize = 648;
inline constexpr std::size_t kQeReportSize = 384;
inline constexpr std::uint16_t kAttestationKeyEcdsaP256 = 2;
inline constexpr std::uint32_t kTeeTypeTdx = 0x81;
inline constexpr std::uint16_t kCertificationDataQeReport = 6;
inline constexpr std::uint16_t kCertificationDataPckChain = 5;
// The QE vendor ID of Intel's quoting enclave.
inline constexpr std::array<std::byte, 16> kIntelQeVendorId = {
    std::byte{0x93}, std::byte{0x9a}, std::byte{0x72}, std::byte{0x33},
    std::byte{0xf7}, std::byte{0x9c}, std::byte{0x4c}, std::byte{0xa9},
    std::byte{0x94}, std::byte{0x0a}, std::byte{0x0d}, std::byte{0xb3},
    std::byte{0x95}, std::byte{0x7f}, std::byte{0x06}, std::byte{0x07}};

using Measurement = std::array<std::byte, 48>;  // SHA-384: MRTD, RTMRs, MRSEAM, …

struct QuoteHeader {
  std::uint16_t version = 0;
  std::uint16_t attestation_key_type = 0;
  std::uint32_t tee_type = 0;
  // Reserved since version 4; historically the QE and PCE SVNs.
  std::uint16_t qe_svn = 0;
  std::uint16_t pce_svn = 0;
  std::array<std::byte, 16> qe_vendor_id{};
  std::array<std::byte, 20> user_data{};
};

enum class BodyType : std::uint16_t { tdx10 = 2, tdx15 = 3 };
std::string_view body_type_name(BodyType type) noexcept;  // "TDX 1.0", "TDX 1.5"

// The TD quote body: the TD report fields the TDX module vouches for.
// Attribute words are kept as bytes in quote order (little-endian), as
// reference values state them.
struct TdQuoteBody {
  BodyType type = BodyType::tdx10;
  std::array<std::byte, 16> tee_tcb_svn{};
  Measurement mr_seam{};
  Measurement mr_signer_seam{};
  std::array<std::byte, 8> seam_attributes{};
  std::array<std::byte, 8> td_attributes{};
  std::array<std::byte, 8> xfam{};
  Measurement mr_td{};
  Measurement mr_config_id{};
  Measurement mr_owner{};
  Measurement mr_owner_config{};
  std::array<Measurement, 4> rtmrs{};
  std::array<std::byte, 64> report_data{};
  std::array<std::byte, 16> tee_tcb_svn2{};  // TDX 1.5 only
  Measurement mr_service_td{};               // TDX 1.5 only

  // td_attributes as the 64-bit word (bit 0 DEBUG, bit 28 SEPT_VE_DISABLE, …).
  std::uint64_t td_attributes_word() const noexcept;
};

// describe_td_attributes names the set bits: "SEPT_VE_DISABLE", "DEBUG,
// SEPT_VE_DISABLE", "bit 40"; "none" for zero.
std::string describe_td_attributes(std::uint64_t word);

// The QE report: an SGX REPORT body (384 bytes). The spec's "reserved"
// ranges hold newer SGX fields (ISVEXTPRODID, CONFIGID, …); they are covered
// by the QE report signature and are not required to be zero.
struct EnclaveReport {
  std::array<std::byte, kQeReportSize> raw{};
  std::array<std::byte, 16> cpu_svn{};
  std::uint32_t misc_select = 0;
  std::array<std::byte, 16> attributes{};
  std::array<std::byte, 32> mr_enclave{};
  std::array<std::byte, 32> mr_signer{};
  std::uint16_t isv_prod_id = 0;
  std::uint16_t isv_svn = 0;
  std::array<std::byte, 64> report_data{};
};

struct Quote {
  // The quote's bytes up to the end of the signature data (trailing bytes
  // are not kept).
  std::vector<std::byte> raw;
  std::size_t signed_size = 0;

  QuoteHeader header;
  TdQuoteBody body;
  std::array<std::byte, 64> signature{};        // r ‖ s, big-endian
  std::array<std::byte, 64> attestation_key{};  // P-256 x ‖ y, big-endian
  EnclaveReport qe_report;
  std::array<std::byte, 64> qe_report_signature{};  // r ‖ s, by the PCK key
  std::vector<std::byte> qe_auth_data;
  // The PCK leaf, the Platform or Processor CA and the root, as PEM text
  // without the NUL padding that often ends it; pck_chain_padding counts
  // those NULs, so that the quote can be re-encoded byte for byte.
  std::string pck_chain_pem;
  std::size_t pck_chain_padding = 0;
  // How many bytes followed the signature data in the input.
  std::size_t trailing_size = 0;

  std::span<const std::byte> signed_bytes() const noexcept {
    return std::span(raw).first(signed_size);
  }
};

Result<Quote, Error> parse_quote(std::span<const std::byte> bytes);

}  // namespace cipherline::attest::tdx
