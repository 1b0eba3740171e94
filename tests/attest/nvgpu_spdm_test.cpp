// NVIDIA GPU attestation: parsing the real H100 SPDM report, verifying it
// against its certificate chain and the built-in NVIDIA root, and each check
// and each parse error failing for the right reason.
#include <gtest/gtest.h>

#include <algorithm>

#include "cipherline/attest/error.hpp"
#include "cipherline/attest/nvgpu/spdm.hpp"
#include "cipherline/attest/nvgpu/verify.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::nvgpu {
namespace {

using namespace std::chrono;
using testing::read_text;
using testing::read_vector;

// Inside every certificate's validity (the latest starts 2022-03-01; none
// ends before 9999).
const system_clock::time_point kAt = sys_days(year{2024} / 6 / 1);

constexpr std::string_view kRequestNonce =
    "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
constexpr std::string_view kBlock2 =
    "8048dfd18fe229bf16eb9d30cca0f11a24dafe6eb731de1462984645a0b189b77c4e4e17de727a5e19e3d07de51da"
    "338";
constexpr std::string_view kBlock3 =
    "164f445c3e282ca8e4ab07c2179b8e02c8e3a2ceb83f9fae8dddaee70aa57207d87792d1481b46c02f9dba6e1fe1"
    "e77e";

// Offsets in the decoded report (request 37 bytes, then the response).
constexpr std::size_t kResponse = kRequestSize;
constexpr std::size_t kRecord = kResponse + 8;               // 64 blocks of 55 bytes
constexpr std::size_t kResponderNonce = kRecord + 3520;      // response offset 0xdc8
constexpr std::size_t kOpaqueLength = kResponderNonce + 32;  // response offset 0xde8
constexpr std::size_t kOpaque = kOpaqueLength + 2;           // 422 bytes
constexpr std::size_t kSignature = kOpaque + 422;            // response offset 0xf90

std::vector<std::byte> report_bytes() {
  return crypto::from_hex(read_text("nvgpu/h100_report.txt")).value();
}

std::vector<crypto::Certificate> h100_chain() {
  return crypto::Certificate::all_from_pem(read_text("nvgpu/h100_cert_chain.pem")).value();
}

std::array<std::byte, kNonceSize> nonce_of(std::string_view hex) {
  std::array<std::byte, kNonceSize> out{};
  crypto::hex_decode(hex, out).value();
  return out;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

const Check& check_named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> out;
  for (const Check& c : r.checks()) {
    if (!c.passed) out.push_back(c.name);
  }
  return out;
}

VerificationReport verify(const AttestationReport& report, const ReferenceValues& reference = {},
                          const TrustedGpuRoot& root = nvidia_root()) {
  const auto chain = h100_chain();
  return verify_report(report, chain, root, nonce_of(kRequestNonce), reference, kAt);
}

// parse_error returns the message of a parse that must fail.
std::string parse_error(std::span<const std::byte> bytes, errc code = errc::malformed_evidence) {
  auto report = parse_report(bytes);
  if (report) return "(parsed)";
  EXPECT_EQ(report.error(), code) << report.error().message();
  return report.error().message();
}

TEST(NvgpuSpdm, BuiltInRootIsNvidiasDeviceIdentityCa) {
  const TrustedGpuRoot& root = nvidia_root();
  EXPECT_FALSE(root.development);
  EXPECT_EQ(crypto::to_hex(root.certificate.fingerprint_sha256()), nvidia_root_fingerprint());
  const auto published =
      crypto::Certificate::from_pem(read_text("nvgpu/nvidia_device_identity_ca.pem")).value();
  EXPECT_EQ(root.certificate.der(), published.der());
  EXPECT_NE(root.certificate.subject().find("CN=NVIDIA Device Identity CA"), std::string::npos);
}

TEST(NvgpuSpdm, ParsesTheH100Request) {
  const AttestationReport report = parse_report(report_bytes()).value();
  EXPECT_EQ(report.raw.size(), 4117u);
  EXPECT_EQ(report.request.version, 0x11);
  EXPECT_EQ(report.request.attributes, 0x01);  // signature requested
  EXPECT_EQ(report.request.operation, 0xFF);   // every block
  EXPECT_EQ(report.request.slot_id, 0);
  EXPECT_EQ(crypto::to_hex(report.request.nonce), kRequestNonce);
  EXPECT_EQ(report.request_bytes().size(), 37u);
  EXPECT_EQ(report.response_bytes().size(), 4080u);
  EXPECT_EQ(report.signed_bytes().size(), 4117u - 96u);
}

TEST(NvgpuSpdm, ParsesTheH100Response) {
  const AttestationReport report = parse_report(report_bytes()).value();
  const MeasurementsResponse& r = report.response;
  EXPECT_EQ(r.version, 0x11);
  ASSERT_EQ(r.blocks.size(), 64u);
  for (std::size_t i = 0; i < r.blocks.size(); ++i) {
    EXPECT_EQ(r.blocks[i].index, i + 1);
    EXPECT_EQ(r.blocks[i].value_type, 0x01);  // a digest of mutable firmware
    EXPECT_EQ(r.blocks[i].value.size(), 48u);
  }
  ASSERT_NE(report.block(2), nullptr);
  EXPECT_EQ(crypto::to_hex(report.block(2)->value), kBlock2);
  EXPECT_EQ(crypto::to_hex(report.block(3)->value), kBlock3);
  EXPECT_EQ(report.block(65), nullptr);
  EXPECT_EQ(crypto::to_hex(r.nonce),
            "b4b8a06aaaa35542839388e159d447a5d6f6194998fd86513e2d591ccf640985");
  EXPECT_EQ(crypto::to_hex(std::span(r.signature).first(10)), "90d679ad2c04147eb31f");

  EXPECT_EQ(report.driver_version, "550.90.07");
  EXPECT_EQ(report.vbios_version, "96.00.9F.00.01");
  EXPECT_EQ(report.project, "1010");
  EXPECT_EQ(report.project_sku, "0200");
  EXPECT_EQ(report.chip_sku, "882");
  EXPECT_EQ(r.opaque.size(), 14u);
  const OpaqueField* vbios = report.opaque(OpaqueType::vbios_version);
  ASSERT_NE(vbios, nullptr);
  EXPECT_EQ(crypto::to_hex(vbios->value), "009f009601000000");
  const OpaqueField* fwid = report.opaque(OpaqueType::fwid);
  ASSERT_NE(fwid, nullptr);
  EXPECT_EQ(fwid->value.size(), 48u);
  const OpaqueField* msrscnt = report.opaque(OpaqueType::msrscnt);
  ASSERT_NE(msrscnt, nullptr);
  EXPECT_EQ(msrscnt->value.size(), 256u);
  EXPECT_EQ(report.opaque(OpaqueType::cert_issuer_name), nullptr);
  EXPECT_EQ(opaque_type_name(20), "FWID");
  EXPECT_EQ(opaque_type_name(999), "type 999");
}

TEST(NvgpuSpdm, HexTextAndBinaryParseAlike) {
  const auto binary = report_bytes();
  const auto from_binary = parse_report(binary).value();
  const auto from_text = parse_report(read_vector("nvgpu/h100_report.txt")).value();
  EXPECT_EQ(from_text.raw, binary);
  EXPECT_EQ(from_binary.raw, binary);
  // Upper case, wrapped lines and a trailing newline are text too.
  std::string text = read_text("nvgpu/h100_report.txt");
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  for (std::size_t at = 64; at < text.size(); at += 65) text.insert(at, "\n");
  text += "\r\n";
  EXPECT_EQ(parse_report(bytes_of(text)).value().raw, binary);
  // An odd number of digits is named as such.
  const std::string odd = read_text("nvgpu/h100_report.txt") + "0";
  const std::string message = parse_error(bytes_of(odd));
  EXPECT_NE(message.find("SPDM report: hex text"), std::string::npos) << message;
}

TEST(NvgpuSpdm, VbiosVersionFormat) {
  const auto field = crypto::from_hex("009f009601000000").value();
  EXPECT_EQ(format_vbios_version(std::span(field).first<8>()), "96.00.9F.00.01");
  const auto encoded = encode_vbios_version("96.00.9f.00.01").value();
  EXPECT_EQ(crypto::to_hex(encoded), "009f009601000000");
  // A high word above one byte is shown whole, not truncated.
  const auto wide = crypto::from_hex("009f009601010000").value();
  EXPECT_EQ(format_vbios_version(std::span(wide).first<8>()), "96.00.9F.00.101");
  EXPECT_EQ(crypto::to_hex(encode_vbios_version("96.00.9F.00.101").value()), "009f009601010000");
  for (std::string_view bad : {"", "96.00.9F.00", "96.00.9F.00.01.02", "96..9F.00.01",
                               "960.00.9F.00.01", "96.00.9G.00.01", "96.00.9F.00."}) {
    EXPECT_FALSE(encode_vbios_version(bad)) << bad;
  }
}

TEST(NvgpuSpdm, RealReportVerifies) {
  const AttestationReport report = parse_report(report_bytes()).value();
  ReferenceValues reference;
  reference.driver_versions = {"535.104.05", "550.90.07"};
  reference.vbios_versions = {"96.00.9f.00.01"};  // case does not matter
  reference.measurements = {{2, {crypto::from_hex(kBlock2).value()}},
                            {3, {std::vector<std::byte>(48), crypto::from_hex(kBlock3).value()}}};
  const VerificationReport r = verify(report, reference);
  EXPECT_TRUE(r.passed()) << r.to_text();
  std::vector<std::string> names;
  for (const Check& c : r.checks()) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"root", "certificate chain", "leaf key",
                                             "report signature", "nonce", "driver version",
                                             "VBIOS version", "measurement 2", "measurement 3"}));
  EXPECT_EQ(*r.find_claim("driver version"), "550.90.07");
  EXPECT_EQ(*r.find_claim("VBIOS version"), "96.00.9F.00.01");
  EXPECT_EQ(*r.find_claim("nonce"), kRequestNonce);
  EXPECT_EQ(*r.find_claim("measurement 2"), kBlock2);
  EXPECT_NE(r.find_claim("measurement 64"), nullptr);
  EXPECT_EQ(*r.find_claim("SPDM version"), "1.1");
  EXPECT_NE(r.find_claim("leaf subject")->find("CN=GH100 A01 GSP FMC LF"), std::string::npos);

  // Without reference values only identity, integrity and freshness run.
  const VerificationReport bare = verify(report);
  EXPECT_TRUE(bare.passed()) << bare.to_text();
  EXPECT_EQ(bare.checks().size(), 5u);
}

