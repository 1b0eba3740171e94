#include "cipherline/backend/error_response.hpp"

#include "cipherline/protocol/error_body.hpp"
#include "cipherline/protocol/header_names.hpp"

namespace cipherline::backend {

Task<void> respond_error(const http::Request& request, http::ResponseWriter& writer, int status,
                         std::string_view message, std::string_view code) {
  const std::string json =
      protocol::error_body(protocol::error_dialect_for_path(request.head.path()),
                           protocol::error_type_for_status(status), message, code);
  const auto accept = request.head.headers.get("Accept");
  const bool sse = accept && accept->find("text/event-stream") != std::string_view::npos;
  http::Headers headers{{"Content-Type", sse ? "text/event-stream" : "application/json"},
                        {"X-Content-Type-Options", "nosniff"},
                        {std::string(protocol::kEncryptedHeader), "false"}};
  (void)co_await writer.respond(status, std::move(headers),
                                sse ? "event: error\n\ndata: " + json + "\n\n" : json);
}

http::ServerOptions backend_server_options() {
  http::ServerOptions options;
  options.error_headers.add(std::string(protocol::kEncryptedHeader), "false");
  return options;
}

}  // namespace cipherline::backend
