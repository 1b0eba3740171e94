// error_body: the JSON error objects cipherline answers with, in the shape
// the official SDKs parse (and Privatemode's forwarder writes, spec §1.4):
//
//   OpenAI routes:       {"error":{"message":"…","type":"invalid_request_error","code":null}}
//   Anthropic messages:  {"type":"error","error":{"type":"invalid_request_error","message":"…"}}
//
// The error's kind is a value (ErrorType), chosen from the HTTP status
// unless the caller knows better, and named in each dialect's vocabulary;
// `code` is a short machine code (kCode… below) or null. Messages are
// escaped; they must not contain prompt text or tokens. Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cipherline::protocol {

enum class ErrorType : std::uint8_t {
  invalid_request,  // 400, 413, 422 and other 4xx
  authentication,   // 401
  permission,       // 403, 421
  not_found,        // 404
  rate_limit,       // 429
  server,           // 500
  api,              // 502, 504 and other 5xx
  overloaded,       // 503, 529
};

// ErrorDialect: whose API the route speaks.
enum class ErrorDialect : std::uint8_t { openai, anthropic };

ErrorType error_type_for_status(int status) noexcept;
// error_dialect_for_path: anthropic for /v1/messages (and under it), else openai.
ErrorDialect error_dialect_for_path(std::string_view path) noexcept;
// type_name: "invalid_request_error", …; OpenAI names server "server_error"
// and api "api_error", Anthropic both "api_error" and overloaded
// "overloaded_error" (OpenAI: "server_error").
std::string_view type_name(ErrorDialect dialect, ErrorType type) noexcept;

// Machine codes (OpenAI's "code" field).
inline constexpr std::string_view kCodeModelNotFound = "model_not_found";
inline constexpr std::string_view kCodeInvalidApiKey = "invalid_api_key";
inline constexpr std::string_view kCodeMissingApiKey = "missing_api_key";
inline constexpr std::string_view kCodeUnknownSecret = "unknown_secret";
inline constexpr std::string_view kCodeNotVerified = "backend_not_verified";
inline constexpr std::string_view kCodeInvalidJson = "invalid_json";
inline constexpr std::string_view kCodeBodyTooLarge = "body_too_large";
inline constexpr std::string_view kCodeLocalCallersOnly = "caller_refused";
// The gateway could not hand the request to any worker: it was not forwarded.
inline constexpr std::string_view kCodeNotForwarded = "not_forwarded";
// The request may have reached a worker, but its answer was cut off.
inline constexpr std::string_view kCodeResponseCutOff = "response_cut_off";
inline constexpr std::string_view kCodeBadGateway = "bad_gateway";

// error_body: the error JSON of `dialect`; an empty code is null.
std::string error_body(ErrorDialect dialect, ErrorType type, std::string_view message,
                       std::string_view code = {});

// ParsedError: what parse_error_body read from a body of either shape (or
// Privatemode's {"error":{"message":…,"type":""}}).
struct ParsedError {
  std::string message;
  std::string type;  // as written; may be empty
  std::string code;  // empty when null or absent
};
// parse_error_body: nullopt unless `body` is a JSON object with an "error"
// object holding a string "message" (or that object as the data of an
// `event: error` event, as respond_error writes for event-stream callers).
std::optional<ParsedError> parse_error_body(std::string_view body);

// The words of the worker's 500 for an unknown secret (spec §3.3), which
// clients match to exchange a new key and retry once.
inline constexpr std::string_view kNoSecretForId = "no secret for ID";
// no_secret_message: that error's message for secret `id`.
std::string no_secret_message(std::string_view id);
// names_unknown_secret: whether an error body is that error.
bool names_unknown_secret(std::string_view body) noexcept;

}  // namespace cipherline::protocol
