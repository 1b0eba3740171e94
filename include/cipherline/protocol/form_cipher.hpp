// Form cipher: the field-format encryption of a multipart/form-data request
// (spec §4.3, §5.4) — the client's sealing and the server's opening, one
// traversal for both.
//
//   auto form = OrderedForm::parse(content_type, body);          // views into body
//   RequestCipher rc(secret);
//   std::string sealed;
//   auto type = seal_form(*form, plain_request_fields(Route::audio_transcriptions),
//                         [&](std::string_view v, std::string& out) { return rc.seal(v, out); },
//                         sealed);
//   headers.set("Content-Type", *type);                          // the new boundary
//
// Contract:
// - The traversal: the form's non-file values in byte-wise ascending key
//   order, only the first value of each key; then its files (parts with a
//   non-empty filename) in ascending key order, only the first of each key.
//   Everything else in the form is dropped. The output is a new form under
//   a fresh random boundary: the values, then the files.
// - seal_form: values of plain keys are copied; every other value is
//   replaced by transform(its bytes) — the quoted ciphertext string, one
//   message each, in traversal order; each file's content by transform(its
//   raw bytes). File parts are written with filename = the form key and
//   Content-Type application/octet-stream: the original filename and type
//   are not sent.
// - open_form: the same traversal, transform(the part's content) for every
//   non-plain value and every file (each must be a quoted field, else the
//   transform's parse error). Then the server's rule (spec §5.4): when
//   `stream` is true (Go's ParseBool: 1, t, T, TRUE, true, True),
//   stream_include_usage and stream_continuous_usage_stats are set to
//   "true", inserted in key order when missing.
// - Errors: a body that is not a form is http::errc::malformed_multipart
//   with the parser's detail (which part, what was wrong); a transform
//   error stops the walk and is returned with the part named ("form value
//   \"prompt\": …", "form file \"file\": …") and the transform's code; `out`
//   is then left as it was.
// - OrderedForm holds views into the body it parsed: the body must outlive
//   it and not move. Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/multipart.hpp"
#include "cipherline/protocol/json_fields.hpp"

namespace cipherline::protocol {

class OrderedForm {
 public:
  static Result<OrderedForm, Error> parse(std::string_view content_type, std::string_view body,
                                          const http::MultipartLimits& limits = {});

  // The traversal's parts: values, then files, each in ascending key order.
  std::span<const http::FormPart> values() const noexcept { return values_; }
  std::span<const http::FormPart> files() const noexcept { return files_; }
  // value: the (first) value of `key`, if the form has one.
  std::optional<std::string_view> value(std::string_view key) const noexcept;
  const http::FormPart* file(std::string_view key) const noexcept;

  // first_sealed: the content of the first part the traversal would open
  // (a non-plain value, else the first file), to find the secret it names.
  std::optional<std::string_view> first_sealed(const PlainFields& plain) const noexcept;

 private:
  std::vector<http::FormPart> values_;
  std::vector<http::FormPart> files_;
};

// sealed_form_limit: a bound on the sealed form of a plaintext form of at
// most `plain` bytes — its contents become hex (twice the size) plus, per
// part, the field's framing and the new part headers (well under 1 MiB for
// the parser's 256 parts). Servers take transcriptions up to this size, so
// that a form the client's limit admits is not refused after sealing.
constexpr std::uint64_t sealed_form_limit(std::uint64_t plain) noexcept {
  return 2 * plain + (std::uint64_t{1} << 20);
}

// parse_bool: Go's strconv.ParseBool, which Privatemode applies to form
// flags; nullopt for anything else.
std::optional<bool> parse_bool(std::string_view text) noexcept;

// seal_form appends the sealed form to `out`; the value is its Content-Type.
Result<std::string, Error> seal_form(const OrderedForm& form, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out);
// open_form appends the opened form to `out`; the value is its Content-Type.
Result<std::string, Error> open_form(const OrderedForm& form, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out);

}  // namespace cipherline::protocol
