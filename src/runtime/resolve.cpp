#include "cipherline/runtime/resolve.hpp"

#include <netdb.h>

#include <utility>

namespace cipherline {

struct Resolve::Request {
  uv_getaddrinfo_t req;
  Resolve* owner;
};

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