TEST(NvgpuSpdm, AChangedSignedByteFailsTheSignatureOnly) {
  const std::size_t offsets[] = {
      3,                    // request Param2
      kRecord + 55 + 7,     // the first byte of block 2's value
      kResponderNonce + 5,  // the responder's nonce
      kResponderNonce - 1,  // the last byte of block 64's value
      kSignature - 1,       // the last signed byte (protected PCIe status)
  };
  for (std::size_t offset : offsets) {
    auto bytes = report_bytes();
    bytes[offset] ^= std::byte{0x01};
    const AttestationReport tampered = parse_report(bytes).value();
    const VerificationReport r = verify(tampered);
    EXPECT_EQ(failed_checks(r), std::vector<std::string>{"report signature"})
        << "offset " << offset << "\n"
        << r.to_text();
  }
  // A changed signature fails the same way.
  auto bytes = report_bytes();
  bytes[kSignature + 20] ^= std::byte{0x80};
  EXPECT_EQ(failed_checks(verify(parse_report(bytes).value())),
            std::vector<std::string>{"report signature"});
}

TEST(NvgpuSpdm, AnotherNonceFailsTheNonceCheck) {
  const AttestationReport report = parse_report(report_bytes()).value();
  auto expected = nonce_of(kRequestNonce);
  expected[31] ^= std::byte{0x01};
  const auto chain = h100_chain();
  const VerificationReport r = verify_report(report, chain, nvidia_root(), expected, {}, kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"nonce"}) << r.to_text();
  const Check& nonce = check_named(r, "nonce");
  EXPECT_EQ(nonce.actual, kRequestNonce);
  EXPECT_EQ(nonce.expected, crypto::to_hex(expected));
  // The responder's nonce is not the verifier's.
  const VerificationReport responder =
      verify_report(report, chain, nvidia_root(), report.response.nonce, {}, kAt);
  EXPECT_FALSE(check_named(responder, "nonce").passed);
}

