#include "cipherline/crypto/random.hpp"

#include <pthread.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>

#include "sodium_init.hpp"

namespace cipherline::crypto {
namespace {

constexpr std::size_t kBlock = 512;
constexpr std::size_t kKey = crypto_stream_chacha20_ietf_KEYBYTES;

// Bumped in the child after fork(): a thread whose generator was seeded in
// another generation reseeds before its next output.
std::atomic<std::uint64_t> fork_generation{1};

void register_fork_handler() {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr,
                   [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
}

struct Generator {
  unsigned char key[kKey];
  unsigned char block[kBlock];
  std::size_t available = 0;  // unread bytes at the end of `block`
  std::uint64_t generation = 0;

  Generator() = default;
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;
  ~Generator() {
    sodium_memzero(key, sizeof key);
    sodium_memzero(block, sizeof block);
  }

  void reseed() {
    randombytes_buf(key, sizeof key);
    sodium_memzero(block, sizeof block);
    available = 0;
    generation = fork_generation.load(std::memory_order_relaxed);
  }

  void refill() {
    static const unsigned char zero_nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
    crypto_stream_chacha20_ietf(block, sizeof block, zero_nonce, key);
    std::memcpy(key, block, kKey);  // fast key erasure: the old key is gone
    sodium_memzero(block, kKey);
    available = kBlock - kKey;
  }
};

thread_local Generator generator;

}  // namespace

void random_bytes(std::span<std::byte> out) noexcept {
  ensure_sodium();
  register_fork_handler();
  Generator& g = generator;
  if (g.generation != fork_generation.load(std::memory_order_relaxed)) g.reseed();
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  std::size_t n = out.size();
  while (n > 0) {
    if (g.available == 0) g.refill();
    const std::size_t take = std::min(n, g.available);
    unsigned char* src = g.block + (kBlock - g.available);
    std::memcpy(dst, src, take);
    sodium_memzero(src, take);
    g.available -= take;
    dst += take;
    n -= take;
  }
}

}  // namespace cipherline::crypto
