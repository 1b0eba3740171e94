#include "cipherline/attest/tdx/quote.hpp"

#include <algorithm>
#include <cstring>

#include "../hex_format.hpp"
#include "cipherline/attest/error.hpp"

namespace cipherline::attest::tdx {
namespace {

Error failure(errc code, std::string_view field, std::size_t offset, const std::string& why) {
  return Error(code, "TDX quote: " + std::string(field) + " at offset " +
                         attest::internal::hex_number(offset) + ": " + why);
}

Error malformed(std::string_view field, std::size_t offset, const std::string& why) {
  return failure(errc::malformed_evidence, field, offset, why);
}

Error unsupported(std::string_view field, std::size_t offset, const std::string& why) {
  return failure(errc::unsupported_evidence, field, offset, why);
}

std::uint64_t little_endian(std::span<const std::byte> bytes) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = bytes.size(); i-- > 0;)
    v = (v << 8) | std::to_integer<std::uint64_t>(bytes[i]);
  return v;
}

template <std::size_t N>
void copy_at(std::span<const std::byte> from, std::size_t offset, std::array<std::byte, N>& out) {
  std::memcpy(out.data(), from.data() + offset, N);
}

// Cursor reads a region of the quote front to back. Offsets are those of the
// whole quote, and every read names its field, so a short or inconsistent
// input says which field it cut.
class Cursor {
 public:
  Cursor(std::span<const std::byte> quote, std::size_t begin, std::size_t end) noexcept
      : quote_(quote), offset_(begin), end_(end) {}

  std::size_t offset() const noexcept { return offset_; }
  std::size_t remaining() const noexcept { return end_ - offset_; }

