// The prompt-cache shard key (spec §6.6): routes requests that share a
// cache salt and a prompt prefix to the same replica, without revealing
// either.
//
//   std::string key = shard_key(salt, content).value();   // "087280357dfdc5a3-Q…"
//
// The key is the first 16 hex digits of SHA-256(salt), then — when the
// content has at least 64 characters — "-" and one base64-alphabet
// character per complete block of the content, from a SHA-256 chain over the
// blocks (h0 = SHA-256(salt), h = SHA-256(h ‖ block), character
// alphabet[h[31] & 63]). Blocks assume 4 characters per token: 16-token
// blocks for the first 1,024 tokens, 128-token blocks up to 100,096 tokens,
// 512-token blocks up to 1,000,000 tokens; longer content is an error
// (crypto::errc::invalid_length). `content` is system + tools + messages +
// prompt + suffix as raw JSON text. Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

// The request field that names the cache salt, and its shortest value.
inline constexpr std::string_view kCacheSaltField = "cache_salt";
inline constexpr std::size_t kMinCacheSaltSize = 32;
// The prompt-bearing top-level fields the content is made of, in order.
inline constexpr std::string_view kShardKeyContentFields[] = {"system", "tools", "messages",
                                                              "prompt", "suffix"};

Result<std::string, Error> shard_key(std::string_view salt, std::string_view content);

}  // namespace cipherline::protocol
