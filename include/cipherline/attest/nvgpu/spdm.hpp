// NVIDIA GPU attestation reports: the SPDM 1.1 GET_MEASUREMENTS request and
// MEASUREMENTS response that a GPU in confidential-computing mode returns
// (NVML's "conf compute GPU attestation report"), with the measurement
// blocks and NVIDIA's opaque data (driver and VBIOS versions, SKU, FWID, …).
//
//   auto report = nvgpu::parse_report(bytes).value();    // binary or hex text
//   report.request.nonce;                                // the verifier's nonce
//   report.driver_version;                               // "550.90.07"
//   report.vbios_version;                                // "96.00.9F.00.01"
//   const nvgpu::MeasurementBlock* b = report.block(2);  // SPDM index 2
//   report.signed_bytes();   // request ‖ response without its signature
//
// Contract:
// - The report is the 37-byte request (SPDM 1.1, signature requested, a
//   32-byte nonce, a slot ID) followed by the response, which ends with a
//   96-byte ECDSA P-384 signature (r ‖ s, big-endian): the algorithm NVIDIA
//   GPUs negotiate, and the only one SPDM's wire format leaves room for here
//   since the report carries no negotiation. Other SPDM versions are
//   attest::errc::unsupported_evidence (1.2 signs a different transcript).
// - Input that consists only of hex digits and white space, as NVIDIA's
//   tools write reports, is decoded first; a binary report never looks like
//   that (its second byte is 0xE0). Offsets then count decoded bytes.
// - Every length is checked against what remains; a block index is 1–254
//   and unique, its specification DMTF, its DMTF value size consistent with
//   the block size; the opaque data is a sequence of type-length-value
//   fields that fills it exactly, each type once; the known text fields are
//   printable ASCII padded with NULs. Failures are
//   attest::errc::malformed_evidence naming the message, field and offset
//   (relative to the start of that message, as SPDM's tables count):
//     "SPDM response: MeasurementRecordLength at offset 0x5: 3520 bytes, only 12 remain"
// - The parsed report keeps the decoded bytes: the signature is over
//   exactly these. Pure functions; no I/O.
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

namespace cipherline::attest::nvgpu {

inline constexpr std::uint8_t kSpdmVersion = 0x11;  // SPDM 1.1
inline constexpr std::uint8_t kGetMeasurements = 0xE0;
inline constexpr std::uint8_t kMeasurements = 0x60;
inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kRequestSize = 37;    // header 4, nonce 32, slot ID 1
inline constexpr std::size_t kSignatureSize = 96;  // ECDSA P-384 r ‖ s

// GET_MEASUREMENTS with a signature requested.
struct MeasurementsRequest {
  std::uint8_t version = 0;
  std::uint8_t attributes = 0;  // Param1; bit 0: signature requested (always set here)
  std::uint8_t operation = 0;   // Param2; 0xFF: every block, 1–254: that block
  std::array<std::byte, kNonceSize> nonce{};
  std::uint8_t slot_id = 0;  // the certificate slot whose key signs (0–7)
};

// One measurement block of the record, in DMTF form.
struct MeasurementBlock {
  std::uint8_t index = 0;  // 1–254
  // DMTFSpecMeasurementValueType: bits 0–6 the kind (0 immutable ROM,
  // 1 mutable firmware, 2 hardware configuration, 3 firmware configuration,
  // …), bit 7 set when the value is a raw bit stream rather than a digest.
  std::uint8_t value_type = 0;
  std::vector<std::byte> value;  // a 48-byte SHA-384 digest on NVIDIA GPUs
};

// NVIDIA's opaque data field types.
enum class OpaqueType : std::uint16_t {
  cert_issuer_name = 1,
  cert_authority_key_id = 2,
  driver_version = 3,
  gpu_info = 4,
  sku = 5,
  vbios_version = 6,
  manufacturer_id = 7,
  tamper_detection = 8,
  smc = 9,
  vpr = 10,
  nvdec0_status = 11,
  msrscnt = 12,
  cpr_info = 13,
  board_id = 14,
  chip_sku = 15,
  chip_sku_mod = 16,
  project = 17,
  project_sku = 18,
  project_sku_mod = 19,
  fwid = 20,
  protected_pcie_status = 21,
};
// opaque_type_name: "driver version", "VBIOS version", …; "type N" for
// types not listed above.
std::string opaque_type_name(std::uint16_t type);

struct OpaqueField {
  std::uint16_t type = 0;
  std::vector<std::byte> value;
};

struct MeasurementsResponse {
  std::uint8_t version = 0;
  std::uint8_t param1 = 0;
  std::uint8_t param2 = 0;
  std::vector<MeasurementBlock> blocks;       // in record order
  std::array<std::byte, kNonceSize> nonce{};  // the responder's nonce
  std::vector<OpaqueField> opaque;            // in order
  std::array<std::byte, kSignatureSize> signature{};
};

struct AttestationReport {
  std::vector<std::byte> raw;  // request ‖ response, binary
  MeasurementsRequest request;
  MeasurementsResponse response;
  // Decoded from the opaque data; empty when the field is absent.
  std::string driver_version;  // "550.90.07"
  std::string vbios_version;   // "96.00.9F.00.01" (format_vbios_version)
  std::string project;         // "1010"
  std::string project_sku;     // "0200"
  std::string chip_sku;        // "882"

  std::span<const std::byte> request_bytes() const noexcept {
    return std::span(raw).first(kRequestSize);
  }
  std::span<const std::byte> response_bytes() const noexcept {
    return std::span(raw).subspan(kRequestSize);
  }
  // What the signature covers (SPDM 1.1 transcript L1/L2 of one exchange).
  std::span<const std::byte> signed_bytes() const noexcept {
    return std::span(raw).first(raw.size() - kSignatureSize);
  }
  // block returns the block with SPDM index `index`, or null.
  const MeasurementBlock* block(std::uint8_t index) const noexcept;
  // opaque returns the opaque field of that type, or null.
  const OpaqueField* opaque(OpaqueType type) const noexcept;
};

Result<AttestationReport, Error> parse_report(std::span<const std::byte> bytes);

// format_vbios_version renders the 8-byte opaque VBIOS field as NVIDIA does:
// read as two little-endian 32-bit words, the low word's four bytes from the
// most significant, then the high word ("00 9F 00 96 01 00 00 00" →
// "96.00.9F.00.01"), each as upper-case hex of at least two digits (so a
// high word above 0xFF stays distinguishable rather than truncated).
std::string format_vbios_version(std::span<const std::byte, 8> field);
// encode_vbios_version is its inverse; either case is accepted.
Result<std::array<std::byte, 8>, Error> encode_vbios_version(std::string_view version);

}  // namespace cipherline::attest::nvgpu
