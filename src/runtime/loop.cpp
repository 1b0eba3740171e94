#include "cipherline/runtime/loop.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <utility>

#include "cipherline/runtime/error.hpp"

namespace cipherline {
namespace {

thread_local Loop* current_loop = nullptr;

// Resumptions per idle callback before the loop polls for I/O again, so that
// tasks that keep rescheduling each other cannot starve sockets and timers.
constexpr int kReadyBatch = 1024;

void check(int status, const char* what) {
  if (status < 0) throw_uv_error(status, what);
}

}  // namespace

void internal::ReadyNode::unlink() noexcept {
  if (prev_ == nullptr) return;
  prev_->next_ = next_;
  next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

class Loop::CurrentScope {
 public:
  explicit CurrentScope(Loop* loop) noexcept : saved_(std::exchange(current_loop, loop)) {}
  CurrentScope(const CurrentScope&) = delete;
  CurrentScope& operator=(const CurrentScope&) = delete;
  ~CurrentScope() { current_loop = saved_; }

 private:
  Loop* saved_;
};

Loop::Loop() {
  // A write to a socket the peer closed must fail with EPIPE, not kill the
  // process; libuv writes with write(2), which raises SIGPIPE otherwise.
  static const bool sigpipe_ignored = [] { return std::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  check(uv_loop_init(&loop_), "uv_loop_init");
  loop_.data = this;
  ready_.prev_ = ready_.next_ = &ready_;
  check(uv_idle_init(&loop_, &idle_), "uv_idle_init");
  idle_.data = this;
  check(uv_async_init(&loop_, &async_, &Loop::on_async), "uv_async_init");
  async_.data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
  previous_current_ = current_loop;
  if (current_loop == nullptr) current_loop = this;
}

Loop::~Loop() {
  if (current_loop == this) current_loop = previous_current_;
  // Queued resumptions belong to frames that are being torn down with us.
  while (ready_.next_ != &ready_) ready_.next_->unlink();
  ready_.prev_ = ready_.next_ = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  {
    CurrentScope scope(this);
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
  if (uv_loop_close(&loop_) == UV_EBUSY) {
    std::fputs("cipherline: Loop destroyed while handles are still open:\n", stderr);
    uv_print_all_handles(&loop_, stderr);
    std::abort();
  }
}

Loop& Loop::current() {
  if (current_loop == nullptr) throw std::logic_error("no cipherline::Loop on this thread");
  return *current_loop;
}

void Loop::run() {
  CurrentScope scope(this);
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void Loop::acquire_keep_alive() noexcept {
  if (keep_alive_++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
}

void Loop::release_keep_alive() noexcept {
  if (--keep_alive_ == 0) uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
}

void Loop::schedule(internal::ReadyNode& node, std::coroutine_handle<> h) noexcept {
  node.unlink();
  node.handle_ = h;
  node.prev_ = ready_.prev_;
  node.next_ = &ready_;
  ready_.prev_->next_ = &node;
  ready_.prev_ = &node;
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_))) uv_idle_start(&idle_, &Loop::on_idle);
}

void Loop::on_idle(uv_idle_t* idle) {
  auto* loop = static_cast<Loop*>(idle->data);
  CurrentScope scope(loop);
  loop->drain_ready();
}

void Loop::drain_ready() noexcept {
  for (int i = 0; i < kReadyBatch && ready_.next_ != &ready_; ++i) {
    internal::ReadyNode* node = ready_.next_;
    node->unlink();
    node->handle_.resume();
  }
  if (ready_.next_ == &ready_) uv_idle_stop(&idle_);
}

void Loop::post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mutex_);
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void Loop::on_async(uv_async_t* async) {
  auto* loop = static_cast<Loop*>(async->data);
  CurrentScope scope(loop);
  loop->drain_posted();
}

void Loop::drain_posted() noexcept {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

}  // namespace cipherline