TEST(NvgpuSpdm, NoExpectedNonceFailsTheNonceCheckSayingFreshnessIsUnknown) {
  const AttestationReport report = parse_report(report_bytes()).value();
  const VerificationReport r = verify_report(report, h100_chain(), nvidia_root(), {}, {}, kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"nonce"}) << r.to_text();
  EXPECT_EQ(check_named(r, "nonce").actual,
            "not checked: no nonce given, so freshness is not established");
}

TEST(NvgpuSpdm, AForeignRootFailsThePinAndTheChain) {
  const AttestationReport report = parse_report(report_bytes()).value();
  // A genuine NVIDIA root, but the one that signs RIMs, not devices.
  TrustedGpuRoot foreign{
      crypto::Certificate::from_pem(read_text("nvgpu/nvidia_corim_signing_root_ca.pem")).value(),
      false};
  VerificationReport r = verify(report, {}, foreign);
  EXPECT_EQ(failed_checks(r), (std::vector<std::string>{"root", "certificate chain"}))
      << r.to_text();
  EXPECT_EQ(check_named(r, "root").expected, nvidia_root_fingerprint());
  // Trusting it as a development root passes the pin, never the chain.
  foreign.development = true;
  r = verify(report, {}, foreign);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"certificate chain"}) << r.to_text();
  EXPECT_NE(check_named(r, "certificate chain").actual.find("unable to get local issuer"),
            std::string::npos)
      << check_named(r, "certificate chain").actual;
}

