#include "cipherline/runtime/resolve.hpp"

#include <netdb.h>

#include <utility>

namespace cipherline {

struct Resolve::Request {
  uv_getaddrinfo_t req;
  Resolve* owner;
};

namespace {

bool is_localhost(std::string_view host) noexcept {
  auto lower_equals = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const char c = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
      if (c != b[i]) return false;
    }
    return true;
  };
  if (host.ends_with('.')) host.remove_suffix(1);
  return lower_equals(host, "localhost") ||
         (host.size() > 10 && lower_equals(host.substr(host.size() - 10), ".localhost"));
}

}  // namespace

Resolve::~Resolve() {
  if (pending()) detach();
}

bool Resolve::start() {
  std::string bracketless = host_;
  if (bracketless.size() > 2 && bracketless.front() == '[' && bracketless.back() == ']') {
    bracketless = bracketless.substr(1, bracketless.size() - 2);
  }
  if (auto numeric = SocketAddress::from_ip(bracketless, port_)) {
    set_result(std::vector<SocketAddress>{*numeric});
    return false;
  }
  // RFC 6761: "localhost" and its subdomains are loopback, answered without
  // asking the system resolver (which may not know them: no /etc/hosts).
  if (is_localhost(bracketless)) {
    set_result(std::vector<SocketAddress>{*SocketAddress::from_ip("127.0.0.1", port_),
                                          *SocketAddress::from_ip("::1", port_)});
    return false;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  request_ = new Request{{}, this};
  request_->req.data = request_;
  const std::string service = std::to_string(port_);
  const int status = uv_getaddrinfo(
      Loop::current().native(), &request_->req,
      [](uv_getaddrinfo_t* req, int st, addrinfo* res) {
        auto* r = static_cast<Request*>(req->data);
        Resolve* owner = r->owner;
        delete r;
        if (owner == nullptr) {
          uv_freeaddrinfo(res);
          return;
        }
        owner->request_ = nullptr;
        if (st < 0) {
          uv_freeaddrinfo(res);
          owner->complete(uv_error(st));
          return;
        }
        std::vector<SocketAddress> out;
        for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
          if (auto a = SocketAddress::from_native(ai->ai_addr)) out.push_back(*a);
        }
        uv_freeaddrinfo(res);
        owner->complete(std::move(out));
      },
      bracketless.c_str(), service.c_str(), &hints);
  if (status < 0) {
    delete std::exchange(request_, nullptr);
    set_result(uv_error(status));
    return false;
  }
  return true;
}

bool Resolve::cancel() noexcept {
  detach();
  return true;
}

void Resolve::detach() noexcept {
  if (request_ == nullptr) return;
  Request* r = std::exchange(request_, nullptr);
  r->owner = nullptr;
  uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));  // best effort; the callback frees it
}

}  // namespace cipherline
