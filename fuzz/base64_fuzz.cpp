// Fuzz target: base64 decoding. Accepted input is canonical: it re-encodes
// to exactly itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cipherline/crypto/base64.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = cipherline::crypto::from_base64(text);
  if (decoded && cipherline::crypto::to_base64(*decoded) != text) std::abort();
  return 0;
}
