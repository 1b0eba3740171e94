#include "cipherline/protocol/oae_carriage.hpp"

#include <algorithm>
#include <cstring>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"

namespace cipherline::protocol {

using crypto::errc;

std::string_view to_string(WireFormat format) noexcept {
  return format == WireFormat::oae ? "oae" : "fields";
}

std::optional<WireFormat> parse_wire_format(std::string_view name) noexcept {
  if (name == "oae") return WireFormat::oae;
  if (name == "fields") return WireFormat::fields;
  return std::nullopt;
}

std::span<const std::byte> oae_secret(const InferenceSecret& secret) noexcept {
  return secret.key().bytes();
}

std::string oae_header_value(const crypto::OaeHeader& salt) {
  return ":" + crypto::to_base64(salt) + ":";
}

Result<crypto::OaeHeader, Error> parse_oae_header_value(std::string_view value) {
  if (value.size() < 2 || value.front() != ':' || value.back() != ':') {
    return Error(errc::malformed_message,
                 "an OAE header value must be an RFC 8941 byte sequence, \":<base64>:\"");
  }
  auto bytes = crypto::from_base64(value.substr(1, value.size() - 2));
  if (!bytes) return Error(errc::invalid_base64, "OAE header value: " + bytes.error().message());
  if (bytes->size() != crypto::kOaeHeaderSize) {
    return Error(errc::malformed_message,
                 "an OAE header holds " + std::to_string(bytes->size()) + " bytes, expected 32");
  }
  crypto::OaeHeader salt;
  std::memcpy(salt.data(), bytes->data(), salt.size());
  return salt;
}

Result<void, Error> seal_frame(crypto::OaeSealer& sealer, std::span<const std::byte> plaintext,
                               bool final, std::string& out) {
  const std::size_t start = out.size();
  out.resize(start + kOaeFramePrefix);
  if (auto r = sealer.seal(plaintext, final, out); !r) {
    out.resize(start);
    return r;
  }
  const auto length = static_cast<std::uint32_t>(out.size() - start - kOaeFramePrefix);
  out[start] = static_cast<char>(length >> 24);
  out[start + 1] = static_cast<char>(length >> 16);
  out[start + 2] = static_cast<char>(length >> 8);
  out[start + 3] = static_cast<char>(length);
  return {};
}

void FrameReader::feed(std::span<const std::byte> bytes) {
  if (failure_) return;
  input_ = bytes;
}

Result<std::size_t, Error> FrameReader::length_of(const std::byte* prefix) {
  const auto* p = reinterpret_cast<const unsigned char*>(prefix);
  const std::size_t length = (std::size_t{p[0]} << 24) | (std::size_t{p[1]} << 16) |
                             (std::size_t{p[2]} << 8) | std::size_t{p[3]};
  if (length <= max_frame_ && length >= crypto::kOaeOverhead) return length;
  failure_ =
      Error(errc::malformed_message,
            "an OAE frame of " + std::to_string(length) + " bytes (" +
                (length < crypto::kOaeOverhead ? std::string("a sealed message has at least 29")
                                               : "the maximum is " + std::to_string(max_frame_)) +
                ")");
  return *failure_;
}

void FrameReader::take(std::size_t n) {
  const std::size_t k = std::min(n, input_.size());
  pending_.append(reinterpret_cast<const char*>(input_.data()), k);
  input_ = input_.subspan(k);
}

Result<std::optional<std::span<const std::byte>>, Error> FrameReader::next() {
  using Message = std::optional<std::span<const std::byte>>;
  if (failure_) return *failure_;
  if (pending_done_) {
    pending_.clear();
    pending_done_ = false;
  }
  // A frame begun in an earlier read: complete it from this one.
  if (!pending_.empty()) {
    if (pending_.size() < kOaeFramePrefix) take(kOaeFramePrefix - pending_.size());
    if (pending_.size() < kOaeFramePrefix) return Message();
    auto length = length_of(reinterpret_cast<const std::byte*>(pending_.data()));
    if (!length) return length.error();
    take(kOaeFramePrefix + *length - pending_.size());
    if (pending_.size() < kOaeFramePrefix + *length) return Message();
    pending_done_ = true;
    return Message(std::as_bytes(std::span(pending_)).subspan(kOaeFramePrefix));
  }
  // Whole frames of this read are views into it; only a frame cut by the
  // read's end is copied.
  if (input_.size() >= kOaeFramePrefix) {
    auto length = length_of(input_.data());
    if (!length) return length.error();
    if (input_.size() >= kOaeFramePrefix + *length) {
      const auto message = input_.subspan(kOaeFramePrefix, *length);
      input_ = input_.subspan(kOaeFramePrefix + *length);
      return Message(message);
    }
  }
  take(input_.size());
  return Message();
}

}  // namespace cipherline::protocol
