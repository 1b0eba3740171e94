// offload: run a CPU-heavy callable on the libuv thread pool.
//
//   Result<Report> r = co_await offload([doc = std::move(doc)] { return verify(doc); });
//
// Contract:
// - `fn` is moved into the operation and runs on a pool thread; the awaiting
//   task resumes on its own loop with fn's value, or fn's exception rethrown
//   from `co_await`.
// - Cancellation: a job still queued is removed and completes with
//   errc::operation_cancelled; a job already running cannot be interrupted,
//   so the task waits for it and receives its value. Rare, heavy work only
//   (certificate chains, attestation reports); per-token work stays inline.
// - If the awaiting frame is destroyed while the job runs, the job still
//   runs to completion and its result is discarded, so `fn` must own what it
//   uses (capture by value).
// - The pool is libuv's (UV_THREADPOOL_SIZE threads, default 4), shared by
//   every loop of the process.
#pragma once

#include <uv.h>

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "cipherline/runtime/internal/operation.hpp"

namespace cipherline {

template <class F>
class [[nodiscard]] Offload : public internal::Operation<Offload<F>, std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  using Stored = std::conditional_t<std::is_void_v<R>, bool, R>;

 public:
  explicit Offload(F fn) : job_(new Job{{}, std::move(fn), {}, {}, this}) {}
  ~Offload() {
    if (job_ != nullptr) {
      if (this->pending()) {
        job_->owner = nullptr;  // after_work frees it
      } else {
        delete job_;
      }
    }
  }

  Result<R> await_resume() {
    Result<R> result = internal::Operation<Offload<F>, R>::await_resume();
    if (failure_) std::rethrow_exception(failure_);
    return result;
  }

 private:
  friend class internal::Operation<Offload<F>, R>;

  struct Job {
    uv_work_t req;
    F fn;
    std::optional<Stored> value;
    std::exception_ptr error;
    Offload* owner;
  };

  bool start() {
    job_->req.data = job_;
    const int status = uv_queue_work(Loop::current().native(), &job_->req, &run, &after);
    if (status < 0) {
      this->set_result(uv_error(status));
      return false;
    }
    return true;
  }

  // A queued job is cancelled by libuv, which then calls `after` with
  // UV_ECANCELED; a running one cannot be, and completes normally.
  bool cancel() noexcept {
    uv_cancel(reinterpret_cast<uv_req_t*>(&job_->req));
    return false;
  }

  static void run(uv_work_t* req) {
    auto* job = static_cast<Job*>(req->data);
    try {
      if constexpr (std::is_void_v<R>) {
        job->fn();
        job->value.emplace(true);
      } else {
        job->value.emplace(job->fn());
      }
    } catch (...) {
      job->error = std::current_exception();
    }
  }

  static void after(uv_work_t* req, int status) {
    auto* job = static_cast<Job*>(req->data);
    Offload* owner = job->owner;
    if (owner == nullptr) {
      delete job;
      return;
    }
    if (status == UV_ECANCELED) {
      owner->complete(errc::operation_cancelled);
    } else if (job->error) {
      owner->failure_ = job->error;
      owner->complete(errc::operation_cancelled);  // replaced by the rethrow
    } else if constexpr (std::is_void_v<R>) {
      owner->complete();
    } else {
      owner->complete(std::move(*job->value));
    }
  }

  Job* job_;
  std::exception_ptr failure_;
};

template <class F>
Offload<std::decay_t<F>> offload(F&& fn) {
  return Offload<std::decay_t<F>>(std::forward<F>(fn));
}

}  // namespace cipherline
