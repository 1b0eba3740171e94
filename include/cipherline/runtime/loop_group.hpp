// LoopGroup: N event loops on N threads, share nothing.
//
//   LoopGroup group;                        // one loop per core
//   group.run([&](std::size_t i) -> Task<void> {
//     auto listener = TcpListener::bind(addr, {.reuse_port = true});
//     co_await serve(listener);             // each loop accepts on its own
//   });
//
// Contract:
// - `run` starts `entry(i)` on loop i, loop 0 on the calling thread and the
//   others on threads of their own, and returns when every entry task has
//   finished and the threads have joined; the first exception is rethrown.
//   A loop whose entry finished keeps running posted work until the last
//   entry has finished, so a task may hop to any loop and back
//   (Loop::resume_here) for as long as the group runs.
// - Each entry task carries a stop token stopped by `request_stop()`, which
//   any thread may call (it is posted to each loop).
// - Loops exist for the group's lifetime; `loop(i).post(fn)` is the way to
//   hand work to another loop.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stop_token>
#include <vector>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {

class LoopGroup {
 public:
  // loops = 0 means one per hardware thread.
  explicit LoopGroup(std::size_t loops = 0);
  ~LoopGroup();
  LoopGroup(const LoopGroup&) = delete;
  LoopGroup& operator=(const LoopGroup&) = delete;

  std::size_t size() const noexcept { return members_.size(); }
  Loop& loop(std::size_t index) { return members_.at(index)->loop; }

  void run(const std::function<Task<void>(std::size_t index)>& entry);
  void request_stop();

 private:
  struct Member {
    Loop loop;
    std::stop_source stop;
    std::stop_token token = stop.get_token();
  };
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace cipherline
