#include "cipherline/runtime/loop_group.hpp"

#include <atomic>
#include <exception>
#include <thread>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {

LoopGroup::LoopGroup(std::size_t loops) {
  if (loops == 0) loops = std::max(1u, std::thread::hardware_concurrency());
  members_.reserve(loops);
  for (std::size_t i = 0; i < loops; ++i) members_.push_back(std::make_unique<Member>());
}

LoopGroup::~LoopGroup() {
  // Destroy in reverse so that each loop restores the thread's previous
  // current loop in order.
  while (!members_.empty()) members_.pop_back();
}

void LoopGroup::run(const std::function<Task<void>(std::size_t)>& entry) {
  std::vector<std::exception_ptr> errors(members_.size());
  // Closed on each loop once every entry has finished.
  std::vector<std::unique_ptr<Channel<bool>>> finished;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    finished.push_back(std::make_unique<Channel<bool>>(0));
  }
  std::atomic<std::size_t> running{members_.size()};
  auto run_member = [&](std::size_t i) {
    Member& m = *members_[i];
    try {
      sync_wait(m.loop, entry(i), m.token);
    } catch (...) {
      errors[i] = std::current_exception();
    }
    // Until the last entry has finished, this loop goes on serving work the
    // others post to it (a task of theirs may hop here and back).
    if (running.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      for (std::size_t j = 0; j < members_.size(); ++j) {
        members_[j]->loop.post([done = finished[j].get()] { done->close(); });
      }
    }
    sync_wait(m.loop, [](Channel<bool>& done) -> Task<void> {
      (void)co_await done.receive();
    }(*finished[i]));
  };
  std::vector<std::thread> threads;
  threads.reserve(members_.size() - 1);
  for (std::size_t i = 1; i < members_.size(); ++i) threads.emplace_back(run_member, i);
  run_member(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

void LoopGroup::request_stop() {
  for (auto& m : members_) {
    Member* member = m.get();
    member->loop.post([member] { member->stop.request_stop(); });
  }
}

}  // namespace cipherline
