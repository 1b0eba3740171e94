#include "cipherline/attest/snp/report.hpp"

#include <algorithm>
#include <cstring>

#include "../hex_format.hpp"
#include "cipherline/attest/error.hpp"

namespace cipherline::attest::snp {
namespace {

Error malformed(std::string_view field, std::size_t offset, const std::string& why) {
  return Error(errc::malformed_evidence, "SNP report: " + std::string(field) + " at offset " +
                                             attest::internal::hex_number(offset) + ": " + why);
}

class Reader {
 public:
  explicit Reader(std::span<const std::byte> b) noexcept : b_(b) {}
  std::uint64_t le(std::size_t offset, std::size_t size) const noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = size; i-- > 0;)
      v = (v << 8) | std::to_integer<std::uint64_t>(b_[offset + i]);
    return v;
  }
  std::uint8_t u8(std::size_t offset) const noexcept {
    return std::to_integer<std::uint8_t>(b_[offset]);
  }
  template <std::size_t N>
  void copy(std::size_t offset, std::array<std::byte, N>& out) const noexcept {
    std::memcpy(out.data(), b_.data() + offset, N);
  }
  // zero checks that [begin, end) is all zero.
  Result<void, Error> zero(std::string_view field, std::size_t begin, std::size_t end) const {
    for (std::size_t i = begin; i < end; ++i) {
      if (b_[i] != std::byte{0}) {
        return malformed(field, begin,
                         "must be zero (byte " + attest::internal::hex_number(i) + " is " +
                             attest::internal::hex_number(std::to_integer<unsigned>(b_[i])) + ")");
      }
    }
    return {};
  }

 private:
  std::span<const std::byte> b_;
};

// little_endian_to_be48 turns a 72-byte little-endian signature component
// into 48 big-endian bytes; the top 24 bytes must be zero.
void little_endian_to_be48(std::span<const std::byte> in, std::byte* out) {
  for (std::size_t i = 0; i < 48; ++i) out[i] = in[47 - i];
}

}  // namespace

std::string_view product_name(Product p) noexcept {
  switch (p) {
    case Product::milan:
      return "Milan";
    case Product::genoa:
      return "Genoa";
    case Product::turin:
      return "Turin";
    case Product::unknown:
      break;
  }
  return "unknown";
}

Product product_from_name(std::string_view name) noexcept {
  const std::string_view base = name.substr(0, name.find('-'));
  if (base == "Milan") return Product::milan;
  if (base == "Genoa") return Product::genoa;
  if (base == "Turin") return Product::turin;
  return Product::unknown;
}

Product product_from_cpuid(std::uint8_t family, std::uint8_t model) noexcept {
  if (family == 0x19 && model <= 0x0F) return Product::milan;
  if (family == 0x19 && model >= 0x10 && model <= 0x1F) return Product::genoa;
  if (family == 0x1A && model <= 0x1F) return Product::turin;
  return Product::unknown;
}

Product AttestationReport::cpuid_product() const noexcept {
  return version >= 3 ? product_from_cpuid(cpuid_family, cpuid_model) : Product::unknown;
}

TcbVersion decode_tcb(std::uint64_t raw, Product product) noexcept {
  const auto byte = [raw](int i) { return static_cast<std::uint8_t>(raw >> (8 * i)); };
  TcbVersion t;
  t.raw = raw;
  if (product == Product::turin) {
    t.fmc = byte(0);
    t.bootloader = byte(1);
    t.tee = byte(2);
    t.snp = byte(3);
  } else {
    t.bootloader = byte(0);
    t.tee = byte(1);
    t.snp = byte(6);
  }
  t.microcode = byte(7);
  return t;
}

std::uint64_t encode_tcb(const TcbVersion& t, Product product) noexcept {
  const auto at = [](int byte, std::uint8_t v) { return std::uint64_t{v} << (8 * byte); };
  const std::uint64_t microcode = at(7, t.microcode);
  if (product == Product::turin) {
    return at(0, t.fmc) | at(1, t.bootloader) | at(2, t.tee) | at(3, t.snp) | microcode;
  }
  return at(0, t.bootloader) | at(1, t.tee) | at(6, t.snp) | microcode;
}

std::string TcbVersion::to_string() const {
  std::string out;
  if (fmc != 0) out = "fmc " + std::to_string(fmc) + ", ";
  return out + "bl " + std::to_string(bootloader) + ", tee " + std::to_string(tee) + ", snp " +
         std::to_string(snp) + ", ucode " + std::to_string(microcode);
}

bool tcb_at_least(const TcbVersion& have, const TcbVersion& minimum) noexcept {
  return have.fmc >= minimum.fmc && have.bootloader >= minimum.bootloader &&
         have.tee >= minimum.tee && have.snp >= minimum.snp && have.microcode >= minimum.microcode;
}

