// How OAE streams travel over HTTP (privatemode-oae.md §3): the header
// encoding of the salts, the framing of sealed messages in a body, and the
// shared secret. What is public is followed; what is not is cipherline's
// choice (C), and every (C) choice lives in this header and its source file
// so that one change adapts cipherline once the real carriage is known:
//
// - (C) a body, both ways, is a sequence of frames uint32_be(length) ‖
//   sealed message; a frame longer than the configured maximum (default
//   16 MiB) is malformed, never an allocation;
// - (C) a request is one final message holding the whole JSON body;
// - (C) a response names its salt in Privatemode-OAE-Response-Header with
//   the encrypted-body media type; a whole JSON answer is one final message;
//   a stream is one message per SSE event (its wire bytes) and a final
//   message that is `data: [DONE]\n\n`, an `error` event, or empty;
// - (C) the OAE shared secret is the inference secret as it is.
//
// Contract: pure functions and a reader without I/O; FrameReader copies only
// frames split across reads (no allocation in steady state) and is used by
// one task at a time. Errors: crypto::errc::malformed_message or
// invalid_base64 with a detail naming what was wrong.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/crypto/oae.hpp"
#include "cipherline/protocol/inference_secret.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

inline constexpr std::size_t kDefaultMaxOaeFrame = 16 * 1024 * 1024;
inline constexpr std::size_t kOaeFramePrefix = 4;

// The two wire formats of an encrypted exchange.
enum class WireFormat { fields, oae };
std::string_view to_string(WireFormat format) noexcept;
std::optional<WireFormat> parse_wire_format(std::string_view name) noexcept;

// oae_secret: the OAE shared secret of an exchange under `secret`.
std::span<const std::byte> oae_secret(const InferenceSecret& secret) noexcept;

// A salt as an RFC 8941 byte sequence, ":<base64>:" (46 characters).
std::string oae_header_value(const crypto::OaeHeader& salt);
// parse_oae_header_value: the 32-byte salt of such a header value.
Result<crypto::OaeHeader, Error> parse_oae_header_value(std::string_view value);

// seal_frame appends one frame holding `plaintext` sealed by `sealer`.
Result<void, Error> seal_frame(crypto::OaeSealer& sealer, std::span<const std::byte> plaintext,
                               bool final, std::string& out);
inline Result<void, Error> seal_frame(crypto::OaeSealer& sealer, std::string_view plaintext,
                                      bool final, std::string& out) {
  return seal_frame(sealer, std::as_bytes(std::span(plaintext)), final, out);
}

// FrameReader splits a body into its sealed messages, however it arrives.
// Whole frames are views into the bytes fed; only a frame cut by the end of
// a read is copied, into one reusable buffer.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_frame = kDefaultMaxOaeFrame) : max_frame_(max_frame) {}

  // feed hands over the next bytes of the body; they must stay valid until
  // next() returns nullopt or an error. Call it only when next() has.
  void feed(std::span<const std::byte> bytes);
  // next: the next whole sealed message (a view valid until the next call
  // to next() or feed()), nullopt when more bytes are needed, or
  // malformed_message for a frame above the maximum or shorter than a
  // sealed message, found from its length before its bytes arrive. Sticky.
  Result<std::optional<std::span<const std::byte>>, Error> next();
  // Whether bytes of an unfinished frame are waiting.
  bool partial() const noexcept { return !input_.empty() || (!pending_.empty() && !pending_done_); }

 private:
  Result<std::size_t, Error> length_of(const std::byte* prefix);
  void take(std::size_t n);  // moves up to n bytes of input_ to pending_

  std::size_t max_frame_;
  std::span<const std::byte> input_;
  std::string pending_;        // a frame begun in an earlier read
  bool pending_done_ = false;  // pending_ is whole and was returned
  std::optional<Error> failure_;
};

}  // namespace cipherline::protocol
