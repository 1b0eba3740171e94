#include "cipherline/attest/contrast/snp_evidence.hpp"

#include <cstring>
#include <string_view>

#include "../little_endian.hpp"
#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/error.hpp"

namespace cipherline::attest::contrast {
namespace {

constexpr std::string_view kCrlKey = "00569ee4-e480-4fba-bbf4-45b629901180";

// Where each field of sevsnp.Report goes in the ABI layout.
struct Slot {
  std::uint32_t field;
  std::size_t offset;
  std::size_t size;
  bool is_bytes;  // length-delimited bytes of exactly `size`; else an integer
};
constexpr Slot kSlots[] = {
    {1, 0x000, 4, false},  {2, 0x004, 4, false},  {3, 0x008, 8, false},  {4, 0x010, 16, true},
    {5, 0x020, 16, true},  {6, 0x030, 4, false},  {7, 0x034, 4, false},  {8, 0x038, 8, false},
    {9, 0x040, 8, false},  {10, 0x048, 4, false}, {11, 0x050, 64, true}, {12, 0x090, 48, true},
    {13, 0x0C0, 32, true}, {14, 0x0E0, 48, true}, {15, 0x110, 48, true}, {16, 0x140, 32, true},
    {17, 0x160, 32, true}, {18, 0x180, 8, false}, {19, 0x1A0, 64, true}, {20, 0x1E0, 8, false},
    {21, 0x1E8, 1, false}, {22, 0x1E9, 1, false}, {23, 0x1EA, 1, false}, {24, 0x1EC, 1, false},
    {25, 0x1ED, 1, false}, {26, 0x1EE, 1, false}, {27, 0x1F0, 8, false}, {28, 0x2A0, 512, true},
    {30, 0x1F8, 8, false}, {31, 0x200, 8, false},
};
constexpr std::uint32_t kCpuidField = 29;

const Slot* slot_for(std::uint32_t field) {
  for (const Slot& s : kSlots) {
    if (s.field == field) return &s;
  }
  return nullptr;
}

Result<std::array<std::byte, snp::kReportSize>, Error> rebuild_report(
    std::span<const std::byte> message) {
  std::array<std::byte, snp::kReportSize> raw{};
  ProtobufReader in(message, "sevsnp.Report");
  std::optional<std::uint64_t> cpuid;
  while (true) {
    auto next = in.next();
    if (!next) return next.error();
    if (!*next) break;
    const ProtobufField& f = **next;
    if (f.number == kCpuidField) {
      if (f.type != WireType::varint) return in.error(f, "cpuid1eax_fms is not a varint");
      cpuid = f.varint;
      continue;
    }
    const Slot* slot = slot_for(f.number);
    if (slot == nullptr) continue;  // unknown field
    if (slot->is_bytes) {
      if (f.type != WireType::bytes) return in.error(f, "expected bytes");
      if (f.bytes.size() != slot->size) {
        return in.error(
            f, std::to_string(f.bytes.size()) + " bytes, expected " + std::to_string(slot->size));
      }
      std::memcpy(raw.data() + slot->offset, f.bytes.data(), slot->size);
    } else {
      if (f.type != WireType::varint) return in.error(f, "expected a varint");
      if (slot->size < 8 && (f.varint >> (8 * slot->size)) != 0) {
        return in.error(f, "value " + std::to_string(f.varint) + " does not fit " +
                               std::to_string(slot->size) + " byte(s)");
      }
      attest::internal::store_le(raw.data() + slot->offset, f.varint, slot->size);
    }
  }
  const auto version = attest::internal::load_le(std::span(raw).first(4));
  if (version >= 3 && cpuid) {
    // Masked CPUID(1).EAX: stepping 3:0, model 7:4, family 11:8, extended
    // model 19:16, extended family 27:20.
    const std::uint64_t eax = *cpuid;
    const unsigned base_family = (eax >> 8) & 0xF;
    const unsigned family = base_family + (base_family == 0xF ? ((eax >> 20) & 0xFF) : 0);
    const unsigned model = (((eax >> 16) & 0xF) << 4) | ((eax >> 4) & 0xF);
    raw[0x188] = static_cast<std::byte>(family);
    raw[0x189] = static_cast<std::byte>(model);
    raw[0x18A] = static_cast<std::byte>(eax & 0xF);
  }
  return raw;
}

}  // namespace

Result<SnpEvidence, Error> decode_snp_attestation(std::span<const std::byte> protobuf) {
  SnpEvidence e;
  bool have_report = false;
  ProtobufReader in(protobuf, "sevsnp.Attestation");
  while (true) {
    auto next = in.next();
    if (!next) return next.error();
    if (!*next) break;
    const ProtobufField& f = **next;
    if (f.number == 1 || f.number == 2 || f.number == 3) {
      if (f.type != WireType::bytes) return in.error(f, "expected a message");
    }
    if (f.number == 1) {
      auto raw = rebuild_report(f.bytes);
      if (!raw) return raw.error();
      auto parsed = snp::parse_report(*raw);
      if (!parsed) return parsed.error();
      e.report = std::move(*parsed);
      have_report = true;
    } else if (f.number == 2) {
      ProtobufReader chain(f.bytes, "sevsnp.CertificateChain");
      while (true) {
        auto c = chain.next();
        if (!c) return c.error();
        if (!*c) break;
        const ProtobufField& cf = **c;
        std::vector<std::byte>* target = cf.number == 1   ? &e.vcek_der
                                         : cf.number == 2 ? &e.ask_der
                                         : cf.number == 3 ? &e.ark_der
                                         : cf.number == 6 ? &e.vlek_der
                                                          : nullptr;
        if (cf.type != WireType::bytes) continue;
        if (target != nullptr) {
          target->assign(cf.bytes.begin(), cf.bytes.end());
        } else if (cf.number == 7) {  // map<string, bytes> entry
          ProtobufReader entry(cf.bytes, "sevsnp.CertificateChain.extras");
          std::string_view key;
          std::span<const std::byte> value;
          while (true) {
            auto x = entry.next();
            if (!x) return x.error();
            if (!*x) break;
            if ((*x)->type != WireType::bytes) continue;
            if ((*x)->number == 1) {
              key = {reinterpret_cast<const char*>((*x)->bytes.data()), (*x)->bytes.size()};
            }
            if ((*x)->number == 2) value = (*x)->bytes;
          }
          if (key == kCrlKey) e.crl_der.assign(value.begin(), value.end());
        }
      }
    } else if (f.number == 3) {
      ProtobufReader product(f.bytes, "sevsnp.SevProduct");
      while (true) {
        auto p = product.next();
        if (!p) return p.error();
        if (!*p) break;
        if ((*p)->number == 1 && (*p)->type == WireType::varint) {
          const std::uint64_t name = (*p)->varint;
          e.product = name == 1   ? snp::Product::milan
                      : name == 2 ? snp::Product::genoa
                      : name == 3 ? snp::Product::turin
                                  : snp::Product::unknown;
        }
      }
    }
  }
  if (!have_report) {
    return Error(errc::malformed_evidence, "sevsnp.Attestation: no report (field 1)");
  }
  return e;
}

std::vector<std::byte> encode_snp_attestation(const SnpEvidence& e) {
  const auto& raw = e.report.raw;
  ProtobufWriter report;
  for (const Slot& s : kSlots) {
    const std::byte* at = raw.data() + s.offset;
    if (s.is_bytes) {
      report.bytes(s.field, std::span(at, s.size));
    } else {
      report.varint(s.field, attest::internal::load_le(std::span(at, s.size)));
    }
  }
  if (e.report.version >= 3) {
    const unsigned family = e.report.cpuid_family;
    const unsigned model = e.report.cpuid_model;
    const unsigned base = family >= 0xF ? 0xF : family;
    const std::uint64_t eax = (e.report.cpuid_stepping & 0xFu) | ((model & 0xFu) << 4) |
                              (base << 8) | (((model >> 4) & 0xFu) << 16) |
                              (std::uint64_t{family >= 0xF ? family - 0xF : 0} << 20);
    report.varint(kCpuidField, eax);
  }
  ProtobufWriter chain;
  if (!e.vcek_der.empty()) chain.bytes(1, e.vcek_der);
  if (!e.ask_der.empty()) chain.bytes(2, e.ask_der);
  if (!e.ark_der.empty()) chain.bytes(3, e.ark_der);
  if (!e.vlek_der.empty()) chain.bytes(6, e.vlek_der);
  if (!e.crl_der.empty()) {
    ProtobufWriter entry;
    entry.bytes(1, std::as_bytes(std::span(kCrlKey.data(), kCrlKey.size()))).bytes(2, e.crl_der);
    chain.message(7, entry);
  }
  ProtobufWriter product;
  const int name = e.product == snp::Product::milan   ? 1
                   : e.product == snp::Product::genoa ? 2
                   : e.product == snp::Product::turin ? 3
                                                      : 0;
  product.varint(1, static_cast<std::uint64_t>(name));
  ProtobufWriter out;
  out.message(1, report).message(2, chain).message(3, product);
  return out.take();
}

}  // namespace cipherline::attest::contrast
