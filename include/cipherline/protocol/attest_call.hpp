// The JSON bodies of POST /privatemode/v1/attest (spec §1.3), both ends:
// the client's {"Nonce": base64(32 bytes)} and the gateway's
// {"AttestationDoc": base64(the Coordinator's attestation document)}.
//
// Contract: pure functions. Parsing errors are crypto::errc::invalid_json
// (not JSON, or the field missing or not a string), invalid_base64, or
// invalid_length (a nonce other than 32 bytes), with a detail naming the
// field.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

inline constexpr std::size_t kAttestNonceSize = 32;

std::string attest_request_json(std::span<const std::byte> nonce);
Result<std::vector<std::byte>, Error> parse_attest_request(std::string_view json);

std::string attest_response_json(std::span<const std::byte> document);
// parse_attest_response: the attestation document's bytes.
Result<std::vector<std::byte>, Error> parse_attest_response(std::string_view json);

}  // namespace cipherline::protocol
