// Which JSON fields of a request or response are encrypted, and the walk
// that encrypts or decrypts them in the protocol's order (spec §4.3, §4.4,
// §5, §5.7).
//
//   RequestCipher rc(secret);
//   std::string sealed;
//   auto r = seal_json_fields(body, plain_request_fields(Route::chat_completions),
//                             [&](std::string_view raw, std::string& out) {
//                               return rc.seal(raw, out);
//                             }, sealed);
//
// Contract:
// - The input must be one JSON object (surrounding whitespace allowed); it
//   is validated in full first (simdjson), so invalid JSON is rejected
//   before any field is touched (crypto::errc::invalid_json, the detail
//   saying what and, for structural errors, at which byte). Numbers must
//   fit 64-bit integers or finite doubles, as simdjson requires.
// - Every top-level field whose key is not in `plain` is handed to the
//   transform as its raw JSON text (strings with their quotes, objects and
//   arrays with their inner whitespace), in byte-wise ascending order of the
//   keys with `.`, `?` and `*` backslash-escaped first (the protocol's
//   sort). Keys are compared, and matched against `plain`, as decoded
//   strings (`"mod\u0065l"` is `model`), as the protocol's reference does.
//   The transform appends the replacement value; fields keep their place in
//   the object, and everything between values is copied as is.
// - seal_json_fields hands out raw values; open_json_fields requires each
//   non-plain value to be a JSON string (an encrypted field) and hands out
//   the string literal with its quotes, as open_field expects. A non-plain
//   value that is not a string is crypto::errc::malformed_field naming the
//   key, found before any field is transformed.
// - A transform error stops the walk and is returned with the key named
//   ("field \"messages\": …", the key as written in the JSON) and the
//   transform's error code; `out` is then left as it was.
// - Duplicate keys are each transformed (the protocol has no rule against
//   them; each consumes its own sequence number, in sort order, stable).
// - Route tables are the protocol's (spec §5): chat and completions keep
//   model, stream_options, max_tokens, max_completion_tokens, n and stream
//   in plaintext; embeddings keeps model; Anthropic messages keeps model
//   and stream. Responses keep id and usage (Anthropic also type).
//   Transcriptions keep the form values model, stream, stream_include_usage
//   and stream_continuous_usage_stats, and the response fields duration
//   and usage.
// - Pure functions; thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

// audio_transcriptions carries a multipart/form-data request (its form
// values and files are sealed by form_cipher.hpp) and a JSON or SSE answer.
// unstructured is the subtree /unstructured/ (spec §5.6; see
// unstructured_cipher.hpp); its path_of is the SDK's
// /unstructured/general/v0/general.
enum class Route {
  chat_completions,
  completions,
  embeddings,
  messages,
  audio_transcriptions,
  unstructured,
};

// route_for_path maps "/v1/chat/completions" and the other inference paths
// to their Route (no query string), and every path under /unstructured/ to
// Route::unstructured; anything else is nullopt.
std::optional<Route> route_for_path(std::string_view path);
std::string_view path_of(Route route) noexcept;

// is_plain_path_tail: whether `tail` (what follows "/v1/models/" or
// "/unstructured/" in a request target) is plain path segments only:
// non-empty segments of letters, digits and "._:+-", none "." or "..", no
// query, no percent-encoding. A worker passes on only such targets, so the
// gateway cannot steer a request to another endpoint of the model server.
bool is_plain_path_tail(std::string_view tail) noexcept;

// A set of top-level keys left in plaintext.
class PlainFields {
 public:
  constexpr PlainFields() = default;
  constexpr explicit PlainFields(std::span<const std::string_view> names) : names_(names) {}
  bool contains(std::string_view key) const noexcept;
  std::span<const std::string_view> names() const noexcept { return names_; }

 private:
  std::span<const std::string_view> names_{};
};

PlainFields plain_request_fields(Route route) noexcept;
PlainFields plain_response_fields(Route route) noexcept;

// The transform: given one field's value (see above), append its
// replacement to `out`. `out` is the walk's own buffer and may already hold
// earlier fields' replacements: append only.
using FieldTransform = std::function<Result<void, Error>(std::string_view value, std::string& out)>;

// seal_json_fields appends `json` with every non-plain top-level value
// replaced by transform(raw value).
Result<void, Error> seal_json_fields(std::string_view json, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out);
// open_json_fields appends `json` with every non-plain top-level value (an
// encrypted field string) replaced by transform(quoted field).
Result<void, Error> open_json_fields(std::string_view json, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out);

// is_done_event: an SSE data payload "[DONE]" (ASCII case-insensitive,
// surrounding whitespace ignored), which travels in plaintext.
bool is_done_event(std::string_view data) noexcept;

}  // namespace cipherline::protocol
