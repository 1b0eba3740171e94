// AMD SEV-SNP ATTESTATION_REPORT: parsing the 1184-byte structure of the
// SEV-SNP ABI (versions 2–5), and the TCB_VERSION and guest POLICY words.
//
//   auto report = snp::parse_report(bytes);
//   if (!report) ... report.error().message()
//       // "SNP report: reserved bytes 0x1a0-… at offset 0x18b must be zero (byte 0x190 is 0x07)"
//   snp::TcbVersion tcb = snp::decode_tcb(report->reported_tcb, snp::Product::genoa);
//
// Contract:
// - parse_report accepts exactly 1184 bytes; versions 2 to 5; SIGNATURE_ALGO
//   1 (ECDSA P-384 with SHA-384); every must-be-zero range zero (the CPUID
//   bytes for version 2, the mitigation vectors below version 5, the unused
//   tail of the signature). Failures are attest::errc::malformed_evidence or
//   ::unsupported_evidence, naming the field and its offset.
// - The parsed report keeps the raw bytes: the signature is over bytes
//   0x000–0x29F of exactly these bytes.
// - Pure functions; no I/O.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::attest::snp {

inline constexpr std::size_t kReportSize = 0x4A0;
inline constexpr std::size_t kSignedSize = 0x2A0;

enum class Product { unknown, milan, genoa, turin };
std::string_view product_name(Product p) noexcept;  // "Milan", "Genoa", "Turin", "unknown"
// product_from_name accepts the VCEK productName form too ("Milan-B0").
Product product_from_name(std::string_view name) noexcept;
// product_from_cpuid maps the report's CPUID family/model (v3+).
Product product_from_cpuid(std::uint8_t family, std::uint8_t model) noexcept;

// TCB_VERSION components. The byte layout depends on the product: Milan and
// Genoa put the boot loader in byte 0, the TEE in 1, SNP in 6 and microcode
// in 7; Turin adds FMC in byte 0 and shifts the others (bl 1, tee 2, snp 3,
// microcode 7).
struct TcbVersion {
  std::uint8_t fmc = 0;  // Turin only
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  std::uint64_t raw = 0;
  std::string to_string() const;  // "bl 3, tee 0, snp 8, ucode 115" (+ "fmc N" for Turin)
};
TcbVersion decode_tcb(std::uint64_t raw, Product product) noexcept;
// encode_tcb is the word of `tcb`'s components in `product`'s layout
// (reserved bytes zero); `tcb.raw` is not read.
std::uint64_t encode_tcb(const TcbVersion& tcb, Product product) noexcept;
// tcb_at_least: every component of `have` ≥ the same component of `minimum`.
bool tcb_at_least(const TcbVersion& have, const TcbVersion& minimum) noexcept;

// Guest POLICY bits (ABI 56860, "GUEST_POLICY").
struct GuestPolicy {
  std::uint8_t abi_minor = 0;
  std::uint8_t abi_major = 0;
  bool smt = false;
  bool migrate_ma = false;
  bool debug = false;
  bool single_socket = false;
  bool cxl_allow = false;
  bool mem_aes_256_xts = false;
  bool rapl_dis = false;
  bool ciphertext_hiding = false;
  bool page_swap_disable = false;
  std::uint64_t raw = 0;
};
// decode_policy fails when reserved bit 17 is clear or bits 26–63 are set.
Result<GuestPolicy, Error> decode_policy(std::uint64_t raw);

enum class SigningKey : std::uint8_t { vcek = 0, vlek = 1, none = 7 };

struct AttestationReport {
  std::array<std::byte, kReportSize> raw{};

  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  std::array<std::byte, 16> family_id{};
  std::array<std::byte, 16> image_id{};
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  bool author_key_en = false;
  bool mask_chip_key = false;
  SigningKey signing_key = SigningKey::vcek;
  std::array<std::byte, 64> report_data{};
  std::array<std::byte, 48> measurement{};
  std::array<std::byte, 32> host_data{};
  std::array<std::byte, 48> id_key_digest{};
  std::array<std::byte, 48> author_key_digest{};
  std::array<std::byte, 32> report_id{};
  std::array<std::byte, 32> report_id_ma{};
  std::uint64_t reported_tcb = 0;
  std::uint8_t cpuid_family = 0;  // v3+
  std::uint8_t cpuid_model = 0;
  std::uint8_t cpuid_stepping = 0;
  std::array<std::byte, 64> chip_id{};
  std::uint64_t committed_tcb = 0;
  std::uint8_t current_build = 0, current_minor = 0, current_major = 0;
  std::uint8_t committed_build = 0, committed_minor = 0, committed_major = 0;
  std::uint64_t launch_tcb = 0;
  std::uint64_t launch_mit_vector = 0;   // v5+
  std::uint64_t current_mit_vector = 0;  // v5+
  // The signature as r ‖ s, 48 bytes each, big-endian (converted from the
  // report's 72-byte little-endian fields).
  std::array<std::byte, 96> signature_rs{};

  std::span<const std::byte> signed_bytes() const noexcept {
    return std::span(raw).first(kSignedSize);
  }
  // The product named by the CPUID bytes (v3+), else unknown.
  Product cpuid_product() const noexcept;
};

Result<AttestationReport, Error> parse_report(std::span<const std::byte> bytes);

}  // namespace cipherline::attest::snp
