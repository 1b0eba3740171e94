#include "cipherline/runtime/tcp_stream.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tcp_state.hpp"

namespace cipherline {
namespace internal {

TcpState::TcpState(Loop& loop) {
  uv_tcp_init(loop.native(), &handle);
  handle.data = this;
  uv_timer_init(loop.native(), &read_timer);
  read_timer.data = this;
}

TcpRead* TcpState::take_reader() noexcept { return std::exchange(reader, nullptr); }

void TcpState::arm_read_timer(std::uint64_t timeout_ms) noexcept {
  const std::uint64_t now = uv_now(read_timer.loop);
  read_deadline = now + timeout_ms;
  if (uv_is_active(reinterpret_cast<uv_handle_t*>(&read_timer)) != 0 &&
      timer_expiry <= read_deadline) {
    return;  // fires in time and re-arms itself for the rest
  }
  uv_timer_start(&read_timer, &TcpState::on_read_timeout, timeout_ms, 0);
  timer_expiry = read_deadline;
}

void TcpState::on_read_timeout(uv_timer_t* timer) {
  auto* s = static_cast<TcpState*>(timer->data);
  if (s->reader == nullptr || s->reader->timeout_ms_ < 0) return;
  const std::uint64_t now = uv_now(timer->loop);
  if (s->read_deadline > now) {
    uv_timer_start(timer, &TcpState::on_read_timeout, s->read_deadline - now, 0);
    s->timer_expiry = s->read_deadline;
    return;
  }
  s->take_reader()->complete(errc::timed_out);
}

void TcpState::ensure_buffer() {
  if (buffer) return;
  capacity = TcpStream::kInitialReadBuffer;
  buffer = std::make_unique_for_overwrite<std::byte[]>(capacity);
}

int TcpState::start_reading() noexcept {
  ensure_buffer();
  const int status = uv_read_start(as_stream(this), &TcpState::on_alloc, &TcpState::on_read);
  reading = status == 0;
  return status;
}

std::span<const std::byte> TcpState::take() noexcept {
  std::span<const std::byte> bytes(buffer.get() + begin, end - begin);
  begin = end;
  return bytes;
}

void TcpState::reclaim() {
  const std::size_t unreturned = end - begin;
  if (filled && capacity < TcpStream::kMaxReadBuffer) {
    auto bigger = std::make_unique_for_overwrite<std::byte[]>(capacity * 2);
    std::memcpy(bigger.get(), buffer.get() + begin, unreturned);
    buffer = std::move(bigger);
    capacity *= 2;
  } else if (begin > 0 && unreturned > 0) {
    std::memmove(buffer.get(), buffer.get() + begin, unreturned);
  }
  filled = false;
  begin = 0;
  end = unreturned;
}

void TcpState::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
  auto* s = static_cast<TcpState*>(handle->data);
  try {
    s->ensure_buffer();  // released while idle
  } catch (const std::bad_alloc&) {
    *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS to on_read
    return;
  }
  buf->base = reinterpret_cast<char*>(s->buffer.get() + s->end);
  buf->len = s->capacity - s->end;
}

void TcpState::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t*) {
  auto* s = static_cast<TcpState*>(stream->data);
  if (nread == 0) return;  // EAGAIN
  if (nread > 0) {
    s->end += static_cast<std::size_t>(nread);
    if (s->end == s->capacity) {
      uv_read_stop(stream);  // full: backpressure until the reader catches up
      s->reading = false;
      s->filled = true;
    }
    if (auto* reader = s->take_reader()) reader->complete(s->take());
    return;
  }
  uv_read_stop(stream);
  s->reading = false;
  if (nread == UV_EOF) {
    s->eof = true;
  } else {
    s->read_error = static_cast<int>(nread);
  }
  if (auto* reader = s->take_reader()) {
    if (s->eof) {
      s->eof_reported = true;
      reader->complete(errc::end_of_stream);
    } else {
      reader->complete(uv_error(s->read_error));
    }
  }
}

void TcpState::close() noexcept {
  if (closing) return;
  closing = true;
  if (reading) uv_read_stop(as_stream(this));
  reading = false;
  if (auto* r = take_reader()) r->complete_later(errc::stream_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&read_timer), &TcpState::on_close);
  uv_close(reinterpret_cast<uv_handle_t*>(&handle), &TcpState::on_close);
}

void TcpState::on_close(uv_handle_t* handle) {
  auto* s = static_cast<TcpState*>(handle->data);
  if (--s->handles_open > 0) return;
  s->handle_closed = true;
  if (!s->owned) delete s;
}

void TcpState::release() noexcept {
  owned = false;
  if (handle_closed) {
    delete this;
  } else {
    close();
  }
}

}  // namespace internal

// TcpStream ------------------------------------------------------------------