Result<GuestPolicy, Error> decode_policy(std::uint64_t raw) {
  if ((raw & (1ULL << 17)) == 0) {
    return Error(errc::malformed_evidence, "SNP guest policy " + attest::internal::hex_number(raw) +
                                               ": reserved bit 17 must be 1");
  }
  if ((raw >> 26) != 0) {
    return Error(errc::malformed_evidence, "SNP guest policy " + attest::internal::hex_number(raw) +
                                               ": bits 26-63 must be zero");
  }
  const auto bit = [raw](int i) { return ((raw >> i) & 1) != 0; };
  GuestPolicy p;
  p.raw = raw;
  p.abi_minor = static_cast<std::uint8_t>(raw);
  p.abi_major = static_cast<std::uint8_t>(raw >> 8);
  p.smt = bit(16);
  p.migrate_ma = bit(18);
  p.debug = bit(19);
  p.single_socket = bit(20);
  p.cxl_allow = bit(21);
  p.mem_aes_256_xts = bit(22);
  p.rapl_dis = bit(23);
  p.ciphertext_hiding = bit(24);
  p.page_swap_disable = bit(25);
  return p;
}

Result<AttestationReport, Error> parse_report(std::span<const std::byte> bytes) {
  if (bytes.size() != kReportSize) {
    return Error(errc::malformed_evidence, "SNP report: " + std::to_string(bytes.size()) +
                                               " bytes, expected " + std::to_string(kReportSize));
  }
  const Reader in(bytes);
  AttestationReport r;
  std::copy(bytes.begin(), bytes.end(), r.raw.begin());
  r.version = static_cast<std::uint32_t>(in.le(0x000, 4));
  if (r.version < 2 || r.version > 5) {
    return Error(errc::unsupported_evidence, "SNP report: VERSION at offset 0x0: version " +
                                                 std::to_string(r.version) +
                                                 " is not supported (2-5)");
  }
  r.guest_svn = static_cast<std::uint32_t>(in.le(0x004, 4));
  r.policy = in.le(0x008, 8);
  in.copy(0x010, r.family_id);
  in.copy(0x020, r.image_id);
  r.vmpl = static_cast<std::uint32_t>(in.le(0x030, 4));
  r.signature_algo = static_cast<std::uint32_t>(in.le(0x034, 4));
  if (r.signature_algo != 1) {
    return Error(errc::unsupported_evidence,
                 "SNP report: SIGNATURE_ALGO at offset 0x34: " + std::to_string(r.signature_algo) +
                     " is not 1 (ECDSA P-384 with SHA-384)");
  }
  r.current_tcb = in.le(0x038, 8);
  r.platform_info = in.le(0x040, 8);
  const auto signer = static_cast<std::uint32_t>(in.le(0x048, 4));
  if ((signer >> 5) != 0) return malformed("signer info bits 5-31", 0x048, "must be zero");
  r.author_key_en = (signer & 1) != 0;
  r.mask_chip_key = (signer & 2) != 0;
  const unsigned key = (signer >> 2) & 7;
  if (key != 0 && key != 1 && key != 7) {
    return malformed("SIGNING_KEY", 0x048, "value " + std::to_string(key) + " is reserved");
  }
  r.signing_key = static_cast<SigningKey>(key);
  if (auto z = in.zero("reserved", 0x04C, 0x050); !z) return z.error();
  in.copy(0x050, r.report_data);
  in.copy(0x090, r.measurement);
  in.copy(0x0C0, r.host_data);
  in.copy(0x0E0, r.id_key_digest);
  in.copy(0x110, r.author_key_digest);
  in.copy(0x140, r.report_id);
  in.copy(0x160, r.report_id_ma);
  r.reported_tcb = in.le(0x180, 8);
  if (r.version >= 3) {
    r.cpuid_family = in.u8(0x188);
    r.cpuid_model = in.u8(0x189);
    r.cpuid_stepping = in.u8(0x18A);
  } else if (auto z = in.zero("CPUID bytes (version 2)", 0x188, 0x18B); !z) {
    return z.error();
  }
  if (auto z = in.zero("reserved", 0x18B, 0x1A0); !z) return z.error();
  in.copy(0x1A0, r.chip_id);
  r.committed_tcb = in.le(0x1E0, 8);
  r.current_build = in.u8(0x1E8);
  r.current_minor = in.u8(0x1E9);
  r.current_major = in.u8(0x1EA);
  if (auto z = in.zero("reserved", 0x1EB, 0x1EC); !z) return z.error();
  r.committed_build = in.u8(0x1EC);
  r.committed_minor = in.u8(0x1ED);
  r.committed_major = in.u8(0x1EE);
  if (auto z = in.zero("reserved", 0x1EF, 0x1F0); !z) return z.error();
  r.launch_tcb = in.le(0x1F0, 8);
  if (r.version >= 5) {
    r.launch_mit_vector = in.le(0x1F8, 8);
    r.current_mit_vector = in.le(0x200, 8);
  } else if (auto z = in.zero("mitigation vectors (before version 5)", 0x1F8, 0x208); !z) {
    return z.error();
  }
  if (auto z = in.zero("reserved", 0x208, 0x2A0); !z) return z.error();
  if (auto z = in.zero("SIGNATURE R high bytes", 0x2A0 + 48, 0x2E8); !z) return z.error();
  if (auto z = in.zero("SIGNATURE S high bytes", 0x2E8 + 48, 0x330); !z) return z.error();
  if (auto z = in.zero("SIGNATURE reserved", 0x330, kReportSize); !z) return z.error();
  little_endian_to_be48(bytes.subspan(0x2A0, 72), r.signature_rs.data());
  little_endian_to_be48(bytes.subspan(0x2E8, 72), r.signature_rs.data() + 48);
  return r;
}

}  // namespace cipherline::attest::snp
