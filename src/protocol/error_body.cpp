#include "cipherline/protocol/error_body.hpp"

#include <simdjson.h>

#include "cipherline/json/writer.hpp"

namespace cipherline::protocol {

ErrorType error_type_for_status(int status) noexcept {
  switch (status) {
    case 401:
      return ErrorType::authentication;
    case 403:
    case 421:
      return ErrorType::permission;
    case 404:
      return ErrorType::not_found;
    case 429:
      return ErrorType::rate_limit;
    case 500:
      return ErrorType::server;
    case 503:
    case 529:
      return ErrorType::overloaded;
    default:
      return status >= 500 ? ErrorType::api : ErrorType::invalid_request;
  }
}

ErrorDialect error_dialect_for_path(std::string_view path) noexcept {
  constexpr std::string_view kMessages = "/v1/messages";
  const bool anthropic = path.starts_with(kMessages) &&
                         (path.size() == kMessages.size() || path[kMessages.size()] == '/' ||
                          path[kMessages.size()] == '?');
  return anthropic ? ErrorDialect::anthropic : ErrorDialect::openai;
}

std::string_view type_name(ErrorDialect dialect, ErrorType type) noexcept {
  const bool anthropic = dialect == ErrorDialect::anthropic;
  switch (type) {
    case ErrorType::invalid_request:
      return "invalid_request_error";
    case ErrorType::authentication:
      return "authentication_error";
    case ErrorType::permission:
      return "permission_error";
    case ErrorType::not_found:
      return "not_found_error";
    case ErrorType::rate_limit:
      return "rate_limit_error";
    case ErrorType::server:
      return anthropic ? "api_error" : "server_error";
    case ErrorType::api:
      return "api_error";
    case ErrorType::overloaded:
      return anthropic ? "overloaded_error" : "server_error";
  }
  return "api_error";
}

std::string error_body(ErrorDialect dialect, ErrorType type, std::string_view message,
                       std::string_view code) {
  std::string json;
  json::JsonWriter w(json);
  w.begin_object();
  if (dialect == ErrorDialect::anthropic) {
    w.key("type").string("error").key("error").begin_object();
    w.key("type").string(type_name(dialect, type)).key("message").string(message);
  } else {
    w.key("error").begin_object();
    w.key("message").string(message).key("type").string(type_name(dialect, type)).key("code");
    if (code.empty()) {
      w.null();
    } else {
      w.string(code);
    }
  }
  w.end_object().end_object();
  return json;
}

std::optional<ParsedError> parse_error_body(std::string_view body) {
  // respond_error's event-stream form: "event: error\n\ndata: {…}\n\n".
  constexpr std::string_view kEvent = "event: error\n\ndata: ";
  if (body.starts_with(kEvent)) body.remove_prefix(kEvent.size());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::object error;
  if (root["error"].get(error) != simdjson::SUCCESS) return std::nullopt;
  ParsedError parsed;
  std::string_view text;
  if (error["message"].get(text) != simdjson::SUCCESS) return std::nullopt;
  parsed.message = text;
  if (error["type"].get(text) == simdjson::SUCCESS) parsed.type = text;
  if (error["code"].get(text) == simdjson::SUCCESS) parsed.code = text;
  return parsed;
}

std::string no_secret_message(std::string_view id) {
  return std::string(kNoSecretForId) + " \"" + std::string(id) + "\"";
}

bool names_unknown_secret(std::string_view body) noexcept {
  return body.find(kNoSecretForId) != std::string_view::npos;
}

}  // namespace cipherline::protocol
