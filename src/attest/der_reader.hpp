// DerReader: a minimal reader of DER TLV sequences for the certificate
// extensions attestation reads (AMD's KDS extensions, Intel's SGX
// extension). Private to the attest layer.
//
// It accepts single-byte tags and definite lengths in their shortest form
// only (DER), never reads past its span, and reports a malformed encoding
// as nullopt; callers turn that into an error naming the extension.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace cipherline::attest::internal {

// A DER TLV: a single-byte tag and its contents.
struct Tlv {
  std::uint8_t tag = 0;
  std::span<const std::byte> value;
};

// DerReader walks a sequence of DER TLVs. It accepts definite lengths only,
// in their shortest form (DER), and never reads past its span.
class DerReader {
 public:
  explicit DerReader(std::span<const std::byte> der) noexcept : der_(der) {}
  bool empty() const noexcept { return der_.empty(); }

  std::optional<Tlv> next() noexcept {
    if (der_.size() < 2) return std::nullopt;
    const auto tag = std::to_integer<std::uint8_t>(der_[0]);
    if ((tag & 0x1F) == 0x1F) return std::nullopt;  // multi-byte tag
    std::size_t length = std::to_integer<std::size_t>(der_[1]);
    std::size_t header = 2;
    if (length & 0x80) {
      const std::size_t octets = length & 0x7F;
      if (octets == 0 || octets > 3 || der_.size() < 2 + octets) return std::nullopt;
      length = 0;
      for (std::size_t i = 0; i < octets; ++i) {
        length = (length << 8) | std::to_integer<std::size_t>(der_[2 + i]);
      }
      // Shortest form: no leading zero octet, and the long form only from 128.
      if (std::to_integer<unsigned>(der_[2]) == 0 || length < 0x80) return std::nullopt;
      header += octets;
    }
    if (der_.size() - header < length) return std::nullopt;
    Tlv out{tag, der_.subspan(header, length)};
    der_ = der_.subspan(header + length);
    return out;
  }

 private:
  std::span<const std::byte> der_;
};

// der_single returns the contents of `der` when it is exactly one TLV with
// tag `tag`, else nullopt.
inline std::optional<std::span<const std::byte>> der_single(std::span<const std::byte> der,
                                                            std::uint8_t tag) {
  DerReader reader(der);
  const auto tlv = reader.next();
  if (!tlv || tlv->tag != tag || !reader.empty()) return std::nullopt;
  return tlv->value;
}

}  // namespace cipherline::attest::internal
