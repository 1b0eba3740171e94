#include "cipherline/http/router.hpp"

namespace cipherline::http {

Router& Router::add(std::string method, std::string path, Handler handler, RouteOptions options) {
  routes_.push_back({std::move(method), std::move(path), false, std::move(handler), options});
  return *this;
}

Router& Router::add_prefix(std::string method, std::string prefix, Handler handler,
                           RouteOptions options) {
  routes_.push_back({std::move(method), std::move(prefix), true, std::move(handler), options});
  return *this;
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
  auto method_matches = [&](const Route& r) {
    return r.method == "*" || r.method == method || (method == "HEAD" && r.method == "GET");
  };
  const Route* best = nullptr;
  std::string allow;
  for (const Route& r : routes_) {
    const bool path_matches = r.prefix ? path.starts_with(r.path) : path == r.path;
    if (!path_matches) continue;
    if (!method_matches(r)) {
      if (allow.find(r.method) == std::string::npos)
        allow += (allow.empty() ? "" : ", ") + r.method;
      continue;
    }
    const bool better = best == nullptr || (best->prefix && !r.prefix) ||
                        (best->prefix && r.prefix && r.path.size() > best->path.size());
    if (better) best = &r;
  }
  if (best != nullptr) return {&best->handler, best->options, 200, {}};
  if (!allow.empty()) return {nullptr, {}, 405, allow};
  return {nullptr, {}, 404, {}};
}

}  // namespace cipherline::http