TcpStream::TcpStream(TcpStream&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

TcpStream& TcpStream::operator=(TcpStream&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

TcpStream::~TcpStream() { close(); }

void TcpStream::close() noexcept {
  if (auto* s = std::exchange(state_, nullptr)) s->release();
}

TcpConnect TcpStream::connect(const SocketAddress& peer) { return TcpConnect(peer); }

TcpRead TcpStream::read() noexcept { return TcpRead(state_, -1); }

TcpRead TcpStream::read_for(std::chrono::milliseconds timeout) noexcept {
  return TcpRead(state_, std::max<std::int64_t>(timeout.count(), 0));
}

TcpWrite TcpStream::write(ConstBuffer bytes) { return TcpWrite(state_, bytes); }

TcpWrite TcpStream::write(std::span<const ConstBuffer> buffers) {
  return TcpWrite(state_, buffers);
}

TcpShutdown TcpStream::shutdown() noexcept { return TcpShutdown(state_); }

namespace {

SocketAddress address_of(const internal::TcpState* s, bool peer) {
  if (s == nullptr || s->closing) throw std::system_error(errc::stream_closed);
  sockaddr_storage storage{};
  int size = sizeof storage;
  auto* native = reinterpret_cast<sockaddr*>(&storage);
  const int status = peer ? uv_tcp_getpeername(&s->handle, native, &size)
                          : uv_tcp_getsockname(&s->handle, native, &size);
  if (status < 0) throw_uv_error(status, peer ? "getpeername" : "getsockname");
  auto address = SocketAddress::from_native(native);
  if (!address)
    throw std::system_error(std::make_error_code(std::errc::address_family_not_supported));
  return *address;
}

}  // namespace

SocketAddress TcpStream::local_address() const { return address_of(state_, false); }
SocketAddress TcpStream::peer_address() const { return address_of(state_, true); }

void TcpStream::release_buffer() noexcept {
  if (state_ == nullptr || state_->begin != state_->end || state_->filled) return;
  state_->buffer.reset();
  state_->capacity = 0;
  state_->begin = state_->end = 0;
}

bool TcpStream::at_rest() const noexcept {
  return state_ != nullptr && !state_->closing && !state_->eof && state_->read_error == 0 &&
         state_->begin == state_->end;
}

int TcpStream::native_fd() const {
  if (state_ == nullptr || state_->closing) throw std::system_error(errc::stream_closed);
  uv_os_fd_t fd;
  const int status = uv_fileno(reinterpret_cast<const uv_handle_t*>(&state_->handle), &fd);
  if (status < 0) throw_uv_error(status, "uv_fileno");
  return fd;
}

// Connect --------------------------------------------------------------------

TcpConnect::~TcpConnect() {
  if (pending()) detach();
}

bool TcpConnect::start() {
  state_ = new internal::TcpState(Loop::current());
  state_->connect_request.data = this;
  const int status = uv_tcp_connect(&state_->connect_request, &state_->handle, peer_.native(),
                                    &TcpConnect::on_connect);
  if (status < 0) {
    detach();
    set_result(uv_error(status));
    return false;
  }
  return true;
}

bool TcpConnect::cancel() noexcept {
  detach();
  return true;
}

void TcpConnect::detach() noexcept {
  if (state_ == nullptr) return;
  state_->connect_request.data = nullptr;
  std::exchange(state_, nullptr)->release();
}

void TcpConnect::on_connect(uv_connect_t* req, int status) {
  auto* op = static_cast<TcpConnect*>(req->data);
  if (op == nullptr) return;  // cancelled; the state is being closed
  if (status < 0) {
    op->detach();
    op->complete(uv_error(status));
    return;
  }
  uv_tcp_nodelay(&op->state_->handle, 1);
  op->state_->connect_request.data = nullptr;
  op->complete(TcpStream(std::exchange(op->state_, nullptr)));
}

// Read -----------------------------------------------------------------------

TcpRead::~TcpRead() {
  if (pending() && state_->reader == this) state_->take_reader();
}

bool TcpRead::start() {
  auto* s = state_;
  if (s == nullptr || s->closing) {
    set_result(errc::stream_closed);
    return false;
  }
  if (s->reader != nullptr) {
    set_result(errc::read_in_progress);
    return false;
  }
  if (s->buffer) s->reclaim();  // the previous view is released
  if (s->begin < s->end) {
    set_result(s->take());
  } else if (s->eof) {
    set_result(std::exchange(s->eof_reported, true) ? errc::read_after_end_of_stream
                                                    : errc::end_of_stream);
  } else if (s->read_error != 0) {
    set_result(uv_error(s->read_error));
  } else {
    if (timeout_ms_ == 0) {
      set_result(errc::timed_out);
      return false;
    }
    if (!s->reading) {
      if (const int status = s->start_reading(); status < 0) {
        set_result(uv_error(status));
        return false;
      }
    }
    if (timeout_ms_ > 0) s->arm_read_timer(static_cast<std::uint64_t>(timeout_ms_));
    s->reader = this;
    return true;
  }
  // Data was already buffered; make sure reading continues behind it.
  if (!s->reading && !s->eof && s->read_error == 0 && s->end < s->capacity) s->start_reading();
  return false;
}

bool TcpRead::cancel() noexcept {
  state_->take_reader();
  return true;
}

// Write and shutdown ---------------------------------------------------------

namespace internal {

template <class Derived, class UvRequest>
struct TcpRequest<Derived, UvRequest>::Request {
  UvRequest req;
  Derived* owner;
};

template <class Derived, class UvRequest>
TcpRequest<Derived, UvRequest>::~TcpRequest() {
  if (this->pending()) cancel();
}

template <class Derived, class UvRequest>
bool TcpRequest<Derived, UvRequest>::open() {
  if (state_ != nullptr && !state_->closing) return true;
  this->set_result(errc::stream_closed);
  return false;
}

template <class Derived, class UvRequest>
bool TcpRequest<Derived, UvRequest>::submit() {
  request_ = new Request{{}, static_cast<Derived*>(this)};
  request_->req.data = request_;
  const int status = static_cast<Derived*>(this)->issue(&request_->req);
  if (status < 0) {
    delete std::exchange(request_, nullptr);
    this->set_result(uv_error(status));
    return false;
  }
  return true;
}

template <class Derived, class UvRequest>
bool TcpRequest<Derived, UvRequest>::cancel() noexcept {
  if (request_ != nullptr) std::exchange(request_, nullptr)->owner = nullptr;
  state_->close();
  return true;
}

template <class Derived, class UvRequest>
void TcpRequest<Derived, UvRequest>::on_done(UvRequest* req, int status) {
  auto* r = static_cast<Request*>(req->data);
  Derived* owner = r->owner;
  delete r;
  if (owner == nullptr) return;  // orphaned by cancellation
  owner->request_ = nullptr;
  if (status == UV_ECANCELED) {
    owner->complete(errc::stream_closed);  // the stream was closed under it
  } else if (status < 0) {
    owner->complete(uv_error(status));
  } else {
    owner->complete();
  }
}

template class TcpRequest<TcpWrite, uv_write_t>;
template class TcpRequest<TcpShutdown, uv_shutdown_t>;

}  // namespace internal

namespace {

uv_buf_t to_uv_buf(ConstBuffer b) noexcept {
  return uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(b.data())),
                     static_cast<unsigned>(b.size()));
}

}  // namespace

