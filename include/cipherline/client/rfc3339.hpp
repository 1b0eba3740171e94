// RFC 3339 times, as the manifest log, captures and the command line use
// them.
//
// - format_rfc3339: UTC to the second, "2026-12-02T21:40:07Z".
// - parse_rfc3339: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)" ('t' or a
//   space may stand for 'T', 'z' for 'Z'; the fraction is ignored), or a
//   bare date meaning midnight UTC; nullopt for anything else, an invalid
//   date, an out-of-range field or a year outside 1900–2199 included.
// - Pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cipherline::client {

std::string format_rfc3339(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace cipherline::client
