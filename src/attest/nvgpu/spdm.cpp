#include "cipherline/attest/nvgpu/spdm.hpp"

#include <algorithm>
#include <optional>

#include "../assign_or_return.hpp"
#include "../hex_format.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::attest::nvgpu {
namespace {

constexpr std::size_t kOpaqueLimit = 1024;  // SPDM 1.1: OpaqueLength ≤ 1024

std::string version_text(std::uint8_t v) {
  return std::to_string(v >> 4) + "." + std::to_string(v & 0x0F);
}

// Reads one SPDM message, or a part of one, front to back. Offsets are
// relative to the start of the message (`base` is where the part begins),
// and errors name the message, the field and that offset.
class Cursor {
 public:
  Cursor(std::span<const std::byte> bytes, std::string_view message, std::size_t base = 0) noexcept
      : bytes_(bytes), message_(message), base_(base) {}

  std::size_t offset() const noexcept { return base_ + at_; }
  std::size_t remaining() const noexcept { return bytes_.size() - at_; }

  Error error(std::string_view field, std::size_t offset, const std::string& why,
              attest::errc code = errc::malformed_evidence) const {
    return Error(code, std::string(message_) + ": " + std::string(field) + " at offset " +
                           attest::internal::hex_number(offset) + ": " + why);
  }

  Result<std::span<const std::byte>, Error> take(std::string_view field, std::size_t size) {
    if (size > remaining()) {
      return error(field, offset(),
                   "truncated (" + std::to_string(size) + " bytes, " + std::to_string(remaining()) +
                       " remain)");
    }
    const auto out = bytes_.subspan(at_, size);
    at_ += size;
    return out;
  }
  // le reads a little-endian unsigned integer of `size` bytes (at most 4).
  Result<std::uint32_t, Error> le(std::string_view field, std::size_t size) {
    auto b = take(field, size);
    if (!b) return b.error();
    std::uint32_t v = 0;
    for (std::size_t i = size; i-- > 0;) v = (v << 8) | std::to_integer<std::uint32_t>((*b)[i]);
    return v;
  }

 private:
  std::span<const std::byte> bytes_;
  std::string_view message_;
  std::size_t base_;
  std::size_t at_ = 0;
};

int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// hex_digits returns the digits of a report written as hex text (hex digits
// and white space, nothing else), or nothing for any other input.
std::optional<std::string> hex_digits(std::span<const std::byte> bytes) {
  std::string digits;
  digits.reserve(bytes.size());
  for (std::byte b : bytes) {
    const auto c = std::to_integer<unsigned char>(b);
    if (hex_value(c) >= 0) {
      digits.push_back(static_cast<char>(c));
    } else if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
      return std::nullopt;
    }
  }
  if (digits.empty()) return std::nullopt;
  return digits;
}

Result<MeasurementsRequest, Error> parse_request(std::span<const std::byte> bytes) {
  Cursor in(bytes, "SPDM request");
  MeasurementsRequest r;
  ASSIGN_OR_RETURN(version, in.le("SPDMVersion", 1));
  if (version != kSpdmVersion) {
    return in.error(
        "SPDMVersion", 0,
        "version " + version_text(static_cast<std::uint8_t>(version)) + " is not supported (1.1)",
        errc::unsupported_evidence);
  }
  r.version = static_cast<std::uint8_t>(version);
  ASSIGN_OR_RETURN(code, in.le("RequestResponseCode", 1));
  if (code != kGetMeasurements) {
    return in.error("RequestResponseCode", 1,
                    attest::internal::hex_number(code) + " is not GET_MEASUREMENTS (0xe0)");
  }
  ASSIGN_OR_RETURN(attributes, in.le("Param1", 1));
  if ((attributes & 1) == 0) {
    return in.error("Param1", 2,
                    attest::internal::hex_number(attributes) +
                        ": no signature requested, so the report is unsigned");
  }
  r.attributes = static_cast<std::uint8_t>(attributes);
  ASSIGN_OR_RETURN(operation, in.le("Param2", 1));
  r.operation = static_cast<std::uint8_t>(operation);
  ASSIGN_OR_RETURN(nonce, in.take("Nonce", kNonceSize));
  std::copy(nonce.begin(), nonce.end(), r.nonce.begin());
  ASSIGN_OR_RETURN(slot, in.le("SlotIDParam", 1));
  if (slot > 7)
    return in.error("SlotIDParam", 36, attest::internal::hex_number(slot) + " is not a slot (0-7)");
  r.slot_id = static_cast<std::uint8_t>(slot);
  return r;
}