TEST(NvgpuSpdm, TheChainIsCheckedAtTheGivenTime) {
  const AttestationReport report = parse_report(report_bytes()).value();
  const auto chain = h100_chain();
  const VerificationReport r = verify_report(report, chain, nvidia_root(), nonce_of(kRequestNonce),
                                             {}, sys_days(year{2021} / 1 / 1));
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"certificate chain"});
  EXPECT_NE(check_named(r, "certificate chain").actual.find("not yet valid"), std::string::npos)
      << check_named(r, "certificate chain").actual;
}

TEST(NvgpuSpdm, AnotherLeafOrNoChainFailsTheSignature) {
  const AttestationReport report = parse_report(report_bytes()).value();
  const auto chain = h100_chain();
  // The BROM certificate as leaf: it chains, but its key did not sign.
  const VerificationReport brom = verify_report(report, std::span(chain).subspan(1), nvidia_root(),
                                                nonce_of(kRequestNonce), {}, kAt);
  EXPECT_EQ(failed_checks(brom), std::vector<std::string>{"report signature"}) << brom.to_text();
  const VerificationReport none =
      verify_report(report, {}, nvidia_root(), nonce_of(kRequestNonce), {}, kAt);
  EXPECT_EQ(failed_checks(none),
            (std::vector<std::string>{"certificate chain", "leaf key", "report signature"}));
}

TEST(NvgpuSpdm, ReferenceMismatchesFailByName) {
  const AttestationReport report = parse_report(report_bytes()).value();
  ReferenceValues reference;
  reference.driver_versions = {"535.104.05"};
  reference.vbios_versions = {"96.00.5E.00.01"};
  reference.measurements = {{2, {crypto::from_hex(kBlock3).value()}},
                            {3, {crypto::from_hex(kBlock3).value()}},
                            {100, {crypto::from_hex(kBlock3).value()}}};
  const VerificationReport r = verify(report, reference);
  EXPECT_EQ(failed_checks(r), (std::vector<std::string>{"driver version", "VBIOS version",
                                                        "measurement 2", "measurement 100"}))
      << r.to_text();
  EXPECT_EQ(check_named(r, "driver version").actual, "550.90.07");
  EXPECT_EQ(check_named(r, "measurement 2").actual, kBlock2);
  EXPECT_EQ(check_named(r, "measurement 2").expected, "one of " + std::string(kBlock3));
  EXPECT_EQ(check_named(r, "measurement 100").actual, "no block 100");
}