  Result<std::span<const std::byte>, Error> take(std::string_view field, std::size_t n) {
    if (n > remaining()) {
      return malformed(
          field, offset_,
          "needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) + " remain");
    }
    const auto out = quote_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

  template <std::size_t N>
  Result<void, Error> copy(std::string_view field, std::array<std::byte, N>& out) {
    auto bytes = take(field, N);
    if (!bytes) return bytes.error();
    std::memcpy(out.data(), bytes->data(), N);
    return {};
  }

  Result<std::uint32_t, Error> u16(std::string_view field) { return integer(field, 2); }
  Result<std::uint32_t, Error> u32(std::string_view field) { return integer(field, 4); }

 private:
  Result<std::uint32_t, Error> integer(std::string_view field, std::size_t size) {
    auto bytes = take(field, size);
    if (!bytes) return bytes.error();
    return static_cast<std::uint32_t>(little_endian(*bytes));
  }

  std::span<const std::byte> quote_;
  std::size_t offset_;
  std::size_t end_;
};

// The body offsets of spec §5.1, relative to the start of the body.
TdQuoteBody decode_body(std::span<const std::byte> b, BodyType type) {
  TdQuoteBody body;
  body.type = type;
  copy_at(b, 0x000, body.tee_tcb_svn);
  copy_at(b, 0x010, body.mr_seam);
  copy_at(b, 0x040, body.mr_signer_seam);
  copy_at(b, 0x070, body.seam_attributes);
  copy_at(b, 0x078, body.td_attributes);
  copy_at(b, 0x080, body.xfam);
  copy_at(b, 0x088, body.mr_td);
  copy_at(b, 0x0B8, body.mr_config_id);
  copy_at(b, 0x0E8, body.mr_owner);
  copy_at(b, 0x118, body.mr_owner_config);
  for (std::size_t i = 0; i < body.rtmrs.size(); ++i) copy_at(b, 0x148 + 48 * i, body.rtmrs[i]);
  copy_at(b, 0x208, body.report_data);
  if (type == BodyType::tdx15) {
    copy_at(b, 0x248, body.tee_tcb_svn2);
    copy_at(b, 0x258, body.mr_service_td);
  }
  return body;
}

// The SGX REPORT body offsets of spec §5.2.
EnclaveReport decode_enclave_report(std::span<const std::byte> b) {
  EnclaveReport r;
  copy_at(b, 0, r.raw);
  copy_at(b, 0, r.cpu_svn);
  r.misc_select = static_cast<std::uint32_t>(little_endian(b.subspan(16, 4)));
  copy_at(b, 48, r.attributes);
  copy_at(b, 64, r.mr_enclave);
  copy_at(b, 128, r.mr_signer);
  r.isv_prod_id = static_cast<std::uint16_t>(little_endian(b.subspan(256, 2)));
  r.isv_svn = static_cast<std::uint16_t>(little_endian(b.subspan(258, 2)));
  copy_at(b, 320, r.report_data);
  return r;
}

bool pem_text(std::byte b) {
  const auto c = std::to_integer<unsigned char>(b);
  return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

std::string_view body_type_name(BodyType type) noexcept {
  return type == BodyType::tdx15 ? "TDX 1.5" : "TDX 1.0";
}

std::uint64_t TdQuoteBody::td_attributes_word() const noexcept {
  return little_endian(td_attributes);
}

std::string describe_td_attributes(std::uint64_t word) {
  struct Named {
    int bit;
    const char* name;
  };
  static constexpr Named kNames[] = {{0, "DEBUG"},       {28, "SEPT_VE_DISABLE"},
                                     {29, "MIGRATABLE"}, {30, "PKS"},
                                     {31, "KL"},         {63, "PERFMON"}};
  std::string out;
  for (int bit = 0; bit < 64; ++bit) {
    if (((word >> bit) & 1) == 0) continue;
    if (!out.empty()) out += ", ";
    const auto* named = std::find_if(std::begin(kNames), std::end(kNames),
                                     [bit](const Named& n) { return n.bit == bit; });
    out += named != std::end(kNames) ? std::string(named->name) : "bit " + std::to_string(bit);
  }
  return out.empty() ? "none" : out;
}

Result<Quote, Error> parse_quote(std::span<const std::byte> bytes) {
  Quote q;
  Cursor in(bytes, 0, bytes.size());

  auto header = in.take("header", kHeaderSize);
  if (!header) return header.error();
  const auto h = *header;
  q.header.version = static_cast<std::uint16_t>(little_endian(h.subspan(0x00, 2)));
  q.header.attestation_key_type = static_cast<std::uint16_t>(little_endian(h.subspan(0x02, 2)));
  q.header.tee_type = static_cast<std::uint32_t>(little_endian(h.subspan(0x04, 4)));
  q.header.qe_svn = static_cast<std::uint16_t>(little_endian(h.subspan(0x08, 2)));
  q.header.pce_svn = static_cast<std::uint16_t>(little_endian(h.subspan(0x0A, 2)));
  copy_at(h, 0x0C, q.header.qe_vendor_id);
  copy_at(h, 0x1C, q.header.user_data);
  if (q.header.version != 4 && q.header.version != 5) {
    return unsupported("VERSION", 0x00,
                       "version " + std::to_string(q.header.version) + " is not supported (4, 5)");
  }
  if (q.header.attestation_key_type != kAttestationKeyEcdsaP256) {
    return unsupported(
        "ATTESTATION_KEY_TYPE", 0x02,
        std::to_string(q.header.attestation_key_type) + " is not 2 (ECDSA-256 with P-256)");
  }
  if (q.header.tee_type != kTeeTypeTdx) {
    return unsupported("TEE_TYPE", 0x04,
                       attest::internal::hex_number(q.header.tee_type) + " is not 0x81 (TDX)");
  }

  BodyType type = BodyType::tdx10;
  std::size_t body_size = kTdx10BodySize;
  if (q.header.version == 5) {
    const std::size_t type_offset = in.offset();
    auto body_type = in.u16("BODY_TYPE");
    if (!body_type) return body_type.error();
    if (*body_type != 2 && *body_type != 3) {
      return unsupported("BODY_TYPE", type_offset,
                         std::to_string(*body_type) +
                             " is not supported (2 TDX 1.0, 3 TDX 1.5; 1 is an SGX report)");
    }
    type = static_cast<BodyType>(*body_type);
    const std::size_t expected = type == BodyType::tdx15 ? kTdx15BodySize : kTdx10BodySize;
    const std::size_t size_offset = in.offset();
    auto size = in.u32("BODY_SIZE");
    if (!size) return size.error();
    if (*size != expected) {
      return malformed("BODY_SIZE", size_offset,
                       std::to_string(*size) + " does not match body type " +
                           std::to_string(*body_type) + " (" + std::to_string(expected) +
                           " bytes)");
    }
    body_size = *size;
  }
  auto body = in.take("TD quote body", body_size);
  if (!body) return body.error();
  q.body = decode_body(*body, type);
  q.signed_size = in.offset();

  const std::size_t length_offset = in.offset();
  auto signature_length = in.u32("SIGNATURE_DATA_LEN");
  if (!signature_length) return signature_length.error();
  if (*signature_length > in.remaining()) {
    return malformed("SIGNATURE_DATA_LEN", length_offset,
                     std::to_string(*signature_length) + " exceeds the " +
                         std::to_string(in.remaining()) + " bytes that follow");
  }
  const std::size_t signature_end = in.offset() + *signature_length;
  Cursor sig(bytes, in.offset(), signature_end);
  if (auto r = sig.copy("QUOTE_SIGNATURE", q.signature); !r) return r.error();
  if (auto r = sig.copy("ATTESTATION_KEY", q.attestation_key); !r) return r.error();

  const std::size_t cert_type_offset = sig.offset();
  auto cert_type = sig.u16("CERTIFICATION_DATA_TYPE");
  if (!cert_type) return cert_type.error();
  if (*cert_type != kCertificationDataQeReport) {
    return unsupported("CERTIFICATION_DATA_TYPE", cert_type_offset,
                       std::to_string(*cert_type) + " is not 6 (QE report certification data)");
  }
  const std::size_t cert_size_offset = sig.offset();
  auto cert_size = sig.u32("CERTIFICATION_DATA_SIZE");
  if (!cert_size) return cert_size.error();
  if (*cert_size != sig.remaining()) {
    return malformed("CERTIFICATION_DATA_SIZE", cert_size_offset,
                     std::to_string(*cert_size) + " does not match the " +
                         std::to_string(sig.remaining()) + " bytes left in the signature data");
  }

  auto qe_report = sig.take("QE_REPORT", kQeReportSize);
  if (!qe_report) return qe_report.error();
  q.qe_report = decode_enclave_report(*qe_report);
  if (auto r = sig.copy("QE_REPORT_SIGNATURE", q.qe_report_signature); !r) return r.error();
  const std::size_t auth_size_offset = sig.offset();
  auto auth_size = sig.u16("QE_AUTH_DATA_SIZE");
  if (!auth_size) return auth_size.error();
  if (*auth_size > sig.remaining()) {
    return malformed("QE_AUTH_DATA_SIZE", auth_size_offset,
                     std::to_string(*auth_size) + " exceeds the " +
                         std::to_string(sig.remaining()) + " bytes that follow");
  }
  auto auth = sig.take("QE_AUTH_DATA", *auth_size);
  if (!auth) return auth.error();
  q.qe_auth_data.assign(auth->begin(), auth->end());

  const std::size_t pck_type_offset = sig.offset();
  auto pck_type = sig.u16("PCK CERTIFICATION_DATA_TYPE");
  if (!pck_type) return pck_type.error();
  if (*pck_type != kCertificationDataPckChain) {
    return unsupported("PCK CERTIFICATION_DATA_TYPE", pck_type_offset,
                       std::to_string(*pck_type) + " is not 5 (PCK certificate chain)");
  }
  const std::size_t pck_size_offset = sig.offset();
  auto pck_size = sig.u32("PCK CERTIFICATION_DATA_SIZE");
  if (!pck_size) return pck_size.error();
  if (*pck_size != sig.remaining()) {
    return malformed("PCK CERTIFICATION_DATA_SIZE", pck_size_offset,
                     std::to_string(*pck_size) + " does not match the " +
                         std::to_string(sig.remaining()) + " bytes left in the signature data");
  }
  const std::size_t pem_offset = sig.offset();
  auto pem = sig.take("PCK certificate chain", *pck_size);
  if (!pem) return pem.error();
  std::span<const std::byte> text = *pem;
  while (!text.empty() && text.back() == std::byte{0}) text = text.first(text.size() - 1);
  if (text.empty()) return malformed("PCK certificate chain", pem_offset, "is empty");
  const auto bad = std::find_if_not(text.begin(), text.end(), pem_text);
  if (bad != text.end()) {
    const std::size_t at = pem_offset + static_cast<std::size_t>(bad - text.begin());
    return malformed("PCK certificate chain", pem_offset,
                     "byte " + attest::internal::hex_number(std::to_integer<unsigned>(*bad)) +
                         " at offset " + attest::internal::hex_number(at) + " is not PEM text");
  }
  q.pck_chain_pem.assign(reinterpret_cast<const char*>(text.data()), text.size());
  q.pck_chain_padding = pem->size() - text.size();

  q.raw.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(signature_end));
  q.trailing_size = bytes.size() - signature_end;
  return q;
}

}  // namespace cipherline::attest::tdx