// parse_record reads the measurement record, which starts at `base` in the
// response and must hold exactly `expected_blocks` blocks.
Result<std::vector<MeasurementBlock>, Error> parse_record(std::span<const std::byte> record,
                                                          std::size_t base,
                                                          std::size_t expected_blocks) {
  Cursor in(record, "SPDM response", base);
  std::vector<MeasurementBlock> blocks;
  std::array<bool, 256> seen{};
  while (in.remaining() > 0) {
    const std::string name = "measurement block " + std::to_string(blocks.size() + 1) + " ";
    const std::size_t start = in.offset();
    ASSIGN_OR_RETURN(index, in.le(name + "Index", 1));
    if (index == 0 || index == 0xFF) {
      return in.error(name + "Index", start, std::to_string(index) + " is reserved");
    }
    if (seen[index]) {
      return in.error(name + "Index", start, "index " + std::to_string(index) + " appears twice");
    }
    seen[index] = true;
    ASSIGN_OR_RETURN(specification, in.le(name + "MeasurementSpecification", 1));
    if (specification != 1) {
      return in.error(name + "MeasurementSpecification", start + 1,
                      attest::internal::hex_number(specification) + " is not DMTF (0x1)",
                      errc::unsupported_evidence);
    }
    ASSIGN_OR_RETURN(size, in.le(name + "MeasurementSize", 2));
    if (size > in.remaining()) {
      return in.error(name + "MeasurementSize", start + 2,
                      std::to_string(size) + " bytes, only " + std::to_string(in.remaining()) +
                          " remain in the record");
    }
    if (size < 3) {
      return in.error(name + "MeasurementSize", start + 2,
                      std::to_string(size) + " bytes cannot hold a DMTF measurement (3 or more)");
    }
    MeasurementBlock b;
    b.index = static_cast<std::uint8_t>(index);
    ASSIGN_OR_RETURN(value_type, in.le(name + "DMTFSpecMeasurementValueType", 1));
    b.value_type = static_cast<std::uint8_t>(value_type);
    ASSIGN_OR_RETURN(value_size, in.le(name + "DMTFSpecMeasurementValueSize", 2));
    if (value_size != size - 3) {
      return in.error(
          name + "DMTFSpecMeasurementValueSize", start + 5,
          std::to_string(value_size) + " bytes, the block leaves " + std::to_string(size - 3));
    }
    ASSIGN_OR_RETURN(value, in.take(name + "DMTFSpecMeasurementValue", value_size));
    b.value.assign(value.begin(), value.end());
    blocks.push_back(std::move(b));
  }
  if (blocks.size() != expected_blocks) {
    return in.error("NumberOfBlocks", 4,
                    std::to_string(expected_blocks) + " blocks, the record holds " +
                        std::to_string(blocks.size()));
  }
  return blocks;
}

// One opaque field with the offset of its value in the response.
struct PlacedField {
  OpaqueField field;
  std::size_t value_offset = 0;
};

// text_field decodes printable ASCII padded with NULs ("550.90.07\0").
Result<std::string, Error> text_field(const Cursor& response, const PlacedField& placed) {
  const auto& v = placed.field.value;
  const auto end = std::find(v.begin(), v.end(), std::byte{0});
  const std::string name = "opaque " + opaque_type_name(placed.field.type);
  for (auto it = v.begin(); it != end; ++it) {
    const auto c = std::to_integer<unsigned char>(*it);
    if (c < 0x20 || c > 0x7E) {
      return response.error(name, placed.value_offset + static_cast<std::size_t>(it - v.begin()),
                            attest::internal::hex_number(c) + " is not printable ASCII");
    }
  }
  if (std::any_of(end, v.end(), [](std::byte b) { return b != std::byte{0}; })) {
    return response.error(name, placed.value_offset,
                          "the text is followed by bytes other than NUL padding");
  }
  return std::string(reinterpret_cast<const char*>(v.data()),
                     static_cast<std::size_t>(end - v.begin()));
}

// parse_opaque reads NVIDIA's opaque data, which starts at `base` in the
// response: type-length-value fields (u16, u16, value) that fill it exactly.
Result<std::vector<PlacedField>, Error> parse_opaque(std::span<const std::byte> data,
                                                     std::size_t base) {
  Cursor in(data, "SPDM response", base);
  std::vector<PlacedField> fields;
  while (in.remaining() > 0) {
    const std::string name = "opaque field " + std::to_string(fields.size() + 1) + " ";
    const std::size_t start = in.offset();
    PlacedField placed;
    ASSIGN_OR_RETURN(type, in.le(name + "type", 2));
    placed.field.type = static_cast<std::uint16_t>(type);
    for (const PlacedField& earlier : fields) {
      if (earlier.field.type == type) {
        return in.error(name + "type", start,
                        opaque_type_name(placed.field.type) + " appears twice");
      }
    }
    ASSIGN_OR_RETURN(length, in.le(name + "length", 2));
    if (length > in.remaining()) {
      return in.error(name + "length", start + 2,
                      std::to_string(length) + " bytes of " + opaque_type_name(placed.field.type) +
                          ", only " + std::to_string(in.remaining()) +
                          " remain in the opaque data");
    }
    placed.value_offset = in.offset();
    ASSIGN_OR_RETURN(value, in.take(name + "value", length));
    placed.field.value.assign(value.begin(), value.end());
    fields.push_back(std::move(placed));
  }
  return fields;
}

}  // namespace

