// Loop: one libuv event loop, driven by one thread.
//
// Contract:
// - Thread affinity: every runtime object bound to a loop (streams,
//   listeners, timers, channels, scopes) is used only on the thread running
//   that loop. The one exception is `post`, which any thread may call.
// - `Loop::current()` is the loop of the calling thread: the loop being run
//   by it, or else the first loop constructed on it and still alive.
// - Stop sources whose tokens reach tasks of a loop must be signalled on that
//   loop's thread (stop callbacks run inside `request_stop`); from another
//   thread, post the `request_stop` to the loop.
// - The first Loop makes the process ignore SIGPIPE: writing to a closed
//   socket then fails with EPIPE instead of killing the process.
// - Objects bound to a loop must be destroyed before it. The destructor runs
//   the loop until every close callback has fired, then aborts with a message
//   if a handle is still open, since that is a lifetime bug.
#pragma once

#include <uv.h>

#include <coroutine>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace cipherline {

class Loop;

namespace internal {

// ReadyNode: an intrusive entry of a loop's ready queue, embedded in an
// awaiter that wants its coroutine resumed from the loop rather than inline
// (for example after cancellation, which runs inside `request_stop`). A node
// unlinks itself when destroyed, so a frame destroyed while queued is never
// resumed.
class ReadyNode {
 public:
  ReadyNode() noexcept = default;
  ReadyNode(const ReadyNode&) = delete;
  ReadyNode& operator=(const ReadyNode&) = delete;
  ~ReadyNode() { unlink(); }

  bool queued() const noexcept { return prev_ != nullptr; }
  void unlink() noexcept;

 private:
  friend class cipherline::Loop;
  ReadyNode* prev_ = nullptr;
  ReadyNode* next_ = nullptr;
  std::coroutine_handle<> handle_;
};

}  // namespace internal

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // current() returns the calling thread's loop; throws std::logic_error if
  // there is none.
  static Loop& current();

  uv_loop_t* native() noexcept { return &loop_; }

  // run() runs until no active handle or request is left, or until uv_stop.
  // Work posted from other threads does not keep it running; see
  // `acquire_keep_alive`.
  void run();

  // While at least one keep-alive is held, the loop waits for posted work
  // even when it has nothing else to do (a task may have moved to another
  // loop and be about to come back). sync_wait and LoopGroup hold one while
  // their task runs.
  void acquire_keep_alive() noexcept;
  void release_keep_alive() noexcept;

  // schedule queues `h` to be resumed by this loop (FIFO) through `node`. The
  // node must stay alive until then or be destroyed, which unlinks it.
  // Loop thread only.
  void schedule(internal::ReadyNode& node, std::coroutine_handle<> h) noexcept;

  // post runs `fn` on this loop's thread, in posting order. Thread-safe; the
  // cross-loop hand-off primitive. The loop must outlive every poster;
  // functions still queued when it is destroyed are dropped unrun. An
  // exception escaping `fn` terminates the process.
  void post(std::function<void()> fn);

  // RAII form of acquire_keep_alive/release_keep_alive.
  class KeepAlive {
   public:
    explicit KeepAlive(Loop& loop) noexcept : loop_(&loop) { loop_->acquire_keep_alive(); }
    KeepAlive(const KeepAlive&) = delete;
    KeepAlive& operator=(const KeepAlive&) = delete;
    ~KeepAlive() { loop_->release_keep_alive(); }

   private:
    Loop* loop_;
  };

  // Resumes the awaiting coroutine on this loop (possibly another thread):
  // `co_await loop.resume_here();`.
  auto resume_here() noexcept {
    struct Awaiter {
      Loop* loop;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) const {
        loop->post([h] { h.resume(); });
      }
      void await_resume() const noexcept {}
    };
    return Awaiter{this};
  }

 private:
  class CurrentScope;
  static void on_idle(uv_idle_t* idle);
  static void on_async(uv_async_t* async);
  void drain_ready() noexcept;
  void drain_posted() noexcept;

  uv_loop_t loop_{};
  uv_idle_t idle_{};
  uv_async_t async_{};
  internal::ReadyNode ready_;  // sentinel of the circular ready list
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  Loop* previous_current_ = nullptr;
  std::size_t keep_alive_ = 0;
};

}  // namespace cipherline
