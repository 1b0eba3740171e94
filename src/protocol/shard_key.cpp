#include "cipherline/protocol/shard_key.hpp"

#include <algorithm>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::protocol {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::size_t kCharsPerToken = 4;

struct Tier {
  std::size_t up_to_tokens;     // the tier ends here
  std::size_t tokens_per_block;
};
constexpr Tier kTiers[] = {{1'024, 16}, {100'096, 128}, {1'000'000, 512}};

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

}  // namespace

Result<std::string, Error> shard_key(std::string_view salt, std::string_view content) {
  constexpr std::size_t kMaxChars = kTiers[2].up_to_tokens * kCharsPerToken;
  if (content.size() > kMaxChars) {
    return Error(crypto::errc::invalid_length,
                 "prompt of " + std::to_string(content.size()) + " characters exceeds the shard-key limit of " +
                     std::to_string(kMaxChars) + " (1,000,000 tokens)");
  }
  crypto::Sha256Digest h = crypto::sha256(bytes(salt));
  std::string key = crypto::to_hex(std::span(h).first(8));
  std::size_t offset = 0;
  for (const Tier& tier : kTiers) {
    const std::size_t block = tier.tokens_per_block * kCharsPerToken;
    const std::size_t tier_end = std::min(content.size(), tier.up_to_tokens * kCharsPerToken);
    for (; offset + block <= tier_end; offset += block) {
      if (offset == 0) key += '-';
      h = crypto::sha256({std::span<const std::byte>(h), bytes(content.substr(offset, block))});
      key += kAlphabet[static_cast<unsigned>(h[31]) & 0x3f];
    }
    if (tier_end < tier.up_to_tokens * kCharsPerToken) break;
  }
  return key;
}

}  // namespace cipherline::protocol
