#include "cipherline/protocol/field_cipher.hpp"

#include <cstring>
#include <vector>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"

namespace cipherline::protocol {
namespace {

using crypto::Aes256Gcm;
using crypto::errc;

// The AAD: nonce ‖ u32 little-endian sequence number.
std::array<std::byte, 16> make_aad(const FieldNonce& nonce, std::uint32_t sequence) noexcept {
  std::array<std::byte, 16> aad;
  std::memcpy(aad.data(), nonce.data(), nonce.size());
  for (int i = 0; i < 4; ++i) aad[12 + i] = static_cast<std::byte>(sequence >> (8 * i));
  return aad;
}

// Ciphertexts up to this size are sealed through a stack buffer.
constexpr std::size_t kStackSealed = 4096;

Error part_error(const Error& e, const char* part) {
  return Error(e.code(), std::string(part) + ": " + e.message());
}

}  // namespace

void seal_field_with_iv(const Aes256Gcm& aead, std::string_view secret_id, const FieldNonce& nonce,
                        const FieldIv& iv, std::uint32_t sequence,
                        std::span<const std::byte> plaintext, std::string& out) {
  const std::size_t sealed_size = plaintext.size() + Aes256Gcm::kTagSize;
  std::array<std::byte, kStackSealed> stack;
  std::vector<std::byte> heap;
  std::span<std::byte> sealed;
  if (sealed_size <= stack.size()) {
    sealed = std::span(stack).first(sealed_size);
  } else {
    heap.resize(sealed_size);
    sealed = heap;
  }
  aead.seal(sealed, plaintext, iv, make_aad(nonce, sequence));

  const std::size_t start = out.size();
  out.resize(start + sealed_field_size(secret_id.size(), plaintext.size()));
  char* p = out.data() + start;
  *p++ = '"';
  std::memcpy(p, secret_id.data(), secret_id.size());
  p += secret_id.size();
  *p++ = ':';
  crypto::hex_encode(nonce, p);
  p += 24;
  *p++ = ':';
  crypto::hex_encode(iv, p);
  p += 24;
  *p++ = ':';
  crypto::hex_encode(sealed, p);
  p += 2 * sealed.size();
  *p = '"';
}

void seal_field(const Aes256Gcm& aead, std::string_view secret_id, const FieldNonce& nonce,
                std::uint32_t sequence, std::span<const std::byte> plaintext, std::string& out) {
  FieldIv iv;
  crypto::random_bytes(iv);
  seal_field_with_iv(aead, secret_id, nonce, iv, sequence, plaintext, out);
}

Result<ParsedField, Error> parse_field(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.size() < 2 || text.front() != '"' || text.back() != '"') {
    return Error(errc::malformed_field, "encrypted field is not a quoted string");
  }
  text = text.substr(1, text.size() - 2);

  std::string_view parts[4];
  std::size_t count = 0;
  for (std::size_t begin = 0;;) {
    const std::size_t colon = text.find(':', begin);
    if (count < 4) parts[count] = text.substr(begin, colon - begin);
    ++count;
    if (colon == std::string_view::npos) break;
    begin = colon + 1;
  }
  if (count != 4) {
    return Error(errc::malformed_field,
                 "encrypted field has " + std::to_string(count) +
                     " parts, expected 4 (secret ID:nonce:IV:ciphertext)");
  }
  ParsedField f{parts[0], {}, {}, parts[3]};
  if (f.secret_id.empty()) return Error(errc::malformed_field, "encrypted field has an empty secret ID");
  if (parts[1].size() != 24) {
    return Error(errc::invalid_length,
                 "nonce: " + std::to_string(parts[1].size()) + " hex digits, expected 24");
  }
  if (auto r = crypto::hex_decode(parts[1], f.nonce); !r) return part_error(r.error(), "nonce");
  if (parts[2].size() != 24) {
    return Error(errc::invalid_length,
                 "IV: " + std::to_string(parts[2].size()) + " hex digits, expected 24");
  }
  if (auto r = crypto::hex_decode(parts[2], f.iv); !r) return part_error(r.error(), "IV");
  if (f.sealed_hex.size() < 2 * Aes256Gcm::kTagSize) {
    return Error(errc::invalid_length, "ciphertext: " + std::to_string(f.sealed_hex.size()) +
                                           " hex digits, shorter than the 16-byte tag");
  }
  if (f.sealed_hex.size() % 2 != 0) {
    return Error(errc::invalid_hex, "ciphertext: odd number of hex digits (" +
                                        std::to_string(f.sealed_hex.size()) + ")");
  }
  return f;
}

Result<void, Error> open_field(const Aes256Gcm& aead, const ParsedField& field,
                               const FieldNonce& nonce, std::uint32_t sequence, std::string& out) {
  // Decode the ciphertext into the tail of `out`, then decrypt it in place.
  const std::size_t sealed_size = field.sealed_hex.size() / 2;
  const std::size_t plain_size = sealed_size - Aes256Gcm::kTagSize;
  const std::size_t start = out.size();
  out.resize(start + sealed_size);
  const auto sealed = std::as_writable_bytes(std::span(out.data() + start, sealed_size));
  if (auto r = crypto::hex_decode(field.sealed_hex, sealed); !r) {
    out.resize(start);
    return part_error(r.error(), "ciphertext");
  }
  const auto opened = aead.open(sealed.first(plain_size), sealed, field.iv, make_aad(nonce, sequence));
  if (!opened) {
    out.resize(start);
    return Error(opened.error());
  }
  out.resize(start + plain_size);
  return {};
}

}  // namespace cipherline::protocol
