// Multipart: multipart/form-data bodies (RFC 7578 over RFC 2046), read into
// views and written with a boundary of the writer's choosing.
//
//   auto boundary = http::multipart_boundary(request_content_type);
//   std::vector<http::FormPart> parts;
//   if (auto r = http::parse_multipart(body, *boundary, parts); !r) reject(r.error());
//   for (const auto& p : parts) use(p.name, p.filename, p.content);
//
//   std::string out;
//   http::MultipartWriter form(out, http::random_boundary());
//   form.field("model", "whisper-1");
//   form.file("file", "a.wav", "audio/wav", bytes);
//   form.finish();
//   headers.set("Content-Type", form.content_type());
//
// Contract:
// - parse_multipart does not copy: every view in a FormPart points into the
//   body (or, for names, into its part headers) and is valid as long as the
//   body is. Parameter values are as written between their quotes;
//   backslash escapes are not decoded, and a name containing one is
//   refused (so names compare as written).
// - Rules: the boundary comes from the Content-Type parameter (1-70
//   characters of RFC 2046's bchars, quoted or not); lines end in CRLF; a
//   preamble before the first boundary and an epilogue after the closing
//   one are ignored; a boundary line may carry trailing spaces or tabs.
//   Each part needs `Content-Disposition: form-data` with a non-empty
//   `name`; `filename` (possibly empty) and the part's Content-Type are
//   optional; other part headers are accepted and ignored; folded header
//   lines are refused.
// - Limits: at most `max_parts` parts and `max_header_size` bytes of headers
//   per part.
// - Errors are cipherline::Error with http::errc::malformed_multipart and a
//   detail naming the part (its index from 0 and, once known, its name) and
//   what was wrong ("part 1 (\"file\"): no boundary after its content: the
//   body is truncated"). On error `parts` holds the parts before the bad one.
// - MultipartWriter appends to a string it borrows; a part whose content
//   contains the delimiter ("\r\n--" boundary) is refused (malformed_multipart,
//   naming the part) and removed again, so the written form always parses
//   back to what was written. Names and filenames are written quoted, with
//   '"', CR and LF percent-encoded as RFC 7578 §2 suggests.
// - Pure functions and plain objects; thread-compatible.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/result.hpp"

namespace cipherline::http {

struct MultipartLimits {
  std::size_t max_parts = 256;
  std::size_t max_header_size = 8 * 1024;  // per part
};

// One part of a form: views into the parsed body.
struct FormPart {
  std::string_view name;                     // Content-Disposition name
  std::optional<std::string_view> filename;  // Content-Disposition filename, if given
  std::string_view content_type;             // the part's Content-Type; empty if none
  std::string_view content;                  // the part's bytes
  // is_file: the part carries a non-empty filename. Parts with no filename,
  // or an empty one, are form values (as Go's mime/multipart reads them).
  bool is_file() const noexcept { return filename && !filename->empty(); }
};

// is_multipart_form: whether `content_type` is multipart/form-data (ASCII
// case-insensitive, parameters ignored).
bool is_multipart_form(std::string_view content_type) noexcept;

// multipart_boundary: the boundary of a multipart/form-data Content-Type,
// a view into `content_type`.
Result<std::string_view, Error> multipart_boundary(std::string_view content_type);

// parse_multipart: the parts of `body`, in order, replacing `parts`.
Result<void, Error> parse_multipart(std::string_view body, std::string_view boundary,
                                    std::vector<FormPart>& parts,
                                    const MultipartLimits& limits = {});

// random_boundary: "cipherline-" and 32 random hex digits.
std::string random_boundary();

class MultipartWriter {
 public:
  // `boundary` must be 1-70 bchars (std::invalid_argument otherwise).
  MultipartWriter(std::string& out, std::string boundary);

  // field: a form value.
  Result<void, Error> field(std::string_view name, std::string_view value);
  // file: a file part; an empty content_type writes none.
  Result<void, Error> file(std::string_view name, std::string_view filename,
                           std::string_view content_type, std::string_view content);

  // begin_part/end_part: the same in two steps, for content produced in
  // place: begin_part writes the part's headers and returns the output, to
  // which the caller appends the content; end_part checks it.
  std::string& begin_part(std::string_view name, std::optional<std::string_view> filename,
                          std::string_view content_type);
  Result<void, Error> end_part();

  // finish: the closing delimiter. Nothing may be written after it.
  void finish();

  const std::string& boundary() const noexcept { return boundary_; }
  // content_type: "multipart/form-data; boundary=<boundary>".
  std::string content_type() const;

 private:
  void quoted(std::string_view value);

  std::string& out_;
  std::string boundary_;
  std::string delimiter_;  // "\r\n--" boundary
  std::size_t part_start_ = 0;
  std::size_t content_start_ = 0;
  std::size_t parts_ = 0;
  bool in_part_ = false;
  bool finished_ = false;
};

}  // namespace cipherline::http
