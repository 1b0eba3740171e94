// Number formatting for the attest layer's messages and claims (private).
#pragma once

#include <cstdint>
#include <string>

namespace cipherline::attest::internal {

// hex_number: "0x1a0", for offsets, lengths and field values in messages.
inline std::string hex_number(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.insert(digits.begin(), kDigits[value % 16]);
    value /= 16;
  } while (value != 0);
  return "0x" + digits;
}

// hex_word: "0x0000000000030000", a 64-bit word at full width (policies,
// platform info, mitigation vectors).
inline std::string hex_word(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 60; shift >= 0; shift -= 4) out += kDigits[(value >> shift) & 0xF];
  return out;
}

}  // namespace cipherline::attest::internal
