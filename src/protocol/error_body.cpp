#include "cipherline/protocol/error_body.hpp"

#include "cipherline/json/writer.hpp"

namespace cipherline::protocol {

std::string error_body(std::string_view message, std::string_view type) {
  std::string json;
  json::JsonWriter(json)
      .begin_object()
      .key("error")
      .begin_object()
      .key("message")
      .string(message)
      .key("type")
      .string(type)
      .end_object()
      .end_object();
  return json;
}

std::string no_secret_message(std::string_view id) {
  return std::string(kNoSecretForId) + " \"" + std::string(id) + "\"";
}

bool names_unknown_secret(std::string_view body) noexcept {
  return body.find(kNoSecretForId) != std::string_view::npos;
}

}  // namespace cipherline::protocol
