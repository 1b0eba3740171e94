#include "cipherline/runtime/internal/frame_allocator.hpp"

#include <array>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define CIPHERLINE_RECYCLE_FRAMES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIPHERLINE_RECYCLE_FRAMES 0
#endif
#endif
#ifndef CIPHERLINE_RECYCLE_FRAMES
#define CIPHERLINE_RECYCLE_FRAMES 1
#endif

namespace cipherline::internal {
namespace {

#if CIPHERLINE_RECYCLE_FRAMES

constexpr std::size_t kGranule = 64;
constexpr std::size_t kClasses = 32;  // frames up to 2 KiB are recycled
constexpr std::size_t kMaxCachedPerClass = 256;

struct FreeFrame {
  FreeFrame* next;
};

struct FreeList {
  FreeFrame* head;
  std::size_t count;
};

// The lists are trivially destructible so that a frame freed by another
// thread_local's destructor during thread exit still finds them; `released`
// sends such late frees straight to operator delete.
struct FrameCache {
  std::array<FreeList, kClasses> lists;
  bool released;
};

thread_local FrameCache cache{};

struct FrameCacheReleaser {
  FrameCacheReleaser() = default;
  FrameCacheReleaser(const FrameCacheReleaser&) = delete;
  FrameCacheReleaser& operator=(const FrameCacheReleaser&) = delete;
  ~FrameCacheReleaser() {
    cache.released = true;
    for (auto& list : cache.lists) {
      while (list.head != nullptr) {
        FreeFrame* f = list.head;
        list.head = f->next;
        ::operator delete(f);
      }
      list.count = 0;
    }
  }
};

thread_local FrameCacheReleaser releaser;

std::size_t size_class(std::size_t size) noexcept { return (size - 1) / kGranule; }

#endif

}  // namespace

void* allocate_frame(std::size_t size) {
#if CIPHERLINE_RECYCLE_FRAMES
  const std::size_t c = size_class(size);
  if (c >= kClasses) return ::operator new(size);
  FreeList& list = cache.lists[c];
  if (list.head != nullptr) {
    FreeFrame* f = list.head;
    list.head = f->next;
    --list.count;
    return f;
  }
  (void)&releaser;  // odr-use: registers the releaser for this thread
  return ::operator new((c + 1) * kGranule);
#else
  return ::operator new(size);
#endif
}

void deallocate_frame(void* frame, std::size_t size) noexcept {
#if CIPHERLINE_RECYCLE_FRAMES
  const std::size_t c = size_class(size);
  if (c < kClasses && !cache.released && cache.lists[c].count < kMaxCachedPerClass) {
    FreeList& list = cache.lists[c];
    list.head = new (frame) FreeFrame{list.head};
    ++list.count;
    return;
  }
  ::operator delete(frame);
#else
  (void)size;
  ::operator delete(frame);
#endif
}

}  // namespace cipherline::internal