std::string opaque_type_name(std::uint16_t type) {
  switch (static_cast<OpaqueType>(type)) {
    case OpaqueType::cert_issuer_name:
      return "certificate issuer name";
    case OpaqueType::cert_authority_key_id:
      return "certificate authority key identifier";
    case OpaqueType::driver_version:
      return "driver version";
    case OpaqueType::gpu_info:
      return "GPU info";
    case OpaqueType::sku:
      return "SKU";
    case OpaqueType::vbios_version:
      return "VBIOS version";
    case OpaqueType::manufacturer_id:
      return "manufacturer ID";
    case OpaqueType::tamper_detection:
      return "tamper detection";
    case OpaqueType::smc:
      return "SMC";
    case OpaqueType::vpr:
      return "VPR";
    case OpaqueType::nvdec0_status:
      return "NVDEC0 status";
    case OpaqueType::msrscnt:
      return "MSRSCNT";
    case OpaqueType::cpr_info:
      return "CPR info";
    case OpaqueType::board_id:
      return "board ID";
    case OpaqueType::chip_sku:
      return "chip SKU";
    case OpaqueType::chip_sku_mod:
      return "chip SKU mod";
    case OpaqueType::project:
      return "project";
    case OpaqueType::project_sku:
      return "project SKU";
    case OpaqueType::project_sku_mod:
      return "project SKU mod";
    case OpaqueType::fwid:
      return "FWID";
    case OpaqueType::protected_pcie_status:
      return "protected PCIe status";
  }
  return "type " + std::to_string(type);
}

const MeasurementBlock* AttestationReport::block(std::uint8_t index) const noexcept {
  for (const MeasurementBlock& b : response.blocks) {
    if (b.index == index) return &b;
  }
  return nullptr;
}

const OpaqueField* AttestationReport::opaque(OpaqueType type) const noexcept {
  for (const OpaqueField& f : response.opaque) {
    if (f.type == static_cast<std::uint16_t>(type)) return &f;
  }
  return nullptr;
}

std::string format_vbios_version(std::span<const std::byte, 8> field) {
  const auto word = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 4; i-- > 0;) v = (v << 8) | std::to_integer<std::uint32_t>(field[at + i]);
    return v;
  };
  const auto hex = [](std::uint32_t v) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    do {
      out.insert(out.begin(), kDigits[v % 16]);
      v /= 16;
    } while (v != 0);
    if (out.size() < 2) out.insert(out.begin(), '0');
    return out;
  };
  const std::uint32_t low = word(0);
  const std::uint32_t high = word(4);
  return hex(low >> 24) + "." + hex((low >> 16) & 0xFF) + "." + hex((low >> 8) & 0xFF) + "." +
         hex(low & 0xFF) + "." + hex(high);
}

Result<std::array<std::byte, 8>, Error> encode_vbios_version(std::string_view version) {
  const auto bad = [&](const std::string& why) {
    return Error(errc::malformed_evidence, "VBIOS version '" + std::string(version) + "': " + why);
  };
  std::array<std::uint32_t, 5> parts{};
  std::size_t part = 0;
  std::size_t digits = 0;
  for (char c : version) {
    if (c == '.') {
      if (digits == 0) return bad("empty component");
      if (++part == parts.size()) return bad("more than five components");
      digits = 0;
      continue;
    }
    const int d = hex_value(static_cast<unsigned char>(c));
    if (d < 0) return bad("'" + std::string(1, c) + "' is not a hex digit");
    const std::size_t limit = part < 4 ? 2 : 8;
    if (++digits > limit) return bad("component " + std::to_string(part + 1) + " is too long");
    parts[part] = (parts[part] << 4) | static_cast<std::uint32_t>(d);
  }
  if (part != 4 || digits == 0) return bad("expected five components (96.00.9F.00.01)");
  const std::uint32_t low = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3];
  std::array<std::byte, 8> out{};
  for (std::size_t i = 0; i < 4; ++i) {
    out[i] = static_cast<std::byte>(low >> (8 * i));
    out[4 + i] = static_cast<std::byte>(parts[4] >> (8 * i));
  }
  return out;
}

