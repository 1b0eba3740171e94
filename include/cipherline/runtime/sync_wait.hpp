// sync_wait: run a task to completion on a loop from ordinary code.
//
//   int main() { Loop loop; return sync_wait(loop, serve()); }
//
// For `main`, tests and tools only: it blocks the calling thread, which must
// be the one that runs `loop`, until the task completes, running the loop
// meanwhile. Returns the task's value or rethrows its exception. While the
// task runs, the loop also waits for work posted from other threads (a task
// may hop to another loop and back). An optional stop token is handed to
// the task as its cancellation token; it must be signalled on this thread
// (for example by another task on the loop).
#pragma once

#include <stdexcept>
#include <stop_token>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {

template <class T>
T sync_wait(Loop& loop, Task<T> task, const std::stop_token& token = internal::no_stop_token()) {
  auto handle = internal::TaskAccess::release(task);
  if (!handle) throw std::logic_error("sync_wait on an empty Task (moved-from or already awaited)");
  struct DestroyFrame {
    std::coroutine_handle<internal::TaskPromise<T>> h;
    ~DestroyFrame() { h.destroy(); }
  } guard{handle};

  handle.promise().set_stop_token(token);
  Loop::KeepAlive keep_alive(loop);
  internal::ReadyNode start;
  loop.schedule(start, handle);
  while (!handle.done()) loop.run_once();
  return handle.promise().take_result();
}

}  // namespace cipherline
