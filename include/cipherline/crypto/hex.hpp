// Hex encoding: lowercase out, either case in.
//
//   std::string s = to_hex(bytes);                       // "00ff10..."
//   auto key = from_hex(text);                           // Result<std::vector<std::byte>, Error>
//   Result<void, Error> r = hex_decode(text, out_span);  // into a caller's buffer
//
// Contract:
// - Encoding and decoding of valid input take time that depends only on the
//   length (no table lookups or branches on the data), so they may touch
//   keys. Invalid input is reported with its position (the error path
//   itself is not constant time: it reveals where the input went wrong).
// - Errors: crypto::errc::invalid_hex ("odd number of hex digits (25)",
//   "invalid hex digit at position 17") and crypto::errc::invalid_length
//   when the output span does not have exactly half the input's size.
// - SSE2 on x86-64, portable scalar code elsewhere; both give identical
//   results.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

// hex_encode writes 2 * in.size() characters to `out`.
void hex_encode(std::span<const std::byte> in, char* out) noexcept;
std::string to_hex(std::span<const std::byte> in);

// hex_decode decodes `in` into `out`, which must hold exactly in.size() / 2
// bytes. On error, `out` holds unspecified bytes.
Result<void, Error> hex_decode(std::string_view in, std::span<std::byte> out);
Result<std::vector<std::byte>, Error> from_hex(std::string_view in);

}  // namespace cipherline::crypto
