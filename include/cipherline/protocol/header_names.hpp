// The Privatemode wire vocabulary of HTTP headers and media types, in one
// place (spec privatemode-protocol.md §6.3, privatemode-oae.md §3). Code
// that sets or reads one of these names uses the constant, never a literal.
#pragma once

#include <string_view>

namespace cipherline::protocol {

// Request headers.
inline constexpr std::string_view kSecretIdHeader = "Privatemode-Secret-ID";
inline constexpr std::string_view kTargetModelHeader = "Privatemode-Target-Model";
inline constexpr std::string_view kShardKeyHeader = "Privatemode-Shard-Key";
inline constexpr std::string_view kVersionHeader = "Privatemode-Version";
inline constexpr std::string_view kClientHeader = "Privatemode-Client";
inline constexpr std::string_view kOcspPolicyHeader = "Privatemode-NVIDIA-OCSP-Policy";
inline constexpr std::string_view kOcspPolicyMacHeader = "Privatemode-NVIDIA-OCSP-Policy-MAC";
inline constexpr std::string_view kOaeRequestHeader = "Privatemode-OAE-Request-Header";

// Response headers.
inline constexpr std::string_view kEncryptedHeader = "Privatemode-Encrypted";  // "false": plaintext
inline constexpr std::string_view kOaeResponseHeader = "Privatemode-OAE-Response-Header";  // (C)

// Media types.
inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kEventStreamType = "text/event-stream";
inline constexpr std::string_view kEncryptedBodyType = "application/vnd.privatemode.encrypted-body";

// The value cipherline sends as Privatemode-Client (the spec's values are
// SDK, Proxy, App and ApiGateway).
inline constexpr std::string_view kClientProxy = "Proxy";
inline constexpr std::string_view kClientSdk = "SDK";

}  // namespace cipherline::protocol
