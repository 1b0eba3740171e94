// Unstructured (spec §5.6): document partitioning under /unstructured/. The
// request is the whole raw body sealed as one message (seq 0), its
// Content-Type left as it was; the answer is JSON whose top-level values
// are each one message.
//
//   std::string sealed;
//   rc.seal(body, sealed);                                   // the new body
//   …
//   open_json_values(answer, [&](auto v, auto& out) { return rc.open(v, out); }, plain);
//
// Contract:
// - seal_json_values / open_json_values: a top-level JSON array has its
//   elements transformed, under the keys "0", "1", … taken in string order
//   (0, 1, 10, 11, …, 2, …), as the protocol's walk does (spec §4.3); a
//   top-level object has every field transformed, as seal_json_fields with
//   no plaintext fields. Each element keeps its place; the text between
//   values is copied as is.
// - The input is validated in full first (simdjson): invalid JSON, or a
//   scalar at the top level, is crypto::errc::invalid_json before anything
//   is transformed. Opening requires every element to be a JSON string
//   (crypto::errc::malformed_field naming the element otherwise).
// - A transform error stops the walk and is returned naming the element
//   ("element 10: …") with the transform's code; `out` is then left as it
//   was.
// - Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "cipherline/protocol/json_fields.hpp"

namespace cipherline::protocol {

inline constexpr std::string_view kUnstructuredPrefix = "/unstructured/";

Result<void, Error> seal_json_values(std::string_view json, const FieldTransform& transform,
                                     std::string& out);
Result<void, Error> open_json_values(std::string_view json, const FieldTransform& transform,
                                     std::string& out);

}  // namespace cipherline::protocol