Result<AttestationReport, Error> parse_report(std::span<const std::byte> bytes) {
  AttestationReport report;
  if (const auto digits = hex_digits(bytes)) {
    auto decoded = crypto::from_hex(*digits);
    if (!decoded) {
      return Error(errc::malformed_evidence, "SPDM report: hex text: " + decoded.error().message());
    }
    report.raw = std::move(*decoded);
  } else {
    report.raw.assign(bytes.begin(), bytes.end());
  }

  ASSIGN_OR_RETURN(
      request,
      parse_request(std::span(report.raw).first(std::min(report.raw.size(), kRequestSize))));
  report.request = request;

  const auto bytes_of_response = std::span<const std::byte>(report.raw).subspan(kRequestSize);
  Cursor in(bytes_of_response, "SPDM response");
  MeasurementsResponse& r = report.response;
  ASSIGN_OR_RETURN(version, in.le("SPDMVersion", 1));
  if (version != request.version) {
    return in.error("SPDMVersion", 0,
                    "version " + version_text(static_cast<std::uint8_t>(version)) +
                        " differs from the request's " + version_text(request.version));
  }
  r.version = static_cast<std::uint8_t>(version);
  ASSIGN_OR_RETURN(code, in.le("RequestResponseCode", 1));
  if (code == 0x7F) {
    return in.error("RequestResponseCode", 1, "an SPDM ERROR response, not MEASUREMENTS (0x60)");
  }
  if (code != kMeasurements) {
    return in.error("RequestResponseCode", 1,
                    attest::internal::hex_number(code) + " is not MEASUREMENTS (0x60)");
  }
  ASSIGN_OR_RETURN(param1, in.le("Param1", 1));
  ASSIGN_OR_RETURN(param2, in.le("Param2", 1));
  r.param1 = static_cast<std::uint8_t>(param1);
  r.param2 = static_cast<std::uint8_t>(param2);
  ASSIGN_OR_RETURN(block_count, in.le("NumberOfBlocks", 1));
  ASSIGN_OR_RETURN(record_length, in.le("MeasurementRecordLength", 3));
  if (record_length > in.remaining()) {
    return in.error("MeasurementRecordLength", 5,
                    std::to_string(record_length) + " bytes, only " +
                        std::to_string(in.remaining()) + " remain");
  }
  const std::size_t record_offset = in.offset();
  ASSIGN_OR_RETURN(record, in.take("MeasurementRecord", record_length));
  ASSIGN_OR_RETURN(blocks, parse_record(record, record_offset, block_count));
  r.blocks = std::move(blocks);

  ASSIGN_OR_RETURN(nonce, in.take("Nonce", kNonceSize));
  std::copy(nonce.begin(), nonce.end(), r.nonce.begin());
  const std::size_t opaque_length_offset = in.offset();
  ASSIGN_OR_RETURN(opaque_length, in.le("OpaqueLength", 2));
  if (opaque_length > kOpaqueLimit) {
    return in.error("OpaqueLength", opaque_length_offset,
                    std::to_string(opaque_length) + " bytes exceeds SPDM's limit of 1024");
  }
  if (opaque_length > in.remaining()) {
    return in.error("OpaqueLength", opaque_length_offset,
                    std::to_string(opaque_length) + " bytes, only " +
                        std::to_string(in.remaining()) + " remain");
  }
  const std::size_t opaque_offset = in.offset();
  ASSIGN_OR_RETURN(opaque_data, in.take("OpaqueData", opaque_length));
  ASSIGN_OR_RETURN(opaque, parse_opaque(opaque_data, opaque_offset));

  if (in.remaining() != kSignatureSize) {
    return in.error("Signature", in.offset(),
                    std::to_string(in.remaining()) +
                        " bytes, expected 96 (ECDSA P-384 r and s) to end the response");
  }
  ASSIGN_OR_RETURN(signature, in.take("Signature", kSignatureSize));
  std::copy(signature.begin(), signature.end(), r.signature.begin());

  // The fields a verifier and a RIM lookup need, decoded.
  for (PlacedField& placed : opaque) {
    std::string* text = nullptr;
    switch (static_cast<OpaqueType>(placed.field.type)) {
      case OpaqueType::driver_version:
        text = &report.driver_version;
        break;
      case OpaqueType::project:
        text = &report.project;
        break;
      case OpaqueType::project_sku:
        text = &report.project_sku;
        break;
      case OpaqueType::chip_sku:
        text = &report.chip_sku;
        break;
      case OpaqueType::vbios_version:
        if (placed.field.value.size() != 8) {
          return in.error("opaque VBIOS version", placed.value_offset,
                          std::to_string(placed.field.value.size()) + " bytes, expected 8");
        }
        report.vbios_version = format_vbios_version(std::span(placed.field.value).first<8>());
        break;
      default:
        break;
    }
    if (text != nullptr) {
      ASSIGN_OR_RETURN(decoded, text_field(in, placed));
      *text = std::move(decoded);
    }
    r.opaque.push_back(std::move(placed.field));
  }
  return report;
}

}  // namespace cipherline::attest::nvgpu
