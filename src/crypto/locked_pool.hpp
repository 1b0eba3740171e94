// Locked memory for small secrets without a system call per allocation.
//
// sodium_malloc maps pages, guards them, locks them and unmaps them again on
// free: about ten system calls, ~20 µs, per key. Per-exchange keys (OAE's
// PRK and stream keys, their AES schedules) are made and dropped with every
// request, so small secrets come from slabs instead: 64 KiB regions taken
// once from sodium_malloc (locked, guard pages around each slab), cut into
// slots of 64 or 512 bytes. A slot is zeroed when it is returned and handed
// out zeroed. Larger secrets go to sodium_malloc directly.
//
// Contract: thread-safe (one mutex; allocation is per exchange, never per
// message); slabs are kept for the process's life (bounded by the peak
// number of live secrets); a slot has no guard page of its own, only its
// slab does.
#pragma once

#include <cstddef>

namespace cipherline::crypto::internal {

// locked_alloc returns `size` zeroed bytes of locked memory; throws
// std::bad_alloc.
void* locked_alloc(std::size_t size);
// locked_free zeroes and releases what locked_alloc(size) returned.
void locked_free(void* p, std::size_t size) noexcept;

}  // namespace cipherline::crypto::internal
