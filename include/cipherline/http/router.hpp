// Router: maps a request's method and path to a handler.
//
//   Router r;
//   r.add("GET", "/healthz", health);
//   r.add("POST", "/v1/chat/completions", chat, {.max_body = 8 << 20});
//   r.add_prefix("*", "/static/", files);
//
// Exact paths win over prefixes; the longest prefix wins among prefixes;
// "*" matches any method; HEAD falls back to a GET route. A path that
// exists for other methods yields 405 with the Allow list, else 404.
// Immutable once serving starts; shared by every connection of a server.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/request.hpp"
#include "cipherline/http/response_writer.hpp"

namespace cipherline::http {

using Handler = std::function<Task<void>(Request&, ResponseWriter&)>;

struct RouteOptions {
  std::uint64_t max_body = 16 * 1024 * 1024;  // larger request bodies get 413
};

class Router {
 public:
  Router& add(std::string method, std::string path, Handler handler, RouteOptions options = {});
  Router& add_prefix(std::string method, std::string prefix, Handler handler,
                     RouteOptions options = {});

  struct Match {
    const Handler* handler = nullptr;  // null: no route (see status)
    RouteOptions options;
    int status = 200;   // 404 or 405 without a handler
    std::string allow;  // for 405: the methods the path has
  };
  Match match(std::string_view method, std::string_view path) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    Handler handler;
    RouteOptions options;
  };
  std::vector<Route> routes_;
};

}  // namespace cipherline::http
