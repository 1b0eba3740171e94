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

Result<std::shared_ptr<http::TlsContext>, Error> load_tls(const SessionOptions& options) {
  auto tls = tls_config(options).build();
  if (!tls) return Error(errc::bad_configuration, "TLS settings: " + tls.error().message());
  return *tls;
}

}  // namespace

SharedSession::SharedSession(SessionOptions options, Loop* owner, http::ClientOptions http)
    : options_(std::move(options)), owner_(owner), tls_(load_tls(options_)) {
  http.tls = tls_context();
  http_ = std::make_unique<http::HttpClient>(std::move(http));
  session_ = std::make_unique<Session>(options_, *http_);
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
  if (!tls_) co_return tls_.error();
  if (!options_.attest_every_request) {
    const SessionSnapshot& now = view.current();
    if (now.secret && steady_clock::now() < now.expires) co_return now.secret;
  }
  co_return co_await on_owner(session_->secret());
}

Task<Result<void, Error>> SharedSession::force_refresh() {
  if (!tls_) co_return tls_.error();
  co_return co_await on_owner(session_->force_refresh());
}

Task<Result<void, Error>> SharedSession::establish(std::optional<std::string> api_key) {
  if (!tls_) co_return tls_.error();
  co_return co_await on_owner(establish_here(std::move(api_key)));
}

Task<Result<void, Error>> SharedSession::establish_here(std::optional<std::string> api_key) {
  // An established session's key worked: nothing to adopt or attest.
  if (!options_.attest_every_request && session_->established()) {
    verified_.store(true, std::memory_order_release);
    co_return Result<void, Error>{};
  }
  // A key is adopted only until the session is first verified: after that
  // it is the key that worked, and no caller's key replaces it (a refused
  // key of one caller would otherwise lock every loop out). One key at a
  // time: while any attempt runs (attest_every_request runs them side by
  // side, each reading the key as it sends), no other key is set under it.
  const bool verified = verified_.load(std::memory_order_acquire);
  if (api_key && !verified && attempts_ == 0 && !session_->refreshing()) {
    session_->set_api_key(std::move(*api_key));
  }
  ++attempts_;
  Result<void, Error> r = options_.attest_every_request
                              ? co_await session_->establish()  // each request attests afresh
                              : co_await session_->force_refresh();
  --attempts_;
  if (r) verified_.store(true, std::memory_order_release);
  co_return r;
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
