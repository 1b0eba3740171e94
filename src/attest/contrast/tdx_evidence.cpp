#include "cipherline/attest/contrast/tdx_evidence.hpp"

#include <algorithm>
#include <cstring>

#include "../little_endian.hpp"
#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/error.hpp"

namespace cipherline::attest::contrast {
namespace {

using Bytes = std::vector<std::byte>;

void put_le(Bytes& out, std::uint64_t v, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

// A field of a message mapped onto a fixed-size slot of the raw layout.
struct Slot {
  std::uint32_t field;
  std::size_t size;
  bool is_bytes;  // exactly `size` bytes; else a varint stored in `size` bytes
};

// Reads `message` into the concatenation of `slots` (in order), with
// repeated fields listed once per occurrence.
Result<Bytes, Error> lay_out(std::span<const std::byte> message, const char* name,
                             std::span<const Slot> slots) {
  std::vector<Bytes> values(slots.size());
  std::vector<std::size_t> next_of_field(64, 0);
  ProtobufReader in(message, name);
  while (true) {
    auto f = in.next();
    if (!f) return f.error();
    if (!*f) break;
    const ProtobufField& field = **f;
    // The k-th occurrence of a field goes to its k-th slot.
    std::size_t seen = 0;
    std::size_t index = slots.size();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].field != field.number) continue;
      if (field.number < 64 && seen++ == next_of_field[field.number]) {
        index = i;
        break;
      }
    }
    if (index == slots.size()) {
      const bool known = std::any_of(slots.begin(), slots.end(),
                                     [&](const Slot& s) { return s.field == field.number; });
      if (known) return in.error(field, "repeated more often than the layout allows");
      continue;  // unknown field
    }
    ++next_of_field[field.number];
    const Slot& slot = slots[index];
    Bytes& value = values[index];
    if (slot.is_bytes) {
      if (field.type != WireType::bytes) return in.error(field, "expected bytes");
      if (field.bytes.size() != slot.size) {
        return in.error(field, std::to_string(field.bytes.size()) + " bytes, expected " +
                                   std::to_string(slot.size));
      }
      value.assign(field.bytes.begin(), field.bytes.end());
    } else {
      if (field.type != WireType::varint) return in.error(field, "expected a varint");
      if (slot.size < 8 && (field.varint >> (8 * slot.size)) != 0) {
        return in.error(field, "value does not fit " + std::to_string(slot.size) + " byte(s)");
      }
      put_le(value, field.varint, slot.size);
    }
  }
  Bytes out;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (values[i].empty()) {
      if (slots[i].is_bytes) {
        return Error(errc::malformed_evidence, std::string(name) + ": field " +
                                                   std::to_string(slots[i].field) + " is missing");
      }
      values[i].assign(slots[i].size, std::byte{0});  // proto3 default: zero
    }
    out.insert(out.end(), values[i].begin(), values[i].end());
  }
  return out;
}

constexpr Slot kHeader[] = {{1, 2, false}, {2, 2, false}, {3, 4, false}, {4, 2, true},
                            {5, 2, true},  {6, 16, true}, {7, 20, true}};
constexpr Slot kBody[] = {{1, 16, true},  {2, 48, true},  {3, 48, true},  {4, 8, true},
                          {5, 8, true},   {6, 8, true},   {7, 48, true},  {8, 48, true},
                          {9, 48, true},  {10, 48, true}, {11, 48, true}, {11, 48, true},
                          {11, 48, true}, {11, 48, true}, {12, 64, true}};
constexpr Slot kEnclaveReport[] = {{1, 16, true}, {2, 4, false},  {3, 28, true},  {4, 16, true},
                                   {5, 32, true}, {6, 32, true},  {7, 32, true},  {8, 96, true},
                                   {9, 2, false}, {10, 2, false}, {11, 60, true}, {12, 64, true}};

