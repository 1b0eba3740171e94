#include "cipherline/client/shared_session.hpp"

#include "cipherline/client/error.hpp"

namespace cipherline::client {

using std::chrono::steady_clock;

const SessionSnapshot& SessionView::current() {
  if (const std::uint64_t epoch = session_->epoch(); epoch != epoch_ || !snapshot_) {
    snapshot_ = session_->snapshot();
    epoch_ = epoch;
  }
  return *snapshot_;
}

namespace {

std::unique_ptr<http::HttpClient> owner_client(const SessionOptions& options,
                                               http::ClientOptions http,
                                               std::optional<Error>& tls_error) {
  auto tls = tls_config(options).build();
  if (tls) {
    http.tls = *tls;
  } else {
    tls_error = Error(errc::bad_configuration, "TLS settings: " + tls.error().message());
  }
  return std::make_unique<http::HttpClient>(std::move(http));
}

}  // namespace

SharedSession::SharedSession(SessionOptions options, Loop* owner, http::ClientOptions http)
    : options_(std::move(options)),
      owner_(owner),
      http_(owner_client(options_, std::move(http), tls_error_)),
      session_(std::make_unique<Session>(options_, *http_)) {
  session_->on_change([this] { publish(); });
  publish();
}

SharedSession::~SharedSession() = default;

Loop& SharedSession::owner_for(Loop& caller) {
  Loop* expected = nullptr;
  if (owner_.compare_exchange_strong(expected, &caller, std::memory_order_acq_rel)) return caller;
  return *expected;
}

void SharedSession::publish() {
  auto next = std::make_shared<SessionSnapshot>();
  const Session& s = *session_;
  if (s.established()) {
    next->secret = s.current_secret();
    next->expires = s.secret_expires_at();
  }
  next->base_headers = s.base_headers();
  {
    std::lock_guard lock(mutex_);
    snapshot_ = std::move(next);
  }
  epoch_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const SessionSnapshot> SharedSession::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

Task<Result<SharedSession::SecretPtr, Error>> SharedSession::secret(SessionView& view) {
  if (tls_error_) co_return *tls_error_;
  if (!options_.attest_every_request) {
    const SessionSnapshot& now = view.current();
    if (now.secret && steady_clock::now() < now.expires) co_return now.secret;
  }
  co_return co_await on_owner(session_->secret());
}

Task<Result<void, Error>> SharedSession::force_refresh() {
  if (tls_error_) co_return *tls_error_;
  co_return co_await on_owner(session_->force_refresh());
}

Task<Result<void, Error>> SharedSession::establish(std::optional<std::string> api_key) {
  if (tls_error_) co_return *tls_error_;
  co_return co_await on_owner(establish_here(std::move(api_key)));
}

Task<Result<void, Error>> SharedSession::establish_here(std::optional<std::string> api_key) {
  // Each request attests afresh; connecting is one more attestation.
  if (options_.attest_every_request) co_return co_await session_->establish();
  if (session_->established()) co_return Result<void, Error>{};
  // One key at a time: an attempt in progress is joined, not given
  // another key under it.
  if (api_key && !session_->refreshing()) session_->set_api_key(std::move(*api_key));
  co_return co_await session_->force_refresh();
}

void SharedSession::start_rotation() {
  if (rotating_.exchange(true)) return;
  auto start = [this] {
    if (stop_.stop_requested()) return;  // closed before this ran
    background_.spawn(with_stop_token(session_->keep_fresh(), stop_.get_token()));
  };
  Loop& here = Loop::current();
  Loop& owner = owner_for(here);
  if (&owner == &here) {
    start();
  } else {
    owner.post(start);
  }
}

Task<void> SharedSession::close() {
  if (owner_.load(std::memory_order_acquire) == nullptr) co_return;  // never used
  (void)co_await on_owner(close_here());
}

Task<Result<void, Error>> SharedSession::close_here() {
  stop_.request_stop();
  co_await background_.join();
  co_return Result<void, Error>{};
}

}  // namespace cipherline::client
