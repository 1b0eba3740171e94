#include "cipherline/crypto/base64.hpp"

#include <sodium.h>

#include "cipherline/crypto/error.hpp"
#include "sodium_init.hpp"

namespace cipherline::crypto {

std::string to_base64(std::span<const std::byte> in) {
  ensure_sodium();
  const std::size_t size =
      sodium_base64_encoded_len(in.size(), sodium_base64_VARIANT_ORIGINAL);  // includes NUL
  std::string out(size, '\0');
  sodium_bin2base64(out.data(), size, reinterpret_cast<const unsigned char*>(in.data()), in.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(size - 1);
  return out;
}

Result<std::vector<std::byte>, Error> from_base64(std::string_view in) {
  ensure_sodium();
  if (in.size() % 4 != 0) {
    return Error(errc::invalid_base64,
                 "base64 length " + std::to_string(in.size()) + " is not a multiple of 4");
  }
  if (in.empty()) return std::vector<std::byte>{};
  // libsodium 1.0.18 maps bytes above 0x7f to alphabet values instead of
  // rejecting them; only the 65 characters of the alphabet may pass. The
  // scan is branch-free on valid input.
  unsigned outside = 0;
  for (const char ch : in) {
    const unsigned c = static_cast<unsigned char>(ch);
    const unsigned ok = ((c - 'A') < 26u) | ((c - 'a') < 26u) | ((c - '0') < 10u) | (c == '+') |
                        (c == '/') | (c == '=');
    outside |= ok ^ 1u;
  }
  if (outside != 0) {
    const std::size_t position =
        in.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
    return Error(errc::invalid_base64, "invalid base64 at position " + std::to_string(position));
  }
  std::vector<std::byte> out(in.size() / 4 * 3);
  std::size_t decoded = 0;
  const char* end = nullptr;
  const int status =
      sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), in.data(),
                        in.size(), nullptr, &decoded, &end, sodium_base64_VARIANT_ORIGINAL);
  const auto position = static_cast<std::size_t>(end - in.data());
  if (status != 0 || position != in.size()) {
    return Error(errc::invalid_base64, "invalid base64 at position " + std::to_string(position));
  }
  out.resize(decoded);
  return out;
}

}  // namespace cipherline::crypto
