// Fuzz target: hex decoding. Whatever the input, decoding either fails with
// a position inside the input, or succeeds and re-encodes to the lowercase
// form of the input.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cipherline/crypto/hex.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = cipherline::crypto::from_hex(text);
  if (!decoded) {
    const std::string m = decoded.error().message();
    if (m.empty()) std::abort();
    return 0;
  }
  if (decoded->size() * 2 != size) std::abort();
  const std::string again = cipherline::crypto::to_hex(*decoded);
  for (std::size_t i = 0; i < size; ++i) {
    if (again[i] != static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))))
      std::abort();
  }
  return 0;
}