// The fields of a nested message, by number (last occurrence wins).
Result<std::vector<ProtobufField>, Error> fields_of(std::span<const std::byte> message,
                                                    const char* name) {
  std::vector<ProtobufField> out;
  ProtobufReader in(message, name);
  while (true) {
    auto f = in.next();
    if (!f) return f.error();
    if (!*f) break;
    out.push_back(**f);
  }
  return out;
}

const ProtobufField* find(const std::vector<ProtobufField>& fields, std::uint32_t number) {
  const ProtobufField* found = nullptr;
  for (const auto& f : fields) {
    if (f.number == number) found = &f;
  }
  return found;
}

Error missing(const char* message, std::uint32_t field, const char* what) {
  return Error(errc::malformed_evidence, std::string(message) + ": field " + std::to_string(field) +
                                             " (" + what + ") is missing");
}

}  // namespace

Result<tdx::Quote, Error> decode_tdx_quote_v4(std::span<const std::byte> protobuf) {
  auto top = fields_of(protobuf, "tdx.QuoteV4");
  if (!top) return top.error();
  const ProtobufField* header = find(*top, 1);
  const ProtobufField* body = find(*top, 2);
  const ProtobufField* signed_data = find(*top, 4);
  if (header == nullptr) return missing("tdx.QuoteV4", 1, "header");
  if (body == nullptr) return missing("tdx.QuoteV4", 2, "td_quote_body");
  if (signed_data == nullptr) return missing("tdx.QuoteV4", 4, "signed_data");

  auto raw = lay_out(header->bytes, "tdx.Header", kHeader);
  if (!raw) return raw.error();
  auto body_bytes = lay_out(body->bytes, "tdx.TDQuoteBody", kBody);
  if (!body_bytes) return body_bytes.error();
  raw->insert(raw->end(), body_bytes->begin(), body_bytes->end());

  auto auth = fields_of(signed_data->bytes, "tdx.Ecdsa256BitQuoteV4AuthData");
  if (!auth) return auth.error();
  const ProtobufField* signature = find(*auth, 1);
  const ProtobufField* key = find(*auth, 2);
  const ProtobufField* certification = find(*auth, 3);
  if (signature == nullptr) return missing("tdx.Ecdsa256BitQuoteV4AuthData", 1, "signature");
  if (key == nullptr) return missing("tdx.Ecdsa256BitQuoteV4AuthData", 2, "ecdsa_attestation_key");
  if (certification == nullptr) {
    return missing("tdx.Ecdsa256BitQuoteV4AuthData", 3, "certification_data");
  }
  auto cert_fields = fields_of(certification->bytes, "tdx.CertificationData");
  if (!cert_fields) return cert_fields.error();
  const ProtobufField* qe_data = find(*cert_fields, 3);
  if (qe_data == nullptr) {
    return missing("tdx.CertificationData", 3, "qe_report_certification_data");
  }
  auto qe = fields_of(qe_data->bytes, "tdx.QEReportCertificationData");
  if (!qe) return qe.error();
  const ProtobufField* qe_report = find(*qe, 1);
  const ProtobufField* qe_signature = find(*qe, 2);
  const ProtobufField* qe_auth = find(*qe, 3);
  const ProtobufField* pck = find(*qe, 4);
  if (qe_report == nullptr) return missing("tdx.QEReportCertificationData", 1, "qe_report");
  if (qe_signature == nullptr) {
    return missing("tdx.QEReportCertificationData", 2, "qe_report_signature");
  }
  if (pck == nullptr) {
    return missing("tdx.QEReportCertificationData", 4, "pck_certificate_chain_data");
  }
  auto report_bytes = lay_out(qe_report->bytes, "tdx.EnclaveReport", kEnclaveReport);
  if (!report_bytes) return report_bytes.error();
  std::span<const std::byte> auth_data;
  if (qe_auth != nullptr) {
    auto a = fields_of(qe_auth->bytes, "tdx.QeAuthData");
    if (!a) return a.error();
    if (const ProtobufField* d = find(*a, 2)) auth_data = d->bytes;
  }
  auto pck_fields = fields_of(pck->bytes, "tdx.PCKCertificateChainData");
  if (!pck_fields) return pck_fields.error();
  const ProtobufField* chain = find(*pck_fields, 3);
  if (chain == nullptr) return missing("tdx.PCKCertificateChainData", 3, "pck_cert_chain");

  // Signature data: sig ‖ key ‖ type 6 ‖ size ‖ QE report ‖ QE sig ‖
  // auth size ‖ auth ‖ type 5 ‖ size ‖ chain.
  Bytes qe_cert;
  qe_cert.insert(qe_cert.end(), report_bytes->begin(), report_bytes->end());
  qe_cert.insert(qe_cert.end(), qe_signature->bytes.begin(), qe_signature->bytes.end());
  put_le(qe_cert, auth_data.size(), 2);
  qe_cert.insert(qe_cert.end(), auth_data.begin(), auth_data.end());
  put_le(qe_cert, tdx::kCertificationDataPckChain, 2);
  put_le(qe_cert, chain->bytes.size(), 4);
  qe_cert.insert(qe_cert.end(), chain->bytes.begin(), chain->bytes.end());
  Bytes signature_data;
  signature_data.insert(signature_data.end(), signature->bytes.begin(), signature->bytes.end());
  signature_data.insert(signature_data.end(), key->bytes.begin(), key->bytes.end());
  put_le(signature_data, tdx::kCertificationDataQeReport, 2);
  put_le(signature_data, qe_cert.size(), 4);
  signature_data.insert(signature_data.end(), qe_cert.begin(), qe_cert.end());
  put_le(*raw, signature_data.size(), 4);
  raw->insert(raw->end(), signature_data.begin(), signature_data.end());
  return tdx::parse_quote(*raw);
}

