// Request: an incoming request as a handler sees it — the parsed head, the
// body as a stream, and the peer's address. Valid until the handler returns.
#pragma once

#include "cipherline/http/body_reader.hpp"
#include "cipherline/http/message.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline::http {

struct Request {
  RequestHead head;
  BodyReader body;
  SocketAddress peer;
};

}  // namespace cipherline::http
