// Protocol Buffers wire format: a small reader and writer for the evidence
// messages of the Contrast Coordinator (go-sev-guest's `Attestation`,
// go-tdx-guest's `QuoteV4`) and of the software TEE that imitates it.
//
//   ProtobufReader in(bytes, "sevsnp.Report");
//   while (auto field = in.next()) {          // Result<optional<Field>>
//     if (!field) return field.error();       // "sevsnp.Report: field 3 at offset 0x12: …"
//     if (!*field) break;                     // end of message
//     switch ((*field)->number) { case 1: version = (*field)->varint; … }
//   }
//
// Contract:
// - Wire types 0 (varint), 1 (64-bit), 2 (length-delimited) and 5 (32-bit)
//   are read; groups (3, 4), field number 0, varints longer than 10 bytes
//   and lengths past the end are errors (attest::errc::malformed_evidence)
//   naming the message, the field and the byte offset.
// - Length-delimited values are views into the input (no copy).
// - Unknown fields are returned like known ones; callers skip what they do
//   not use, as proto3 requires.
// - The writer emits fields in the order written: varints, 64-bit fixed
//   values and length-delimited bytes or nested messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::attest::contrast {

enum class WireType : std::uint8_t { varint = 0, fixed64 = 1, bytes = 2, fixed32 = 5 };

struct ProtobufField {
  std::uint32_t number = 0;
  WireType type = WireType::varint;
  std::uint64_t varint = 0;            // varint, fixed64 and fixed32 values
  std::span<const std::byte> bytes{};  // length-delimited values
  std::size_t offset = 0;              // of the field's tag in the message
};

class ProtobufReader {
 public:
  ProtobufReader(std::span<const std::byte> message, std::string name) noexcept
      : in_(message), name_(std::move(name)) {}

  // next returns the next field, nullopt at the end of the message, or an
  // error.
  Result<std::optional<ProtobufField>, Error> next();

  // error builds an error about `field` for the message being read.
  Error error(const ProtobufField& field, const std::string& why) const;

 private:
  Result<std::uint64_t, Error> read_varint(const char* what);

  std::span<const std::byte> in_;
  std::size_t pos_ = 0;
  std::string name_;
};

class ProtobufWriter {
 public:
  ProtobufWriter& varint(std::uint32_t number, std::uint64_t value);
  ProtobufWriter& fixed64(std::uint32_t number, std::uint64_t value);
  ProtobufWriter& bytes(std::uint32_t number, std::span<const std::byte> value);
  ProtobufWriter& message(std::uint32_t number, const ProtobufWriter& nested) {
    return bytes(number, nested.out_);
  }
  const std::vector<std::byte>& data() const noexcept { return out_; }
  std::vector<std::byte> take() noexcept { return std::move(out_); }

 private:
  void raw_varint(std::uint64_t value);
  std::vector<std::byte> out_;
};

}  // namespace cipherline::attest::contrast
