// Little-endian integers in evidence byte layouts (private to attest).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cipherline::attest::internal {

// store_le writes the low `size` bytes of `value` at `out`.
inline void store_le(std::byte* out, std::uint64_t value, std::size_t size) noexcept {
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::byte>(value >> (8 * i));
}

// load_le reads `in` (at most 8 bytes) as a little-endian integer.
inline std::uint64_t load_le(std::span<const std::byte> in) noexcept {
  std::uint64_t value = 0;
  for (std::size_t i = in.size(); i-- > 0;)
    value = (value << 8) | std::to_integer<std::uint64_t>(in[i]);
  return value;
}

}  // namespace cipherline::attest::internal
