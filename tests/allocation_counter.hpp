// Test support: counts every operator new of the program, so that a test or
// benchmark can assert how many allocations a hot path makes.
//
// It replaces the global allocation functions, so include it in exactly one
// source file of a program. allocations() is the count so far.
#pragma once

#include <atomic>
#include <cstdlib>
#include <new>

namespace cipherline::testing {

inline std::atomic<long> allocation_count{0};

inline long allocations() noexcept { return allocation_count.load(std::memory_order_relaxed); }

}  // namespace cipherline::testing

void* operator new(std::size_t size) {
  cipherline::testing::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  cipherline::testing::allocation_count.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