std::vector<std::byte> encode_tdx_quote_v4(const tdx::Quote& quote) {
  const auto raw = std::span(quote.raw);
  const auto emit = [](std::span<const std::byte> bytes, std::span<const Slot> slots) {
    ProtobufWriter w;
    std::size_t at = 0;
    for (const Slot& s : slots) {
      const auto value = bytes.subspan(at, s.size);
      if (s.is_bytes) {
        w.bytes(s.field, value);
      } else {
        w.varint(s.field, attest::internal::load_le(value));
      }
      at += s.size;
    }
    return w;
  };
  const ProtobufWriter header = emit(raw.first(tdx::kHeaderSize), kHeader);
  const ProtobufWriter body = emit(raw.subspan(tdx::kHeaderSize, tdx::kTdx10BodySize), kBody);
  const ProtobufWriter report = emit(quote.qe_report.raw, kEnclaveReport);
  ProtobufWriter auth_data;
  auth_data.varint(1, quote.qe_auth_data.size()).bytes(2, quote.qe_auth_data);
  // The chain as the quote carries it (padding included): the signature
  // data ends with it.
  const std::size_t chain_at = quote.signed_size + 4 + 64 + 64 + 2 + 4 + tdx::kQeReportSize + 64 +
                               2 + quote.qe_auth_data.size() + 2 + 4;
  const auto chain = raw.subspan(std::min(chain_at, raw.size()));
  ProtobufWriter pck;
  pck.varint(1, tdx::kCertificationDataPckChain).varint(2, chain.size()).bytes(3, chain);
  ProtobufWriter qe;
  qe.message(1, report).bytes(2, quote.qe_report_signature).message(3, auth_data).message(4, pck);
  ProtobufWriter certification;
  certification.varint(1, tdx::kCertificationDataQeReport).message(3, qe);
  ProtobufWriter signed_data;
  signed_data.bytes(1, quote.signature).bytes(2, quote.attestation_key).message(3, certification);
  ProtobufWriter out;
  out.message(1, header).message(2, body).varint(3, quote.raw.size() - quote.signed_size - 4);
  out.message(4, signed_data);
  return out.take();
}

}  // namespace cipherline::attest::contrast
