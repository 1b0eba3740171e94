// Closing heap-allocated libuv handles (not public API).
//
// libuv may touch a handle until its close callback has run, so a handle that
// lives inside a heap object is freed from that callback, never before.
#pragma once

#include <uv.h>

namespace cipherline::internal {

// close_and_delete closes `handle`, a member of the heap object `owner`, and
// deletes `owner` once libuv is done with it. `handle->data` is overwritten.
template <class Owner, class Handle>
void close_and_delete(Owner* owner, Handle* handle) noexcept {
  auto* h = reinterpret_cast<uv_handle_t*>(handle);
  h->data = owner;
  uv_close(h, [](uv_handle_t* closed) { delete static_cast<Owner*>(closed->data); });
}

}  // namespace cipherline::internal