TEST(NvgpuSpdm, ReferenceMeasurementsFromJson) {
  const std::string json = R"([
    {"index": 3, "values": [")" +
                           std::string(kBlock3) + R"("]},
    {"index": 2, "values": ["00", ")" +
                           std::string(kBlock2) + R"("]}
  ])";
  const auto measurements = parse_reference_measurements(json).value();
  ASSERT_EQ(measurements.size(), 2u);
  EXPECT_EQ(measurements[0].index, 2);  // sorted
  EXPECT_EQ(measurements[0].allowed.size(), 2u);
  EXPECT_EQ(crypto::to_hex(measurements[1].allowed[0]), kBlock3);
  const AttestationReport report = parse_report(report_bytes()).value();
  EXPECT_TRUE(verify(report, {.measurements = measurements}).passed());
  EXPECT_TRUE(parse_reference_measurements("[]").value().empty());

  const struct {
    const char* json;
    const char* message;
  } bad[] = {
      {R"({"index": 1})", "document: not a JSON list"},
      {R"([)", "document: "},
      {R"([7])", "[0]: not an object"},
      {R"([{"values": ["00"]}])", "[0].index: missing"},
      {R"([{"index": -1, "values": ["00"]}])", "[0].index: not a non-negative integer"},
      {R"([{"index": 0, "values": ["00"]}])", "[0].index: 0 is not an SPDM block index"},
      {R"([{"index": 255, "values": ["00"]}])", "[0].index: 255 is not an SPDM block index"},
      {R"([{"index": 1, "values": ["00"]}, {"index": 1, "values": ["01"]}])",
       "[1].index: 1 appears twice"},
      {R"([{"index": 1}])", "[0].values: missing"},
      {R"([{"index": 1, "values": "00"}])", "[0].values: not a list"},
      {R"([{"index": 1, "values": []}])", "[0].values: no allowed value"},
      {R"([{"index": 1, "values": [1]}])", "[0].values[0]: not a string"},
      {R"([{"index": 1, "values": [""]}])", "[0].values[0]: empty"},
      {R"([{"index": 1, "values": ["0g"]}])", "[0].values[0]: not hex"},
  };
  for (const auto& c : bad) {
    auto parsed = parse_reference_measurements(c.json);
    ASSERT_FALSE(parsed) << c.json;
    EXPECT_EQ(parsed.error(), errc::malformed_evidence);
    EXPECT_NE(
        parsed.error().message().find(std::string("GPU reference measurements: ") + c.message),
        std::string::npos)
        << parsed.error().message();
  }
}

TEST(NvgpuSpdm, TruncationsNameTheField) {
  const auto bytes = report_bytes();
  const struct {
    std::size_t size;
    const char* message;
  } cases[] = {
      {0, "SPDM request: SPDMVersion at offset 0x0: truncated (1 bytes, 0 remain)"},
      {3, "SPDM request: Param2 at offset 0x3: truncated"},
      {20, "SPDM request: Nonce at offset 0x4: truncated (32 bytes, 16 remain)"},
      {36, "SPDM request: SlotIDParam at offset 0x24: truncated"},
      {37, "SPDM response: SPDMVersion at offset 0x0: truncated"},
      {kResponse + 6, "SPDM response: MeasurementRecordLength at offset 0x5: truncated"},
      {kResponse + 100,
       "SPDM response: MeasurementRecordLength at offset 0x5: 3520 bytes, only 92"},
      {kResponderNonce + 10,
       "SPDM response: Nonce at offset 0xdc8: truncated (32 bytes, 10 remain)"},
      {kOpaqueLength + 1, "SPDM response: OpaqueLength at offset 0xde8: truncated"},
      {kOpaque + 100, "SPDM response: OpaqueLength at offset 0xde8: 422 bytes, only 100 remain"},
      {kSignature + 50,
       "SPDM response: Signature at offset 0xf90: 50 bytes, expected 96 (ECDSA P-384 r and s)"},
      {kSignature, "SPDM response: Signature at offset 0xf90: 0 bytes, expected 96"},
  };
  for (const auto& c : cases) {
    const std::string message = parse_error(std::span(bytes).first(c.size));
    EXPECT_NE(message.find(c.message), std::string::npos) << "size " << c.size << ": " << message;
  }
  auto longer = bytes;
  longer.push_back(std::byte{0});
  EXPECT_NE(parse_error(longer).find("Signature at offset 0xf90: 97 bytes, expected 96"),
            std::string::npos);
}

