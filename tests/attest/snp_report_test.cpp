// SEV-SNP ATTESTATION_REPORT parsing: the real reports' fields, TCB and
// policy decoding, and malformed reports named by field and offset.
#include "cipherline/attest/snp/report.hpp"

#include <gtest/gtest.h>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::snp {
namespace {

using testing::read_vector;

TEST(SnpReport, GoSevGuestMilanV2) {
  const auto report = parse_report(read_vector("snp/milan_go_sev_guest_report.bin")).value();
  EXPECT_EQ(report.version, 2u);
  EXPECT_EQ(report.policy, 0xb0000u);
  EXPECT_EQ(report.vmpl, 0u);
  EXPECT_EQ(report.signing_key, SigningKey::vcek);
  EXPECT_EQ(report.cpuid_product(), Product::unknown);  // v2 reports carry no CPUID
  // REPORT_DATA starts 01 02 03 04 05.
  EXPECT_EQ(crypto::to_hex(std::span(report.report_data).first(6)), "010203040500");
  const TcbVersion tcb = decode_tcb(report.reported_tcb, Product::milan);
  EXPECT_EQ(tcb.to_string(), "bl 2, tee 0, snp 5, ucode 68");
  const GuestPolicy policy = decode_policy(report.policy).value();
  // 0xb0000: SMT (bit 16), the reserved bit 17, DEBUG (bit 19).
  EXPECT_TRUE(policy.smt);
  EXPECT_FALSE(policy.migrate_ma);
  EXPECT_TRUE(policy.debug);
}

TEST(SnpReport, GoogleCloudMilanV5) {
  const auto report = parse_report(read_vector("snp/milan_gcp_v5_report.bin")).value();
  EXPECT_EQ(report.version, 5u);
  EXPECT_EQ(report.cpuid_family, 0x19);
  EXPECT_EQ(report.cpuid_model, 0x01);
  EXPECT_EQ(report.cpuid_stepping, 0x01);
  EXPECT_EQ(report.cpuid_product(), Product::milan);
  EXPECT_EQ(report.policy, 0x30000u);
  EXPECT_EQ(report.platform_info, 0x25u);
  EXPECT_EQ(report.launch_mit_vector, 0xbu);
  EXPECT_EQ(report.current_mit_vector, 0xbu);
  EXPECT_EQ(decode_tcb(report.reported_tcb, Product::milan).to_string(),
            "bl 4, tee 0, snp 27, ucode 222");
}

TEST(SnpReport, TcbLayoutsAndComparison) {
  // The GCP sample's word: bl 4, tee 0, snp 27 (0x1b), ucode 222 (0xde).
  const TcbVersion milan = decode_tcb(0xde1b000000000004, Product::milan);
  EXPECT_EQ(milan.bootloader, 4);
  EXPECT_EQ(milan.snp, 0x1b);
  EXPECT_EQ(milan.microcode, 0xde);
  // Turin: fmc, bl, tee, snp in bytes 0–3.
  const TcbVersion turin = decode_tcb(0x4800000003020001, Product::turin);
  EXPECT_EQ(turin.fmc, 1);
  EXPECT_EQ(turin.bootloader, 0);
  EXPECT_EQ(turin.tee, 2);
  EXPECT_EQ(turin.snp, 3);
  EXPECT_EQ(turin.microcode, 0x48);
  // encode_tcb is decode_tcb's inverse when the reserved bytes are zero.
  EXPECT_EQ(encode_tcb(milan, Product::milan), 0xde1b000000000004u);
  EXPECT_EQ(encode_tcb(turin, Product::turin), 0x4800000003020001u);
  EXPECT_TRUE(tcb_at_least(milan, decode_tcb(0xd01b000000000004, Product::milan)));
  EXPECT_FALSE(tcb_at_least(milan, decode_tcb(0x001c000000000000, Product::milan)));
}

TEST(SnpReport, PolicyReservedBits) {
  EXPECT_TRUE(decode_policy(0x2030000));
  auto no_bit_17 = decode_policy(0x10000);
  ASSERT_FALSE(no_bit_17);
  EXPECT_NE(no_bit_17.error().message().find("reserved bit 17 must be 1"), std::string::npos);
  auto high = decode_policy(0x30000 | (1ULL << 40));
  ASSERT_FALSE(high);
  EXPECT_NE(high.error().message().find("bits 26-63 must be zero"), std::string::npos);
}

TEST(SnpReport, MalformedReportsNameTheField) {
  const auto good = read_vector("snp/milan_virtee_report.bin");
  ASSERT_TRUE(parse_report(good));
  const auto failure = [&](std::size_t offset, std::byte value) {
    auto bad = good;
    bad[offset] = value;
    auto r = parse_report(bad);
    EXPECT_FALSE(r) << "offset " << offset;
    return r ? std::string() : r.error().message();
  };
  EXPECT_EQ(failure(0x000, std::byte{1}),
            "SNP report: VERSION at offset 0x0: version 1 is not supported (2-5)");
  EXPECT_EQ(failure(0x034, std::byte{2}),
            "SNP report: SIGNATURE_ALGO at offset 0x34: 2 is not 1 (ECDSA P-384 with SHA-384)");
  EXPECT_EQ(failure(0x190, std::byte{7}),
            "SNP report: reserved at offset 0x18b: must be zero (byte 0x190 is 0x7)");
  EXPECT_NE(failure(0x188, std::byte{0x19}).find("CPUID bytes (version 2)"), std::string::npos);
  EXPECT_NE(failure(0x1F8, std::byte{1}).find("mitigation vectors (before version 5)"),
            std::string::npos);
  EXPECT_NE(failure(0x2A0 + 60, std::byte{1}).find("SIGNATURE R high bytes"), std::string::npos);
  EXPECT_NE(failure(0x400, std::byte{1}).find("SIGNATURE reserved"), std::string::npos);
  EXPECT_NE(failure(0x048, std::byte{0x14}).find("SIGNING_KEY"), std::string::npos);

  auto short_report = parse_report(std::span(good).first(1000));
  ASSERT_FALSE(short_report);
  EXPECT_EQ(short_report.error(), errc::malformed_evidence);
  EXPECT_EQ(short_report.error().message(), "SNP report: 1000 bytes, expected 1184");
}

TEST(SnpReport, ProductNames) {
  EXPECT_EQ(product_from_name("Milan-B0"), Product::milan);
  EXPECT_EQ(product_from_name("Genoa"), Product::genoa);
  EXPECT_EQ(product_from_name("Turin"), Product::turin);
  EXPECT_EQ(product_from_name("Bergamo"), Product::unknown);
  EXPECT_EQ(product_from_cpuid(0x19, 0x11), Product::genoa);
  EXPECT_EQ(product_from_cpuid(0x1A, 0x02), Product::turin);
  EXPECT_EQ(product_from_cpuid(0x17, 0x01), Product::unknown);
}

}  // namespace
}  // namespace cipherline::attest::snp
