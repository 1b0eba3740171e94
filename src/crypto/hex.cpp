#include "cipherline/crypto/hex.hpp"

#include <cstdint>
#include <cstring>

#include "cipherline/crypto/error.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cipherline::crypto {
namespace {

// Scalar, branch-free: 0..15 -> '0'..'9', 'a'..'f'.
inline char nibble_to_hex(unsigned n) noexcept {
  // 39 = 'a' - '0' - 10, added only when n > 9 (mask from the borrow of 9 - n).
  const unsigned above9 = (9u - n) >> 8 & 1u;
  return static_cast<char>(n + '0' + (above9 * 39u));
}

// Returns the value of a hex digit, or a value >= 16 for anything else;
// branch-free.
inline unsigned hex_value(unsigned char c) noexcept {
  const unsigned d = (static_cast<unsigned>(c) - '0') & 0xffu;          // 0..9 for digits
  const unsigned l = ((static_cast<unsigned>(c) | 0x20u) - 'a') & 0xffu;  // 0..5 for letters
  const unsigned is_digit = ((d - 10u) >> 8) & 1u;                      // d < 10
  const unsigned is_letter = ((l - 6u) >> 8) & 1u;                      // l < 6
  const unsigned invalid = 1u - (is_digit | is_letter);
  return (d & (0u - is_digit)) | ((l + 10u) & (0u - is_letter)) | (invalid << 4);
}

Error bad_digit(std::size_t position) {
  return Error(errc::invalid_hex, "invalid hex digit at position " + std::to_string(position));
}

}  // namespace

void hex_encode(std::span<const std::byte> in, char* out) noexcept {
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  std::size_t n = in.size();
#if defined(__SSE2__)
  const __m128i low_nibbles = _mm_set1_epi8(0x0f);
  const __m128i nine = _mm_set1_epi8(9);
  const __m128i ascii_zero = _mm_set1_epi8('0');
  const __m128i letter_offset = _mm_set1_epi8('a' - '0' - 10);
  auto to_ascii = [&](__m128i nibbles) {
    const __m128i above9 = _mm_cmpgt_epi8(nibbles, nine);
    return _mm_add_epi8(_mm_add_epi8(nibbles, ascii_zero), _mm_and_si128(above9, letter_offset));
  };
  for (; n >= 16; n -= 16, src += 16, out += 32) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
    const __m128i hi = to_ascii(_mm_and_si128(_mm_srli_epi16(v, 4), low_nibbles));
    const __m128i lo = to_ascii(_mm_and_si128(v, low_nibbles));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_unpacklo_epi8(hi, lo));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), _mm_unpackhi_epi8(hi, lo));
  }
#endif
  for (; n > 0; --n, ++src, out += 2) {
    out[0] = nibble_to_hex(*src >> 4);
    out[1] = nibble_to_hex(*src & 0x0f);
  }
}

std::string to_hex(std::span<const std::byte> in) {
  std::string s(in.size() * 2, '\0');
  hex_encode(in, s.data());
  return s;
}

Result<void, Error> hex_decode(std::string_view in, std::span<std::byte> out) {
  if (in.size() % 2 != 0) {
    return Error(errc::invalid_hex, "odd number of hex digits (" + std::to_string(in.size()) + ")");
  }
  if (out.size() != in.size() / 2) {
    return Error(errc::invalid_length, "hex of " + std::to_string(in.size() / 2) +
                                           " bytes where " + std::to_string(out.size()) +
                                           " were expected");
  }
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i ascii_zero = _mm_set1_epi8('0');
  const __m128i ascii_a = _mm_set1_epi8('a');
  const __m128i lower_bit = _mm_set1_epi8(0x20);
  const __m128i nine = _mm_set1_epi8(9);
  const __m128i five = _mm_set1_epi8(5);
  const __m128i ten = _mm_set1_epi8(10);
  const __m128i zero = _mm_setzero_si128();
  const __m128i low_byte = _mm_set1_epi16(0x00ff);
  // Decodes 16 characters into 8 values in the low bytes of 16-bit lanes;
  // `invalid` collects a mask of bad characters.
  auto decode16 = [&](const unsigned char* p, int& invalid) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i d = _mm_sub_epi8(c, ascii_zero);
    const __m128i l = _mm_sub_epi8(_mm_or_si128(c, lower_bit), ascii_a);
    const __m128i is_digit = _mm_cmpeq_epi8(_mm_subs_epu8(d, nine), zero);
    const __m128i is_letter = _mm_cmpeq_epi8(_mm_subs_epu8(l, five), zero);
    invalid = ~_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter)) & 0xffff;
    const __m128i v = _mm_or_si128(_mm_and_si128(is_digit, d),
                                   _mm_and_si128(is_letter, _mm_add_epi8(l, ten)));
    // Lane k holds digits 2k (low byte) and 2k+1 (high byte).
    return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, low_byte), 4), _mm_srli_epi16(v, 8));
  };
  for (; in.size() - i >= 32; i += 32, dst += 16) {
    int bad_a = 0;
    int bad_b = 0;
    const __m128i a = decode16(src + i, bad_a);
    const __m128i b = decode16(src + i + 16, bad_b);
    if ((bad_a | bad_b) != 0) {
      return bad_digit(i + static_cast<std::size_t>(
                               bad_a != 0 ? __builtin_ctz(static_cast<unsigned>(bad_a))
                                          : 16 + __builtin_ctz(static_cast<unsigned>(bad_b))));
    }
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), _mm_packus_epi16(a, b));
  }
#endif
  unsigned invalid = 0;
  std::size_t first_invalid = 0;
  for (; i < in.size(); i += 2, ++dst) {
    const unsigned hi = hex_value(src[i]);
    const unsigned lo = hex_value(src[i + 1]);
    if (((hi | lo) & 0x10u) != 0 && invalid == 0) first_invalid = (hi & 0x10u) ? i : i + 1;
    invalid |= (hi | lo) & 0x10u;
    *dst = static_cast<unsigned char>((hi << 4) | (lo & 0x0fu));
  }
  if (invalid != 0) return bad_digit(first_invalid);
  return {};
}

Result<std::vector<std::byte>, Error> from_hex(std::string_view in) {
  std::vector<std::byte> out(in.size() / 2);
  if (auto r = hex_decode(in, out); !r) return r.error();
  return out;
}

}  // namespace cipherline::crypto
