// respond_error: the backend's plaintext error response, as Privatemode's
// services write it (spec §1.4), in the shape the official SDKs parse (see
// protocol/error_body.hpp): the Anthropic shape on /v1/messages, the OpenAI
// shape elsewhere, the error type from the status, `code` a machine code
// (protocol::kCode…) or empty for null:
//
//   {"error":{"message":"…","type":"invalid_request_error","code":null}}
//   Content-Type: application/json, X-Content-Type-Options: nosniff,
//   Privatemode-Encrypted: false
//
// or, when the request accepts only an event stream, the same JSON as an
// `event: error` Server-Sent Event. `Privatemode-Encrypted: false` tells
// clients not to try to decrypt it. The message must not contain prompt
// text or tokens.
//
// backend_server_options: the HTTP server options of every backend role,
// whose own answers (404, 405, 413, 400 for a malformed request, …) are
// marked `Privatemode-Encrypted: false` too, so a client names them (say,
// "request body … exceeds the limit") instead of failing to decrypt them.
#pragma once

#include <string_view>

#include "cipherline/http/request.hpp"
#include "cipherline/http/response_writer.hpp"
#include "cipherline/http/server.hpp"

namespace cipherline::backend {

Task<void> respond_error(const http::Request& request, http::ResponseWriter& writer, int status,
                         std::string_view message, std::string_view code = {});

http::ServerOptions backend_server_options();

}  // namespace cipherline::backend
