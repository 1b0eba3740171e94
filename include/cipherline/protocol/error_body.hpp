// error_body: the JSON error object Privatemode's services and proxy answer
// with (spec §1.4): {"error":{"message":"…","type":"…"}}, the message
// escaped. Pure function.
#pragma once

#include <string>
#include <string_view>

namespace cipherline::protocol {

std::string error_body(std::string_view message, std::string_view type = {});

}  // namespace cipherline::protocol
