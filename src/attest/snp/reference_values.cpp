#include "cipherline/attest/snp/reference_values.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>

#include "../hex_format.hpp"
#include "../little_endian.hpp"
#include "cipherline/crypto/ecdsa_recovery.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha512.hpp"

namespace cipherline::attest::snp {
namespace {

std::string hex(std::span<const std::byte> b) { return crypto::to_hex(b); }

// A list like "DEBUG, SMT", or "none".
std::string join(const std::vector<std::string>& items) {
  if (items.empty()) return "none";
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string abi(std::uint8_t major, std::uint8_t minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

std::uint64_t encode_policy(const GuestPolicy& p) noexcept {
  const auto bit = [](bool on, int i) { return on ? (std::uint64_t{1} << i) : 0; };
  return std::uint64_t{p.abi_minor} | (std::uint64_t{p.abi_major} << 8) | bit(p.smt, 16) |
         bit(true, 17) | bit(p.migrate_ma, 18) | bit(p.debug, 19) | bit(p.single_socket, 20) |
         bit(p.cxl_allow, 21) | bit(p.mem_aes_256_xts, 22) | bit(p.rapl_dis, 23) |
         bit(p.ciphertext_hiding, 24) | bit(p.page_swap_disable, 25);
}

namespace {

std::array<std::byte, 48> compute_id_key_digest(std::span<const std::byte, 48> measurement,
                                                std::uint64_t policy) {
  // ID_BLOCK: LD ‖ FAMILY_ID ‖ IMAGE_ID ‖ VERSION ‖ GUEST_SVN ‖ POLICY.
  std::array<std::byte, 0x60> block{};
  std::memcpy(block.data(), measurement.data(), 48);
  block[0x30] = std::byte{1};  // FAMILY_ID 01 00…
  block[0x40] = std::byte{2};  // IMAGE_ID 02 00…
  attest::internal::store_le(block.data() + 0x50, 1, 4);
  attest::internal::store_le(block.data() + 0x54, 2, 4);
  attest::internal::store_le(block.data() + 0x58, policy, 8);
  const auto z = crypto::sha384(block);
  const std::byte r[] = {std::byte{2}};
  const std::byte s[] = {std::byte{1}};
  auto keys = crypto::recover_ecdsa_public_keys(crypto::Curve::p384, z, r, s).value();
  if (keys.empty()) throw std::logic_error("no P-384 point has x = 2");
  // The smaller candidate by (x, then y): x ‖ y compare as big-endian bytes.
  const auto& q = *std::min_element(keys.begin(), keys.end());
  // ID_KEY: curve 2 (P-384) ‖ Qx, Qy little-endian in 72-byte fields ‖ zeros.
  std::array<std::byte, 0x404> id_key{};
  attest::internal::store_le(id_key.data(), 2, 4);
  for (std::size_t i = 0; i < 48; ++i) {
    id_key[4 + i] = q[47 - i];
    id_key[4 + 72 + i] = q[48 + 47 - i];
  }
  return crypto::sha384(id_key);
}

}  // namespace

std::array<std::byte, 48> contrast_id_key_digest(std::span<const std::byte, 48> measurement,
                                                 std::uint64_t policy) {
  // The recovery costs two P-384 double-scalar multiplications; every
  // verification against the same reference values asks for the same
  // digest, so results are remembered (a few reference entries at most).
  using Key = std::pair<std::array<std::byte, 48>, std::uint64_t>;
  static std::mutex mutex;
  static std::map<Key, std::array<std::byte, 48>> memo;
  Key key;
  std::copy(measurement.begin(), measurement.end(), key.first.begin());
  key.second = policy;
  {
    std::lock_guard lock(mutex);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
  }
  const auto digest = compute_id_key_digest(measurement, policy);
  std::lock_guard lock(mutex);
  if (memo.size() >= 256) memo.clear();
  memo.emplace(key, digest);
  return digest;
}

void check_reference_values(const AttestationReport& report, const ReferenceValues& ref,
                            VerificationReport& out) {
  const bool vcek = report.signing_key == SigningKey::vcek;
  out.check("endorsement key", ref.allow_vlek ? "VCEK or VLEK" : "VCEK (no VLEK, as Contrast)",
            vcek                                     ? "VCEK"
            : report.signing_key == SigningKey::vlek ? "VLEK"
                                                     : "none",
            vcek || (ref.allow_vlek && report.signing_key == SigningKey::vlek));
  out.check_equal("VMPL", "0", std::to_string(report.vmpl));

  // Guest policy.
  auto policy = decode_policy(report.policy);
  if (!policy) {
    out.check("guest policy", "a valid policy", policy.error().message(), false);
  } else {
    std::vector<std::string> wrong;
    const GuestPolicy& have = *policy;
    const GuestPolicy& want = ref.guest_policy;
    if (std::pair(have.abi_major, have.abi_minor) < std::pair(want.abi_major, want.abi_minor)) {
      wrong.push_back("ABI " + abi(have.abi_major, have.abi_minor) + " below " +
                      abi(want.abi_major, want.abi_minor));
    }
    const struct {
      bool have, want;
      const char* name;
    } allowed[] = {{have.migrate_ma, want.migrate_ma, "MIGRATE_MA"},
                   {have.debug, want.debug, "DEBUG"},
                   {have.smt, want.smt, "SMT"},
                   {have.cxl_allow, want.cxl_allow, "CXL_ALLOW"}},
      required[] = {{have.single_socket, want.single_socket, "SINGLE_SOCKET"},
                    {have.mem_aes_256_xts, want.mem_aes_256_xts, "MEM_AES_256_XTS"},
                    {have.rapl_dis, want.rapl_dis, "RAPL_DIS"},
                    {have.ciphertext_hiding, want.ciphertext_hiding, "CIPHERTEXT_HIDING"},
                    {have.page_swap_disable, want.page_swap_disable, "PAGE_SWAP_DISABLE"}};
    for (const auto& b : allowed) {
      if (b.have && !b.want) wrong.push_back(std::string(b.name) + " set but not allowed");
    }
    for (const auto& b : required) {
      if (!b.have && b.want) wrong.push_back(std::string(b.name) + " required but clear");
    }
    out.check(
        "guest policy", "compatible with " + attest::internal::hex_word(encode_policy(want)),
        attest::internal::hex_word(report.policy) + (wrong.empty() ? "" : " (" + join(wrong) + ")"),
        wrong.empty());
  }

  out.check_equal("measurement", hex(ref.trusted_measurement), hex(report.measurement));

  const Product product = ref.product;
  const TcbVersion reported = decode_tcb(report.reported_tcb, product);
  const TcbVersion launch = decode_tcb(report.launch_tcb, product);
  out.check("minimum TCB (reported)", ">= " + ref.minimum_tcb.to_string(), reported.to_string(),
            tcb_at_least(reported, ref.minimum_tcb));
  out.check("minimum TCB (launch)", ">= " + ref.minimum_tcb.to_string(), launch.to_string(),
            tcb_at_least(launch, ref.minimum_tcb));
  out.check("firmware build", "committed <= current " + std::to_string(report.current_build),
            "committed " + std::to_string(report.committed_build),
            report.committed_build <= report.current_build);
  out.check("firmware API version",
            "committed <= current " + abi(report.current_major, report.current_minor),
            "committed " + abi(report.committed_major, report.committed_minor),
            std::pair(report.committed_major, report.committed_minor) <=
                std::pair(report.current_major, report.current_minor));

  // Platform info.
  {
    const std::uint64_t info = report.platform_info;
    const auto bit = [info](int i) { return ((info >> i) & 1) != 0; };
    const PlatformInfoReference& want = ref.platform_info;
    std::vector<std::string> wrong;
    const struct {
      int bit;
      bool want;
      const char* name;
    } allowed[] = {{0, want.smt_enabled, "SMT_EN"},
                   {1, want.tsme_enabled, "TSME_EN"},
                   {7, want.tio_enabled, "TIO_EN"}},
      required[] = {{2, want.ecc_enabled, "ECC_EN"},
                    {3, want.rapl_disabled, "RAPL_DIS"},
                    {4, want.ciphertext_hiding_enabled, "CIPHERTEXT_HIDING_EN"},
                    {5, want.alias_check_complete, "ALIAS_CHECK_COMPLETE"}};
    for (const auto& b : allowed) {
      if (bit(b.bit) && !b.want) wrong.push_back(std::string(b.name) + " set but not allowed");
    }
    for (const auto& b : required) {
      if (!bit(b.bit) && b.want) wrong.push_back(std::string(b.name) + " required but clear");
    }
    if (bit(6) || (info >> 8) != 0) wrong.push_back("reserved bits set");
    out.check("platform info", "compatible with the reference",
              attest::internal::hex_word(info) + (wrong.empty() ? "" : " (" + join(wrong) + ")"),
              wrong.empty());
  }

  if (ref.require_id_block) {
    const auto expected =
        contrast_id_key_digest(ref.trusted_measurement, encode_policy(ref.guest_policy));
    out.check_equal("ID key digest", hex(expected), hex(report.id_key_digest));
  }

  const std::uint64_t min = ref.minimum_mitigation_vector;
  if (report.version >= 5) {
    out.check("mitigation vectors", "launch and current include " + attest::internal::hex_word(min),
              "launch " + attest::internal::hex_word(report.launch_mit_vector) + ", current " +
                  attest::internal::hex_word(report.current_mit_vector),
              (report.launch_mit_vector & min) == min && (report.current_mit_vector & min) == min);
  } else {
    out.check("mitigation vectors", "checked on v5+ reports only",
              "none in a version " + std::to_string(report.version) + " report", true);
  }

  if (!ref.allowed_chip_ids.empty()) {
    const bool listed = std::any_of(ref.allowed_chip_ids.begin(), ref.allowed_chip_ids.end(),
                                    [&](const auto& id) { return id == report.chip_id; });
    out.check("chip ID allow-list",
              "one of " + std::to_string(ref.allowed_chip_ids.size()) + " allowed chip IDs",
              hex(report.chip_id), listed);
  }
  if (ref.host_data) out.check_equal("host data", hex(*ref.host_data), hex(report.host_data));
  if (ref.report_data) {
    out.check_equal("report data", hex(*ref.report_data), hex(report.report_data));
  }
}

}  // namespace cipherline::attest::snp
