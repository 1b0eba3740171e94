// The TDX evidence inside a Contrast attestation document: go-tdx-guest's
// `tdx.QuoteV4` protobuf, rebuilt into the raw DCAP quote the signatures
// cover (spec: contrast-attestation §5.6), and encoded back.
//
//   auto quote = contrast::decode_tdx_quote_v4(raw_attestation_doc);   // tdx::Quote
//
// Contract:
// - Header, TD quote body, attestation key, signature, QE report (all 12
//   EnclaveReport fields), QE report signature, QE auth data and the PCK
//   chain are laid out as a version 4 quote with little-endian integers and
//   then parsed by tdx::parse_quote, so every rule of the parser applies.
//   Byte fields must have their exact sizes; exactly four RTMRs.
// - Errors name the message, the field and the offset.
// - Pure functions.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "cipherline/attest/tdx/quote.hpp"

namespace cipherline::attest::contrast {

Result<tdx::Quote, Error> decode_tdx_quote_v4(std::span<const std::byte> protobuf);
// encode_tdx_quote_v4 is the inverse for a version 4 quote.
std::vector<std::byte> encode_tdx_quote_v4(const tdx::Quote& quote);

}  // namespace cipherline::attest::contrast
