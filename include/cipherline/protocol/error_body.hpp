// error_body: the JSON error object Privatemode's services and proxy answer
// with (spec §1.4): {"error":{"message":"…","type":"…"}}, the message
// escaped. Pure function.
#pragma once

#include <string>
#include <string_view>

namespace cipherline::protocol {

std::string error_body(std::string_view message, std::string_view type = {});

// The words of the worker's 500 for an unknown secret (spec §3.3), which
// clients match to exchange a new key and retry once.
inline constexpr std::string_view kNoSecretForId = "no secret for ID";
// no_secret_message: that error's message for secret `id`.
std::string no_secret_message(std::string_view id);
// names_unknown_secret: whether an error body is that error.
bool names_unknown_secret(std::string_view body) noexcept;

}  // namespace cipherline::protocol
