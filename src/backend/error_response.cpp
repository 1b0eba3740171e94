#include "cipherline/backend/error_response.hpp"

#include "cipherline/http/json_writer.hpp"

namespace cipherline::backend {

Task<void> respond_error(const http::Request& request, http::ResponseWriter& writer, int status,
                         std::string_view message) {
  std::string json;
  http::JsonWriter(json)
      .begin_object()
      .key("error")
      .begin_object()
      .key("message")
      .string(message)
      .key("type")
      .string("")
      .end_object()
      .end_object();
  const auto accept = request.head.headers.get("Accept");
  const bool sse = accept && accept->find("text/event-stream") != std::string_view::npos;
  http::Headers headers{{"Content-Type", sse ? "text/event-stream" : "application/json"},
                        {"X-Content-Type-Options", "nosniff"},
                        {"Privatemode-Encrypted", "false"}};
  (void)co_await writer.respond(status, std::move(headers),
                                sse ? "event: error\n\ndata: " + json + "\n\n" : json);
}

}  // namespace cipherline::backend
