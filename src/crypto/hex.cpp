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

#if !defined(__SSE2__)
// Returns the value of a hex digit, or a value >= 16 for anything else;
// branch-free.
inline unsigned hex_value(unsigned char c) noexcept {
  const unsigned d = (static_cast<unsigned>(c) - '0') & 0xffu;            // 0..9 for digits
  const unsigned l = ((static_cast<unsigned>(c) | 0x20u) - 'a') & 0xffu;  // 0..5 for letters
  const unsigned is_digit = ((d - 10u) >> 8) & 1u;                        // d < 10
  const unsigned is_letter = ((l - 6u) >> 8) & 1u;                        // l < 6
  const unsigned invalid = 1u - (is_digit | is_letter);
  return (d & (0u - is_digit)) | ((l + 10u) & (0u - is_letter)) | (invalid << 4);
}
#endif

#if defined(__SSE2__)
// SSE2 decoding, constant time: the same instructions run whatever the
// input. Per character: d = c - '0' is a digit when d ≤ 9; l = (c | 0x20) -
// 'a' is a letter when l ≤ 5 (either case); the value is d or l + 10.
//
// decode16 turns 16 characters into 8 bytes, in the low bytes of 16-bit
// lanes, and returns the bit mask of invalid characters in `invalid`.
inline __m128i decode16(const unsigned char* p, unsigned& invalid) noexcept {
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i dg = _mm_sub_epi8(c, _mm_set1_epi8('0'));
  const __m128i lt = _mm_sub_epi8(_mm_or_si128(c, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
  const __m128i is_digit = _mm_cmpeq_epi8(_mm_subs_epu8(dg, _mm_set1_epi8(9)), _mm_setzero_si128());
  const __m128i is_letter =
      _mm_cmpeq_epi8(_mm_subs_epu8(lt, _mm_set1_epi8(5)), _mm_setzero_si128());
  invalid = ~static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(is_digit, is_letter))) & 0xffffu;
  const __m128i v = _mm_or_si128(_mm_and_si128(is_digit, dg),
                                 _mm_and_si128(is_letter, _mm_add_epi8(lt, _mm_set1_epi8(10))));
  // Lane k holds digits 2k (low byte) and 2k+1 (high byte).
  return _mm_or_si128(_mm_slli_epi16(_mm_and_si128(v, _mm_set1_epi16(0x00ff)), 4),
                      _mm_srli_epi16(v, 8));
}

// decode32 turns 32 characters at `p` into 16 bytes at `d`; returns the
// mask of invalid characters.
inline unsigned decode32(const unsigned char* p, unsigned char* d) noexcept {
  unsigned bad_a = 0;
  unsigned bad_b = 0;
  const __m128i a = decode16(p, bad_a);
  const __m128i b = decode16(p + 16, bad_b);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d), _mm_packus_epi16(a, b));
  return bad_a | (bad_b << 16);
}

inline unsigned decode16_to(const unsigned char* p, unsigned char* d) noexcept {
  unsigned bad = 0;
  const __m128i v = decode16(p, bad);
  _mm_storel_epi64(reinterpret_cast<__m128i*>(d), _mm_packus_epi16(v, v));
  return bad;
}

constexpr std::size_t kAllValid = ~std::size_t{0};

// decode_all decodes n (even) characters; returns the position of the
// first invalid one, or kAllValid. A partial last block is decoded as the
// block ending at the end of the input, overlapping what came before, so no
// input is read twice into a temporary and nothing is read out of bounds.
std::size_t decode_all(const unsigned char* src, std::size_t n, unsigned char* dst) noexcept {
  auto first = [](std::size_t at, unsigned mask) {
    return at + static_cast<std::size_t>(__builtin_ctz(mask));
  };
  if (n >= 32) {
    std::size_t i = 0;
    for (; n - i >= 32; i += 32) {
      if (const unsigned bad = decode32(src + i, dst + i / 2); bad != 0) return first(i, bad);
    }
    if (i < n) {
      if (const unsigned bad = decode32(src + n - 32, dst + n / 2 - 16); bad != 0) {
        return first(n - 32, bad);
      }
    }
    return kAllValid;
  }
  if (n >= 16) {
    if (const unsigned bad = decode16_to(src, dst); bad != 0) return first(0, bad);
    if (const unsigned bad = decode16_to(src + n - 16, dst + n / 2 - 8); bad != 0) {
      return first(n - 16, bad);
    }
    return kAllValid;
  }
  if (n == 0) return kAllValid;
  alignas(16) unsigned char chars[16];
  alignas(16) unsigned char bytes[8];
  std::memset(chars, '0', sizeof chars);
  std::memcpy(chars, src, n);
  const unsigned bad = decode16_to(chars, bytes) & ((1u << n) - 1u);
  if (bad != 0) return first(0, bad);
  std::memcpy(dst, bytes, n / 2);
  return kAllValid;
}
#endif

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
    return Error(errc::invalid_length, "hex of " + std::to_string(in.size() / 2) + " bytes where " +
                                           std::to_string(out.size()) + " were expected");
  }
  const auto* src = reinterpret_cast<const unsigned char*>(in.data());
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
#if defined(__SSE2__)
  if (const std::size_t bad = decode_all(src, in.size(), dst); bad != kAllValid) {
    return bad_digit(bad);
  }
  return {};
#else
  unsigned invalid = 0;
  std::size_t first_invalid = 0;
  for (std::size_t i = 0; i < in.size(); i += 2, ++dst) {
    const unsigned hi = hex_value(src[i]);
    const unsigned lo = hex_value(src[i + 1]);
    if (((hi | lo) & 0x10u) != 0 && invalid == 0) first_invalid = (hi & 0x10u) ? i : i + 1;
    invalid |= (hi | lo) & 0x10u;
    *dst = static_cast<unsigned char>((hi << 4) | (lo & 0x0fu));
  }
  if (invalid != 0) return bad_digit(first_invalid);
  return {};
#endif
}

Result<std::vector<std::byte>, Error> from_hex(std::string_view in) {
  std::vector<std::byte> out(in.size() / 2);
  if (auto r = hex_decode(in, out); !r) return r.error();
  return out;
}

}  // namespace cipherline::crypto
