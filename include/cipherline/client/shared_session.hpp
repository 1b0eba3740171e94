// SharedSession: one attested Session for every event loop of a process —
// one attestation, one key exchange, one rotation — whose current key any
// loop's hot path reads without a lock.
//
//   LoopGroup group(4);
//   auto session = std::make_shared<SharedSession>(options, &group.loop(0));  // owner: loop 0
//   group.run([&](std::size_t i) -> Task<void> {
//     Client client(client_options, session);   // one per loop, sharing the session
//     if (i == 0) (void)co_await client.connect();   // the others' connect() joins it
//     ...
//     co_await client.close();                  // loop 0's also stops the rotation
//   });
//
// Contract:
// - Ownership and thread affinity: the Session and the HTTP client it talks
//   to the backend with live on one loop, the owner (given, or else the loop
//   of the first call). Everything that talks to the backend — attestation,
//   exchange, rotation, force_refresh — runs there. A call from another loop
//   hops to the owner (Loop::post) and back before it returns, so the
//   refreshes of every loop join one, and the caller always resumes on its
//   own loop.
// - Publication: after every change of the session's secret, its expiry or
//   its API key, an immutable SessionSnapshot is published and an epoch
//   counter advanced. A SessionView (one per loop; a Client holds one) reads
//   the epoch with one acquire load per call and takes the new snapshot,
//   under a mutex, only when the epoch moved: once per change per loop. The
//   key in a snapshot is never modified; a rotation publishes a new one and
//   requests holding the old key finish with it.
// - secret(view): the snapshot's key while it is usable, without leaving the
//   calling loop; otherwise (none yet, expired, or attest_every_request) the
//   owner's Session::secret(), which exchanges first.
// - establish(): attests and exchanges unless the session already holds a
//   secret; concurrent callers on any loop join one attempt. With `api_key`
//   it first adopts that key while the session was never verified and no
//   attempt is running (the caller then joins that attempt, or with
//   attest_every_request makes its own with the key being tried: one key at
//   a time). Once verified() (or established) the key is fixed: a later
//   caller's key, refused or not, never replaces the one that worked.
// - start_rotation() starts Session::keep_fresh on the owner, once, whoever
//   calls it (from a loop thread); close() stops it and waits for it (await
//   it on any loop before the owner loop stops).
// - Cancellation: work that hopped to the owner is not cancelled by the
//   caller's stop token (it would be stopped from another thread); it is
//   bounded by the HTTP client's timeouts, and the caller waits for it.
// - Lifetime: outlives every call; destroyed on the owner loop's thread
//   while that loop still exists (declare it after the LoopGroup).
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "cipherline/client/session.hpp"
#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::client {

// What a request needs of the session, as of one moment.
struct SessionSnapshot {
  std::shared_ptr<const protocol::InferenceSecret> secret;  // null: none usable
  std::chrono::steady_clock::time_point expires{};          // steady clock
  http::Headers base_headers;                               // Session::base_headers()
};

class SharedSession;

// SessionView: one loop's window on a SharedSession. Not thread-safe: one
// per loop (or per Client).
class SessionView {
 public:
  explicit SessionView(const SharedSession& session) noexcept : session_(&session) {}
  // current: the latest published snapshot; valid until the next call.
  const SessionSnapshot& current();

 private:
  const SharedSession* session_;
  std::uint64_t epoch_ = 0;
  std::shared_ptr<const SessionSnapshot> snapshot_;
};

class SharedSession {
 public:
  using SecretPtr = std::shared_ptr<const protocol::InferenceSecret>;

  // `http` for the owner's HTTP client; its TLS is tls_config(options)'s.
  // TLS settings that cannot be loaded make every call fail with
  // errc::bad_configuration saying why.
  explicit SharedSession(SessionOptions options, Loop* owner = nullptr,
                         http::ClientOptions http = {});
  ~SharedSession();
  SharedSession(const SharedSession&) = delete;
  SharedSession& operator=(const SharedSession&) = delete;

  Task<Result<void, Error>> establish(std::optional<std::string> api_key = std::nullopt);
  Task<Result<SecretPtr, Error>> secret(SessionView& view);
  Task<Result<void, Error>> force_refresh();
  void start_rotation();
  Task<void> close();

  // with_session runs `f(Session&)` (synchronous) on the owner loop and
  // returns its result on the caller's: for status pages and reports.
  template <class F>
  Task<std::invoke_result_t<F&, Session&>> with_session(F f);

  // The options the session was made with (immutable; any thread).
  const SessionOptions& options() const noexcept { return options_; }
  // tls_context: the TLS settings of tls_config(options()), loaded once, for
  // every loop's connections to the gateway (null if they failed to load).
  std::shared_ptr<http::TlsContext> tls_context() const { return tls_ ? *tls_ : nullptr; }
  // session: the Session itself, for the owner loop only.
  Session& session() noexcept { return *session_; }
  // The published snapshot and its epoch (any thread).
  std::shared_ptr<const SessionSnapshot> snapshot() const;
  std::uint64_t epoch() const noexcept { return epoch_.load(std::memory_order_acquire); }
  // verified: establish() succeeded once (any thread). It stays true when a
  // later attestation fails; secret() then refuses until one passes again.
  bool verified() const noexcept { return verified_.load(std::memory_order_acquire); }

 private:
  // on_owner runs `work` on the owner loop and resumes the caller on its
  // own loop with the result (or the exception).
  template <class T>
  Task<T> on_owner(Task<T> work);
  Loop& owner_for(Loop& caller);
  void publish();
  Task<Result<void, Error>> establish_here(std::optional<std::string> api_key);
  Task<Result<void, Error>> close_here();

  const SessionOptions options_;
  std::atomic<Loop*> owner_;
  const Result<std::shared_ptr<http::TlsContext>, Error> tls_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<Session> session_;
  mutable std::mutex mutex_;
  std::shared_ptr<const SessionSnapshot> snapshot_;  // under mutex_
  std::atomic<std::uint64_t> epoch_{1};
  std::atomic<bool> rotating_{false};
  std::atomic<bool> verified_{false};
  int attempts_ = 0;  // establish() attempts running (owner loop only)
  std::stop_source stop_;
  TaskScope background_;  // the rotation, on the owner loop
};

template <class T>
Task<T> SharedSession::on_owner(Task<T> work) {
  Loop& home = Loop::current();
  Loop& owner = owner_for(home);
  if (&owner == &home) co_return co_await std::move(work);
  co_await owner.resume_here();
  std::optional<T> result;
  std::exception_ptr failure;
  try {
    result.emplace(co_await with_stop_token(std::move(work), std::stop_token()));
  } catch (...) {
    failure = std::current_exception();
  }
  co_await home.resume_here();
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*result);
}

template <class F>
Task<std::invoke_result_t<F&, Session&>> SharedSession::with_session(F f) {
  using R = std::invoke_result_t<F&, Session&>;
  static_assert(!std::is_void_v<R>, "with_session returns a value");
  co_return co_await on_owner(
      [](Session& session, F fn) -> Task<R> { co_return fn(session); }(*session_, std::move(f)));
}

}  // namespace cipherline::client
