// Per-thread recycling allocator for coroutine frames (not public API).
//
// Coroutine frames of the runtime's own coroutine types come from here. Freed
// frames go to a free list of the freeing thread, bucketed by size class, and
// are handed out again to the next frame of that class on that thread, which
// makes a short-lived task cost about a third of a malloc/free pair. A frame
// freed on another thread than the one that allocated it simply joins the
// freeing thread's lists; the memory is ordinary `operator new` memory.
//
// Under AddressSanitizer, recycling is off so that use-after-free of a frame
// is reported instead of hidden.
#pragma once

#include <cstddef>

namespace cipherline::internal {

void* allocate_frame(std::size_t size);
void deallocate_frame(void* frame, std::size_t size) noexcept;

}  // namespace cipherline::internal
