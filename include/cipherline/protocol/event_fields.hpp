// One Server-Sent Event of an encrypted stream (spec §5.7): the event's
// name travels in plaintext, `[DONE]` travels in plaintext, and every other
// data payload is a JSON object whose non-plain fields are sealed (server)
// or opened (client) with the exchange's one cipher, its sequence numbers
// running on across events.
//
//   std::string out;
//   auto r = seal_event(event.type, event.data, plain_response_fields(route),
//                       [&](std::string_view raw, std::string& o) { return cipher.seal(raw, o); },
//                       out);   // "event: message_start\ndata: {…}\n\n"
//
// Contract:
// - The event is appended to `out` in wire form: "event: <type>\n" unless
//   the type is "message", then "data: <payload>\n\n". Payloads are single
//   lines (JSON has no raw line breaks; [DONE] has none).
// - open_event appends the decrypted payload alone (no SSE framing); the
//   caller frames it as it needs.
// - Errors are json_fields' errors; nothing is appended for a failed event
//   beyond what was appended before the failure (callers discard `out`).
// - Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "cipherline/protocol/json_fields.hpp"

namespace cipherline::protocol {

Result<void, Error> seal_event(std::string_view type, std::string_view data,
                               const PlainFields& plain, const FieldTransform& transform,
                               std::string& out);

Result<void, Error> open_event_data(std::string_view data, const PlainFields& plain,
                                    const FieldTransform& transform, std::string& out);

}  // namespace cipherline::protocol
