// Fuzz target: parsing and opening an encrypted field. Arbitrary input must
// give a named error (never a crash, never plaintext without authentication);
// a field sealed here from the fuzz input must open to that input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/protocol/field_cipher.hpp"

namespace {

const cipherline::crypto::Aes256Gcm& aead() {
  static const cipherline::crypto::Aes256Gcm a(std::vector<std::byte>(32, std::byte{0x42}));
  return a;
}

const cipherline::protocol::FieldNonce kNonce{};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cipherline::protocol;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto parsed = parse_field(text);
  if (parsed) {
    std::string out;
    auto opened = open_field(aead(), *parsed, kNonce, 0, out);
    // Forging a tag by chance is out of reach; any success means a bug.
    if (opened || !out.empty() || opened.error().message().empty()) std::abort();
  } else if (parsed.error().message().empty()) {
    std::abort();
  }

  std::string field;
  seal_field(aead(), "fuzz", kNonce, 3, std::as_bytes(std::span(text)), field);
  std::string back;
  auto reparsed = parse_field(field);
  if (!reparsed || !open_field(aead(), *reparsed, kNonce, 3, back) || back != text) std::abort();
  return 0;
}
