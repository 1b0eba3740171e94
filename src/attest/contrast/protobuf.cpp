#include "cipherline/attest/contrast/protobuf.hpp"

#include "../hex_format.hpp"
#include "cipherline/attest/error.hpp"

namespace cipherline::attest::contrast {
namespace {}  // namespace

Error ProtobufReader::error(const ProtobufField& field, const std::string& why) const {
  return Error(errc::malformed_evidence,
               name_ + ": field " + std::to_string(field.number) + " at offset " +
                   attest::internal::hex_number(field.offset) + ": " + why);
}

Result<std::uint64_t, Error> ProtobufReader::read_varint(const char* what) {
  const std::size_t start = pos_;
  std::uint64_t value = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (pos_ >= in_.size()) {
      return Error(errc::malformed_evidence, name_ + ": " + what + " at offset " +
                                                 attest::internal::hex_number(start) +
                                                 " is cut short");
    }
    const auto b = std::to_integer<std::uint8_t>(in_[pos_++]);
    if (shift == 63 && b > 1) break;  // would overflow 64 bits
    value |= std::uint64_t{b & 0x7Fu} << shift;
    if ((b & 0x80) == 0) return value;
  }
  return Error(errc::malformed_evidence, name_ + ": " + what + " at offset " +
                                             attest::internal::hex_number(start) + " is too long");
}

Result<std::optional<ProtobufField>, Error> ProtobufReader::next() {
  if (pos_ >= in_.size()) return std::optional<ProtobufField>{};
  ProtobufField f;
  f.offset = pos_;
  auto tag = read_varint("a field tag");
  if (!tag) return tag.error();
  f.number = static_cast<std::uint32_t>(*tag >> 3);
  if (f.number == 0 || (*tag >> 3) > 0x1FFFFFFF) return error(f, "invalid field number");
  const auto type = static_cast<unsigned>(*tag & 7);
  switch (type) {
    case 0: {
      f.type = WireType::varint;
      auto v = read_varint("a varint value");
      if (!v) return v.error();
      f.varint = *v;
      break;
    }
    case 1:
    case 5: {
      const std::size_t size = type == 1 ? 8 : 4;
      f.type = type == 1 ? WireType::fixed64 : WireType::fixed32;
      if (in_.size() - pos_ < size) return error(f, "fixed-size value cut short");
      for (std::size_t i = 0; i < size; ++i) {
        f.varint |= std::to_integer<std::uint64_t>(in_[pos_ + i]) << (8 * i);
      }
      pos_ += size;
      break;
    }
    case 2: {
      f.type = WireType::bytes;
      auto length = read_varint("a length");
      if (!length) return length.error();
      if (*length > in_.size() - pos_) {
        return error(f, "length " + std::to_string(*length) + " runs past the end (" +
                            std::to_string(in_.size() - pos_) + " bytes left)");
      }
      f.bytes = in_.subspan(pos_, static_cast<std::size_t>(*length));
      pos_ += static_cast<std::size_t>(*length);
      break;
    }
    default:
      return error(f, "unsupported wire type " + std::to_string(type));
  }
  return std::optional<ProtobufField>(f);
}

void ProtobufWriter::raw_varint(std::uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<std::byte>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<std::byte>(value));
}

ProtobufWriter& ProtobufWriter::varint(std::uint32_t number, std::uint64_t value) {
  raw_varint(std::uint64_t{number} << 3);
  raw_varint(value);
  return *this;
}

ProtobufWriter& ProtobufWriter::fixed64(std::uint32_t number, std::uint64_t value) {
  raw_varint((std::uint64_t{number} << 3) | 1);
  for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::byte>(value >> (8 * i)));
  return *this;
}

ProtobufWriter& ProtobufWriter::bytes(std::uint32_t number, std::span<const std::byte> value) {
  raw_varint((std::uint64_t{number} << 3) | 2);
  raw_varint(value.size());
  out_.insert(out_.end(), value.begin(), value.end());
  return *this;
}

}  // namespace cipherline::attest::contrast
