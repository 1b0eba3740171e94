// TDX quote parsing: the seven real quotes (v4 and v5, TDX 1.0 and 1.5
// bodies, padded buffers), and malformed quotes named by field and offset.
#include "cipherline/attest/tdx/quote.hpp"

#include <gtest/gtest.h>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::tdx {
namespace {

using testing::read_vector;

struct RealQuote {
  const char* file;
  std::uint16_t version;
  BodyType body_type;
  std::size_t size;  // up to the end of the signature data
  std::size_t trailing;
  std::uint16_t qe_isv_svn;
  const char* td_attributes;
  std::size_t pck_chain_padding;  // NULs after the PEM text
};

const RealQuote kRealQuotes[] = {
    {"tdx/spr_go_tdx_guest_quote.dat", 4, BodyType::tdx10, 4935, 39, 4, "0000004000000000", 0},
    {"tdx/v5_go_tdx_guest_quote.dat", 5, BodyType::tdx15, 5006, 0, 7, "0000001000000000", 1},
    {"tdx/cos_go_tdx_guest_quote.dat", 4, BodyType::tdx10, 4935, 3065, 6, "0000001000000000", 0},
    {"tdx/trustee_v4_quote.dat", 4, BodyType::tdx10, 4936, 0, 4, "0100001000000000", 1},
    {"tdx/trustee_v5_quote.dat", 5, BodyType::tdx15, 5006, 0, 6, "0000001000000000", 1},
    {"tdx/phala_v4_quote.dat", 4, BodyType::tdx10, 4936, 70, 6, "0000001000000000", 1},
    {"tdx/edgeless_qpl_quote.dat", 4, BodyType::tdx10, 4936, 0, 4, "0000001000000000", 1},
};

std::size_t count(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(TdxQuote, RealQuotesParse) {
  for (const RealQuote& c : kRealQuotes) {
    SCOPED_TRACE(c.file);
    const auto bytes = read_vector(c.file);
    const Quote q = parse_quote(bytes).value();
    EXPECT_EQ(q.header.version, c.version);
    EXPECT_EQ(q.header.attestation_key_type, kAttestationKeyEcdsaP256);
    EXPECT_EQ(q.header.tee_type, kTeeTypeTdx);
    EXPECT_EQ(q.header.qe_vendor_id, kIntelQeVendorId);
    EXPECT_EQ(q.body.type, c.body_type);
    EXPECT_EQ(q.raw.size(), c.size);
    EXPECT_EQ(q.trailing_size, c.trailing);
    EXPECT_TRUE(std::equal(q.raw.begin(), q.raw.end(), bytes.begin()));
    // v4 signs header ‖ body; v5 also the 6-byte body descriptor.
    EXPECT_EQ(q.signed_size, c.version == 4 ? 48u + 584u : 48u + 6u + 648u);
    EXPECT_EQ(q.qe_report.isv_svn, c.qe_isv_svn);
    EXPECT_EQ(q.qe_report.isv_prod_id, 2);  // the TD QE
    EXPECT_EQ(q.qe_auth_data.size(), 32u);
    EXPECT_EQ(crypto::to_hex(q.body.td_attributes), c.td_attributes);
    EXPECT_EQ(count(q.pck_chain_pem, "-----BEGIN CERTIFICATE-----"), 3u);
    EXPECT_EQ(q.pck_chain_pem.find('\0'), std::string::npos);
    EXPECT_EQ(q.pck_chain_padding, c.pck_chain_padding);
    // The PEM text and its padding end the signature data.
    EXPECT_TRUE(std::equal(
        q.pck_chain_pem.begin(), q.pck_chain_pem.end(),
        q.raw.end() - static_cast<std::ptrdiff_t>(q.pck_chain_pem.size() + q.pck_chain_padding),
        [](char a, std::byte b) { return std::byte(a) == b; }));
  }
}

TEST(TdxQuote, EdgelessQuoteFields) {
  const Quote q = parse_quote(read_vector("tdx/edgeless_qpl_quote.dat")).value();
  const std::string_view greeting = "Hello from Edgeless Systems!";
  EXPECT_EQ(
      std::string_view(reinterpret_cast<const char*>(q.body.report_data.data()), greeting.size()),
      greeting);
  // TDATTRIBUTES as Contrast requires: SEPT_VE_DISABLE (bit 28) only.
  EXPECT_EQ(q.body.td_attributes_word(), 0x10000000u);
  EXPECT_EQ(describe_td_attributes(q.body.td_attributes_word()), "SEPT_VE_DISABLE");
  EXPECT_EQ(crypto::to_hex(q.body.tee_tcb_svn), "03000500000000000000000000000000");
  EXPECT_EQ(crypto::to_hex(q.body.xfam), "e702060000000000");
  EXPECT_EQ(crypto::to_hex(q.qe_report.mr_signer),
            "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(q.qe_report.misc_select, 0u);
  EXPECT_EQ(crypto::to_hex(q.qe_report.attributes), "1500000000000000e700000000000000");
}

TEST(TdxQuote, Tdx15BodyFields) {
  const Quote q = parse_quote(read_vector("tdx/v5_go_tdx_guest_quote.dat")).value();
  EXPECT_EQ(body_type_name(q.body.type), "TDX 1.5");
  EXPECT_EQ(crypto::to_hex(q.body.tee_tcb_svn), "0b010400000000000000000000000000");
  EXPECT_EQ(crypto::to_hex(q.body.tee_tcb_svn2), "0d010400000000000000000000000000");
  // A TDX 1.0 body has neither.
  const Quote v4 = parse_quote(read_vector("tdx/trustee_v4_quote.dat")).value();
  EXPECT_EQ(v4.body.tee_tcb_svn2, decltype(v4.body.tee_tcb_svn2){});
}

TEST(TdxQuote, AttributeNames) {
  EXPECT_EQ(describe_td_attributes(0), "none");
  EXPECT_EQ(describe_td_attributes(0x10000001), "DEBUG, SEPT_VE_DISABLE");
  EXPECT_EQ(describe_td_attributes(1ULL << 38), "bit 38");
  EXPECT_EQ(describe_td_attributes(1ULL << 63 | 1ULL << 30), "PKS, PERFMON");
}

// Offsets in the v4 Edgeless quote (4300 bytes of signature data, 32 bytes
// of QE auth data).
constexpr std::size_t kSignatureDataLen = 0x278;
constexpr std::size_t kCertificationDataType = 0x2fc;
constexpr std::size_t kCertificationDataSize = 0x2fe;
constexpr std::size_t kQeAuthDataSize = 0x4c2;
constexpr std::size_t kPckType = 0x4e4;
constexpr std::size_t kPckSize = 0x4e6;
constexpr std::size_t kPckPem = 0x4ea;

void put_le(std::vector<std::byte>& b, std::size_t offset, std::uint32_t v, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) b[offset + i] = static_cast<std::byte>(v >> (8 * i));
}

// failure parses `bytes`, expects a failure with `code`, and returns its message.
std::string failure(const std::vector<std::byte>& bytes, errc code = errc::malformed_evidence) {
  auto q = parse_quote(bytes);
  EXPECT_FALSE(q);
  if (q) return {};
  EXPECT_EQ(q.error(), code) << q.error().message();
  return q.error().message();
}

TEST(TdxQuote, UnsupportedVariantsNameTheField) {
  const auto good = read_vector("tdx/edgeless_qpl_quote.dat");
  ASSERT_TRUE(parse_quote(good));
  auto b = good;
  put_le(b, 0x00, 3, 2);
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: VERSION at offset 0x0: version 3 is not supported (4, 5)");
  b = good;
  put_le(b, 0x02, 3, 2);
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: ATTESTATION_KEY_TYPE at offset 0x2: 3 is not 2 (ECDSA-256 with P-256)");
  b = good;
  put_le(b, 0x04, 0, 4);  // an SGX quote
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: TEE_TYPE at offset 0x4: 0x0 is not 0x81 (TDX)");
  b = good;
  put_le(b, kCertificationDataType, 5, 2);
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: CERTIFICATION_DATA_TYPE at offset 0x2fc: 5 is not 6 (QE report "
            "certification data)");
  b = good;
  put_le(b, kPckType, 4, 2);
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: PCK CERTIFICATION_DATA_TYPE at offset 0x4e4: 4 is not 5 (PCK certificate "
            "chain)");
}

TEST(TdxQuote, Version5BodyDescriptor) {
  const auto good = read_vector("tdx/v5_go_tdx_guest_quote.dat");
  auto b = good;
  put_le(b, 0x30, 1, 2);
  EXPECT_EQ(failure(b, errc::unsupported_evidence),
            "TDX quote: BODY_TYPE at offset 0x30: 1 is not supported (2 TDX 1.0, 3 TDX 1.5; 1 is "
            "an SGX report)");
  b = good;
  put_le(b, 0x30, 2, 2);  // a TDX 1.0 type with the TDX 1.5 size
  EXPECT_EQ(failure(b),
            "TDX quote: BODY_SIZE at offset 0x32: 648 does not match body type 2 (584 "
            "bytes)");
}

TEST(TdxQuote, LengthsMustAgree) {
  const auto good = read_vector("tdx/edgeless_qpl_quote.dat");
  auto b = good;
  put_le(b, kSignatureDataLen, 5000, 4);
  EXPECT_EQ(failure(b),
            "TDX quote: SIGNATURE_DATA_LEN at offset 0x278: 5000 exceeds the 4300 bytes that "
            "follow");
  b = good;
  put_le(b, kSignatureDataLen, 100, 4);  // reads stay inside the declared signature data
  EXPECT_EQ(failure(b), "TDX quote: ATTESTATION_KEY at offset 0x2bc: needs 64 bytes, 36 remain");
  b = good;
  put_le(b, kCertificationDataSize, 4165, 4);
  EXPECT_EQ(failure(b),
            "TDX quote: CERTIFICATION_DATA_SIZE at offset 0x2fe: 4165 does not match the 4166 "
            "bytes left in the signature data");
  b = good;
  put_le(b, kQeAuthDataSize, 5000, 2);
  EXPECT_EQ(failure(b),
            "TDX quote: QE_AUTH_DATA_SIZE at offset 0x4c2: 5000 exceeds the 3716 bytes that "
            "follow");
  b = good;
  put_le(b, kPckSize, 3000, 4);
  EXPECT_EQ(failure(b),
            "TDX quote: PCK CERTIFICATION_DATA_SIZE at offset 0x4e6: 3000 does not match the 3678 "
            "bytes left in the signature data");
}

TEST(TdxQuote, PckChainMustBePemText) {
  const auto good = read_vector("tdx/edgeless_qpl_quote.dat");
  auto b = good;
  b[kPckPem + 10] = std::byte{0x01};
  EXPECT_EQ(failure(b),
            "TDX quote: PCK certificate chain at offset 0x4ea: byte 0x1 at offset 0x4f4 is not "
            "PEM text");
  b = good;
  std::fill(b.begin() + kPckPem, b.end(), std::byte{0});
  EXPECT_EQ(failure(b), "TDX quote: PCK certificate chain at offset 0x4ea: is empty");
}

TEST(TdxQuote, TruncatedQuotesNameTheField) {
  const auto good = read_vector("tdx/edgeless_qpl_quote.dat");
  EXPECT_EQ(failure(std::vector(good.begin(), good.begin() + 40)),
            "TDX quote: header at offset 0x0: needs 48 bytes, 40 remain");
  EXPECT_EQ(failure(std::vector(good.begin(), good.begin() + 600)),
            "TDX quote: TD quote body at offset 0x30: needs 584 bytes, 552 remain");
  EXPECT_EQ(failure(std::vector(good.begin(), good.begin() + 634)),
            "TDX quote: SIGNATURE_DATA_LEN at offset 0x278: needs 4 bytes, 2 remain");
  // Every cut of the quote fails (the signature data declares its length),
  // with a message that says it is about a TDX quote.
  for (std::size_t n = 0; n < good.size(); ++n) {
    auto q = parse_quote(std::span(good).first(n));
    ASSERT_FALSE(q) << n;
    ASSERT_EQ(q.error().message().rfind("TDX quote: ", 0), 0u) << q.error().message();
  }
}

TEST(TdxQuote, TrailingBytesAreIgnored) {
  auto bytes = read_vector("tdx/edgeless_qpl_quote.dat");
  const Quote plain = parse_quote(bytes).value();
  bytes.resize(8000, std::byte{0});
  bytes.back() = std::byte{0x5a};
  const Quote padded = parse_quote(bytes).value();
  EXPECT_EQ(padded.raw, plain.raw);
  EXPECT_EQ(padded.trailing_size, 8000u - 4936u);
  EXPECT_EQ(padded.pck_chain_pem, plain.pck_chain_pem);
}

}  // namespace
}  // namespace cipherline::attest::tdx