TEST(NvgpuSpdm, MalformedFieldsAreNamed) {
  const auto original = report_bytes();
  const struct {
    std::size_t offset;
    std::uint8_t value;
    const char* message;
    errc code;
  } cases[] = {
      {0, 0x12, "SPDM request: SPDMVersion at offset 0x0: version 1.2 is not supported (1.1)",
       errc::unsupported_evidence},
      {1, 0x60, "SPDM request: RequestResponseCode at offset 0x1: 0x60 is not GET_MEASUREMENTS",
       errc::malformed_evidence},
      {2, 0x00, "SPDM request: Param1 at offset 0x2: 0x0: no signature requested",
       errc::malformed_evidence},
      {36, 0x08, "SPDM request: SlotIDParam at offset 0x24: 0x8 is not a slot",
       errc::malformed_evidence},
      {kResponse, 0x10,
       "SPDM response: SPDMVersion at offset 0x0: version 1.0 differs from the "
       "request's 1.1",
       errc::malformed_evidence},
      {kResponse + 1, 0x7F, "SPDM response: RequestResponseCode at offset 0x1: an SPDM ERROR",
       errc::malformed_evidence},
      {kResponse + 4, 63,
       "SPDM response: NumberOfBlocks at offset 0x4: 63 blocks, the record "
       "holds 64",
       errc::malformed_evidence},
      {kRecord, 0, "SPDM response: measurement block 1 Index at offset 0x8: 0 is reserved",
       errc::malformed_evidence},
      {kRecord + 55, 1,
       "SPDM response: measurement block 2 Index at offset 0x3f: index 1 appears "
       "twice",
       errc::malformed_evidence},
      {kRecord + 1, 2,
       "SPDM response: measurement block 1 MeasurementSpecification at offset "
       "0x9: 0x2 is not DMTF",
       errc::unsupported_evidence},
      {kRecord + 2, 52,
       "SPDM response: measurement block 1 DMTFSpecMeasurementValueSize at "
       "offset 0xd: 48 bytes, the block leaves 49",
       errc::malformed_evidence},
      {kRecord + 3, 0x10,
       "SPDM response: measurement block 1 MeasurementSize at offset 0xa: 4147 "
       "bytes, only 3516 remain",
       errc::malformed_evidence},
      {kOpaqueLength + 1, 0x04, "SPDM response: OpaqueLength at offset 0xde8: 1190 bytes exceeds",
       errc::malformed_evidence},
      // The last opaque field (protected PCIe status, 1 byte) claims 2.
      {kSignature - 3, 2,
       "SPDM response: opaque field 14 length at offset 0xf8d: 2 bytes of "
       "protected PCIe status, only 1 remain in the opaque data",
       errc::malformed_evidence},
      // The second field (board ID) becomes a second VBIOS version.
      {kOpaque + 12, 6,
       "SPDM response: opaque field 2 type at offset 0xdf6: VBIOS version "
       "appears twice",
       errc::malformed_evidence},
  };
  for (const auto& c : cases) {
    auto bytes = original;
    bytes[c.offset] = static_cast<std::byte>(c.value);
    const std::string message = parse_error(bytes, c.code);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "offset " << c.offset << ": " << message;
  }
}

TEST(NvgpuSpdm, OpaqueFieldsAreDecodedStrictly) {
  const auto bytes = report_bytes();
  // The VBIOS version must have 8 bytes: make the 4-byte board ID (the
  // second field, value at response offset 0xdfa) the only VBIOS version.
  auto short_vbios = bytes;
  short_vbios[kOpaque] = std::byte{0xE7};       // the real VBIOS field becomes type 231
  short_vbios[kOpaque + 12] = std::byte{0x06};  // and board ID becomes VBIOS version
  std::string message = parse_error(short_vbios);
  EXPECT_NE(
      message.find("SPDM response: opaque VBIOS version at offset 0xdfa: 4 bytes, expected 8"),
      std::string::npos)
      << message;

  // Text fields: printable ASCII, then NUL padding. The driver version
  // "550.90.07\0" starts at response offset 0xe30.
  const std::size_t driver = kResponse + 0xe30;
  ASSERT_EQ(crypto::to_hex(std::span(bytes).subspan(driver, 10)), "3535302e39302e303700");
  auto control = bytes;
  control[driver + 3] = std::byte{0x01};
  message = parse_error(control);
  EXPECT_NE(message.find(
                "SPDM response: opaque driver version at offset 0xe33: 0x1 is not printable ASCII"),
            std::string::npos)
      << message;
  auto split = bytes;
  split[driver + 4] = std::byte{0};  // "550.\0" followed by "0.07\0"
  message = parse_error(split);
  EXPECT_NE(message.find("opaque driver version at offset"), std::string::npos) << message;
  EXPECT_NE(message.find("followed by bytes other than NUL padding"), std::string::npos) << message;
  auto unterminated = bytes;
  unterminated[driver + 9] = std::byte{'x'};
  EXPECT_EQ(parse_report(unterminated).value().driver_version, "550.90.07x");
}

}  // namespace
}  // namespace cipherline::attest::nvgpu
