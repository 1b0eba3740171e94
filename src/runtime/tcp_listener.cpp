#include "cipherline/runtime/tcp_listener.hpp"

#include <sys/socket.h>

#include <utility>

#include "tcp_state.hpp"

namespace cipherline {
namespace internal {

struct ListenerState {
  uv_tcp_t handle{};
  TcpAccept* acceptor = nullptr;
  bool connection_waiting = false;  // libuv holds an accepted fd for us
  int listen_error = 0;

  Result<TcpStream> accept_one() {
    connection_waiting = false;
    auto* client = new TcpState(Loop::current());
    const int status = uv_accept(reinterpret_cast<uv_stream_t*>(&handle), as_stream(client));
    if (status < 0) {
      client->release();
      return uv_error(status);
    }
    uv_tcp_nodelay(&client->handle, 1);
    return TcpStream(client);
  }

  static void on_connection(uv_stream_t* server, int status) {
    auto* s = static_cast<ListenerState*>(server->data);
    if (status < 0) {
      s->listen_error = status;
    } else {
      s->connection_waiting = true;
    }
    if (auto* a = std::exchange(s->acceptor, nullptr)) {
      if (s->connection_waiting) {
        a->complete(s->accept_one());
      } else {
        a->complete(uv_error(std::exchange(s->listen_error, 0)));
      }
    }
  }

  void close() noexcept {
    if (auto* a = std::exchange(acceptor, nullptr)) a->complete_later(errc::stream_closed);
    handle.data = this;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle),
             [](uv_handle_t* h) { delete static_cast<ListenerState*>(h->data); });
  }
};

}  // namespace internal

TcpListener::TcpListener(TcpListener&& other) noexcept
    : state_(std::exchange(other.state_, nullptr)) {}

TcpListener& TcpListener::operator=(TcpListener&& other) noexcept {
  if (this != &other) {
    close();
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

TcpListener::~TcpListener() { close(); }

void TcpListener::close() noexcept {
  if (auto* s = std::exchange(state_, nullptr)) s->close();
}

TcpListener TcpListener::bind(const SocketAddress& address, Options options) {
  if (address.native_size() == 0) throw std::invalid_argument("TcpListener::bind: no address");
  Loop& loop = Loop::current();  // throws before anything needs cleaning up
  auto* s = new internal::ListenerState;
  TcpListener listener(s);  // closes the handle if anything below throws
  const std::string where = address.to_string();
  int status = uv_tcp_init_ex(loop.native(), &s->handle, static_cast<unsigned>(address.family()));
  if (status < 0) {
    listener.state_ = nullptr;
    delete s;
    throw_uv_error(status, "socket for " + where);
  }
  s->handle.data = s;
  if (options.reuse_port) {
    uv_os_fd_t fd;
    uv_fileno(reinterpret_cast<uv_handle_t*>(&s->handle), &fd);
    const int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT on " + where);
    }
  }
  status = uv_tcp_bind(&s->handle, address.native(), 0);
  if (status < 0) throw_uv_error(status, "bind " + where);
  // libuv may defer a bind error (EADDRINUSE) to listen.
  status = uv_listen(reinterpret_cast<uv_stream_t*>(&s->handle), options.backlog,
                     &internal::ListenerState::on_connection);
  if (status < 0) throw_uv_error(status, "listen on " + where);
  return listener;
}

TcpAccept TcpListener::accept() noexcept { return TcpAccept(state_); }

SocketAddress TcpListener::local_address() const {
  if (state_ == nullptr) throw std::system_error(errc::stream_closed);
  sockaddr_storage storage{};
  int size = sizeof storage;
  const int status =
      uv_tcp_getsockname(&state_->handle, reinterpret_cast<sockaddr*>(&storage), &size);
  if (status < 0) throw_uv_error(status, "getsockname");
  return *SocketAddress::from_native(reinterpret_cast<sockaddr*>(&storage));
}

TcpAccept::~TcpAccept() {
  if (pending() && state_->acceptor == this) state_->acceptor = nullptr;
}

bool TcpAccept::start() {
  if (state_ == nullptr) {
    set_result(errc::stream_closed);
    return false;
  }
  if (state_->acceptor != nullptr) throw std::logic_error("TcpListener: accept is already pending");
  if (state_->connection_waiting) {
    set_result(state_->accept_one());
    return false;
  }
  if (state_->listen_error != 0) {
    set_result(uv_error(std::exchange(state_->listen_error, 0)));
    return false;
  }
  state_->acceptor = this;
  return true;
}

bool TcpAccept::cancel() noexcept {
  state_->acceptor = nullptr;
  return true;
}

}  // namespace cipherline