TcpWrite::TcpWrite(internal::TcpState* state, ConstBuffer bytes) noexcept
    : TcpRequest(state), count_(1) {
  inline_[0] = to_uv_buf(bytes);
}

TcpWrite::TcpWrite(internal::TcpState* state, std::span<const ConstBuffer> buffers)
    : TcpRequest(state), count_(static_cast<unsigned>(buffers.size())) {
  if (buffers.size() > kInlineBuffers) spilled_.resize(buffers.size());
  uv_buf_t* out = spilled_.empty() ? inline_ : spilled_.data();
  for (std::size_t i = 0; i < buffers.size(); ++i) out[i] = to_uv_buf(buffers[i]);
}

bool TcpWrite::start() {
  if (!open()) return false;
  uv_buf_t* bufs = spilled_.empty() ? inline_ : spilled_.data();
  auto skip_empty = [&] {
    while (first_ < count_ && bufs[first_].len == 0) ++first_;
  };
  skip_empty();
  if (first_ == count_) {
    set_result();
    return false;
  }
  const int written = uv_try_write(internal::as_stream(state_), bufs + first_, count_ - first_);
  if (written < 0 && written != UV_EAGAIN) {
    set_result(uv_error(written));
    return false;
  }
  // Skip what the direct write took.
  for (std::size_t n = written < 0 ? 0 : static_cast<std::size_t>(written); n > 0;) {
    uv_buf_t& b = bufs[first_];
    if (n >= b.len) {
      n -= b.len;
      ++first_;
    } else {
      b.base += n;
      b.len -= static_cast<decltype(b.len)>(n);
      n = 0;
    }
  }
  skip_empty();
  if (first_ == count_) {
    set_result();
    return false;
  }
  return submit();
}

int TcpWrite::issue(uv_write_t* req) {
  uv_buf_t* bufs = spilled_.empty() ? inline_ : spilled_.data();
  return uv_write(req, internal::as_stream(state_), bufs + first_, count_ - first_, &on_done);
}

bool TcpShutdown::start() { return open() && submit(); }

int TcpShutdown::issue(uv_shutdown_t* req) {
  return uv_shutdown(req, internal::as_stream(state_), &on_done);
}

}  // namespace cipherline
