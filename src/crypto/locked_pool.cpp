#include "locked_pool.hpp"

#include <sodium.h>

#include <mutex>
#include <new>
#include <vector>

#include "sodium_init.hpp"

namespace cipherline::crypto::internal {
namespace {

constexpr std::size_t kSlabSize = 64 * 1024;
constexpr std::size_t kClasses[] = {64, 512};

class Pool {
 public:
  void* take(std::size_t slot) {
    std::lock_guard lock(mutex_);
    auto& free = free_[index(slot)];
    if (free.empty()) grow(slot, free);
    void* p = free.back();
    free.pop_back();
    return p;
  }

  void give(void* p, std::size_t slot) noexcept {
    sodium_memzero(p, slot);
    std::lock_guard lock(mutex_);
    // The free lists' capacity covers every slot ever made: no allocation.
    free_[index(slot)].push_back(p);
  }

 private:
  static std::size_t index(std::size_t slot) noexcept { return slot == kClasses[0] ? 0 : 1; }

  void grow(std::size_t slot, std::vector<void*>& free) {
    ensure_sodium();
    auto* slab = static_cast<unsigned char*>(sodium_malloc(kSlabSize));
    if (slab == nullptr) throw std::bad_alloc();
    sodium_memzero(slab, kSlabSize);
    const std::size_t n = kSlabSize / slot;
    made_[index(slot)] += n;
    free.reserve(made_[index(slot)]);
    for (std::size_t i = 0; i < n; ++i) free.push_back(slab + i * slot);
  }

  std::mutex mutex_;
  std::vector<void*> free_[2];
  std::size_t made_[2] = {0, 0};
};

Pool& pool() {
  static Pool* const p = new Pool;  // never destroyed: secrets may outlive statics
  return *p;
}

std::size_t slot_for(std::size_t size) noexcept {
  for (const std::size_t c : kClasses) {
    if (size <= c) return c;
  }
  return 0;
}

}  // namespace

void* locked_alloc(std::size_t size) {
  if (const std::size_t slot = slot_for(size)) return pool().take(slot);
  ensure_sodium();
  void* p = sodium_malloc(size);
  if (p == nullptr) throw std::bad_alloc();
  sodium_memzero(p, size);
  return p;
}

void locked_free(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  if (const std::size_t slot = slot_for(size)) {
    pool().give(p, slot);
  } else {
    sodium_free(p);  // zeroes before unmapping
  }
}

}  // namespace cipherline::crypto::internal
