#include "cipherline/http/multipart.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/http/error.hpp"

namespace cipherline::http {
namespace {

constexpr std::string_view kCrlf = "\r\n";

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// RFC 2046 bchars (space allowed, but not last).
bool is_bchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// RFC 7230 tchar, for header and parameter names and unquoted values.
bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::optional<std::string> boundary_problem(std::string_view b) {
  if (b.empty()) return "the boundary is empty";
  if (b.size() > 70)
    return "the boundary has " + std::to_string(b.size()) + " characters (at most 70)";
  for (const char c : b) {
    if (!is_bchar(c)) return "the boundary contains a character RFC 2046 does not allow";
  }
  if (b.back() == ' ') return "the boundary ends with a space";
  return std::nullopt;
}

// A delimiter ends at `at` when "--" (the close) or optional padding and
// CRLF follow; the end of the body counts too, so that a cut form is
// reported as such. Anything else is content that happens to contain it.
bool ends_delimiter(std::string_view body, std::size_t at) noexcept {
  if (body.substr(at, 2) == "--") return true;
  while (at < body.size() && is_space(body[at])) ++at;
  return at >= body.size() || body.substr(at, 2) == kCrlf;
}

// find_delimiter: the next real delimiter at or after `from`.
std::size_t find_delimiter(std::string_view body, std::string_view delimiter, std::size_t from) {
  while (true) {
    const std::size_t at = body.find(delimiter, from);
    if (at == std::string_view::npos || ends_delimiter(body, at + delimiter.size())) return at;
    from = at + 1;
  }
}

Error malformed(std::string detail) { return Error(errc::malformed_multipart, std::move(detail)); }

// A parameterised header value: `type; a=b; c="d"`.
class ParamScanner {
 public:
  explicit ParamScanner(std::string_view text) noexcept : text_(text) {}

  std::string_view token() {
    const std::size_t begin = pos_;
    while (pos_ < text_.size() && is_tchar(text_[pos_])) ++pos_;
    return text_.substr(begin, pos_ - begin);
  }
  void skip_space() {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  }
  bool done() const noexcept { return pos_ >= text_.size(); }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  // next: the next `; name=value`; false at the end. `escaped` says whether
  // a quoted value held a backslash escape (left as written).
  Result<bool, std::string> next(std::string_view& name, std::string_view& value, bool& escaped) {
    skip_space();
    if (done()) return false;
    if (!consume(';')) return std::string("expected ';' between parameters");
    skip_space();
    if (done()) return false;  // a trailing ';' is harmless
    name = token();
    if (name.empty()) return std::string("a parameter without a name");
    skip_space();
    if (!consume('=')) return "parameter " + std::string(name) + " has no '='";
    skip_space();
    escaped = false;
    if (consume('"')) {
      const std::size_t begin = pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\') {
          escaped = true;
          ++pos_;
        }
        ++pos_;
      }
      if (pos_ >= text_.size()) return "parameter " + std::string(name) + " has no closing quote";
      value = text_.substr(begin, pos_ - begin);
      ++pos_;
    } else {
      value = token();
      if (value.empty()) return "parameter " + std::string(name) + " has an empty value";
    }
    return true;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string part_label(std::size_t index, std::string_view name) {
  std::string s = "part " + std::to_string(index);
  if (!name.empty()) s += " (\"" + std::string(name) + "\")";
  return s;
}

// The Content-Disposition of part `index`.
Result<void, Error> read_disposition(std::string_view value, std::size_t index, FormPart& part) {
  ParamScanner scan(value);
  scan.skip_space();
  const std::string_view type = scan.token();
  if (!iequals(type, "form-data")) {
    return malformed(part_label(index, {}) + ": Content-Disposition is \"" +
                     std::string(trim(value)) + "\", not form-data");
  }
  bool has_name = false;
  while (true) {
    std::string_view name;
    std::string_view param;
    bool escaped = false;
    auto more = scan.next(name, param, escaped);
    if (!more) {
      return malformed(part_label(index, part.name) + ": Content-Disposition: " + more.error());
    }
    if (!*more) break;
    if (iequals(name, "name")) {
      if (has_name) return malformed(part_label(index, part.name) + ": two name parameters");
      if (escaped) {
        return malformed(part_label(index, {}) +
                         ": the name has a backslash escape, which is not supported");
      }
      part.name = param;
      has_name = true;
    } else if (iequals(name, "filename")) {
      if (part.filename)
        return malformed(part_label(index, part.name) + ": two filename parameters");
      part.filename = param;
    }
  }
  if (!has_name || part.name.empty()) {
    return malformed(part_label(index, {}) + ": Content-Disposition has no name");
  }
  return {};
}

// The headers of part `index`, `block` without the blank line.
Result<void, Error> read_part_headers(std::string_view block, std::size_t index, FormPart& part) {
  bool has_disposition = false;
  bool has_type = false;
  if ((!block.empty() && is_space(block.front())) || block.find("\r\n ") != block.npos ||
      block.find("\r\n\t") != block.npos) {
    return malformed(part_label(index, {}) + ": a folded header line");
  }
  while (!block.empty()) {
    const std::size_t end = block.find(kCrlf);
    const std::string_view line = block.substr(0, end);
    block = end == std::string_view::npos ? std::string_view() : block.substr(end + 2);
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    if (colon == std::string_view::npos || name.empty() ||
        std::find_if_not(name.begin(), name.end(), is_tchar) != name.end()) {
      return malformed(part_label(index, part.name) +
                       ": a header line that is not \"Name: value\"");
    }
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "Content-Disposition")) {
      if (has_disposition)
        return malformed(part_label(index, part.name) + ": two Content-Disposition headers");
      has_disposition = true;
      if (auto r = read_disposition(value, index, part); !r) return r;
    } else if (iequals(name, "Content-Type")) {
      if (has_type) return malformed(part_label(index, part.name) + ": two Content-Type headers");
      has_type = true;
      part.content_type = value;
    }
  }
  if (!has_disposition) {
    return malformed(part_label(index, part.name) + ": no Content-Disposition header");
  }
  return {};
}

}  // namespace

bool is_multipart_form(std::string_view content_type) noexcept {
  const std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  return iequals(type, "multipart/form-data");
}

Result<std::string_view, Error> multipart_boundary(std::string_view content_type) {
  if (!is_multipart_form(content_type)) {
    return malformed("Content-Type \"" + std::string(content_type) +
                     "\" is not multipart/form-data");
  }
  ParamScanner scan(content_type.substr(content_type.find(';') == std::string_view::npos
                                            ? content_type.size()
                                            : content_type.find(';')));
  std::optional<std::string_view> boundary;
  while (true) {
    std::string_view name;
    std::string_view value;
    bool escaped = false;
    auto more = scan.next(name, value, escaped);
    if (!more) return malformed("Content-Type: " + more.error());
    if (!*more) break;
    if (!iequals(name, "boundary")) continue;
    if (boundary) return malformed("Content-Type has two boundary parameters");
    if (escaped) return malformed("Content-Type: the boundary has a backslash escape");
    boundary = value;
  }
  if (!boundary) return malformed("Content-Type multipart/form-data has no boundary parameter");
  if (auto problem = boundary_problem(*boundary)) return malformed("Content-Type: " + *problem);
  return *boundary;
}

Result<void, Error> parse_multipart(std::string_view body, std::string_view boundary,
                                    std::vector<FormPart>& parts, const MultipartLimits& limits) {
  parts.clear();
  if (auto problem = boundary_problem(boundary)) return malformed(*problem);
  std::string delimiter = "\r\n--";
  delimiter += boundary;
  const std::string_view dash_boundary = std::string_view(delimiter).substr(2);

  // The first boundary line: at the start, or after a preamble.
  std::size_t pos;
  if (body.starts_with(dash_boundary) && ends_delimiter(body, dash_boundary.size())) {
    pos = dash_boundary.size();
  } else if (const auto at = find_delimiter(body, delimiter, 0); at != std::string_view::npos) {
    pos = at + delimiter.size();
  } else {
    return malformed("the body has no boundary line \"" + std::string(dash_boundary) + "\"");
  }

  for (std::size_t index = 0;; ++index) {
    // After a boundary: "--" closes the form, else padding and CRLF.
    if (body.substr(pos, 2) == "--") return {};
    while (pos < body.size() && is_space(body[pos])) ++pos;
    if (pos >= body.size()) {
      return malformed("the body ends after a boundary line, without the closing \"" +
                       std::string(dash_boundary) + "--\"");
    }
    if (body.substr(pos, 2) != kCrlf) {
      return malformed(part_label(index, {}) + ": unexpected bytes after its boundary line");
    }
    pos += 2;
    if (parts.size() == limits.max_parts) {
      return malformed("the form has more than " + std::to_string(limits.max_parts) + " parts");
    }

    FormPart part;
    // Headers end at a blank line; a part may have none at all (and is
    // then refused for want of Content-Disposition).
    std::string_view headers;
    std::size_t content_start;
    if (body.substr(pos, 2) == kCrlf) {
      content_start = pos + 2;
    } else {
      // The headers and their blank line, within the limit.
      const std::size_t rest = body.size() - pos;
      const std::size_t window_size =
          limits.max_header_size < rest ? limits.max_header_size + 4 : rest;
      const std::string_view window = body.substr(pos, window_size);
      const std::size_t end = window.find("\r\n\r\n");
      if (end == std::string_view::npos || end > limits.max_header_size) {
        if (rest <= limits.max_header_size) {
          return malformed(part_label(index, {}) + ": the body ends inside its headers");
        }
        return malformed(part_label(index, {}) + ": its headers are larger than " +
                         std::to_string(limits.max_header_size) + " bytes");
      }
      headers = window.substr(0, end);
      content_start = pos + end + 4;
    }
    if (auto r = read_part_headers(headers, index, part); !r) return r;

    const std::size_t content_end = find_delimiter(body, delimiter, content_start);
    if (content_end == std::string_view::npos) {
      return malformed(part_label(index, part.name) +
                       ": no boundary after its content: the body is truncated");
    }
    part.content = body.substr(content_start, content_end - content_start);
    parts.push_back(part);
    pos = content_end + delimiter.size();
  }
}

std::string random_boundary() {
  std::array<std::byte, 16> random;
  crypto::random_bytes(random);
  std::string out = "cipherline-";
  const std::size_t at = out.size();
  out.resize(at + 2 * random.size());
  crypto::hex_encode(random, out.data() + at);
  return out;
}

MultipartWriter::MultipartWriter(std::string& out, std::string boundary)
    : out_(out), boundary_(std::move(boundary)) {
  if (auto problem = boundary_problem(boundary_)) throw std::invalid_argument(*problem);
  delimiter_ = "\r\n--" + boundary_;
}

void MultipartWriter::quoted(std::string_view value) {
  out_ += '"';
  for (const char c : value) {
    switch (c) {
      case '"':
        out_ += "%22";
        break;
      case '\r':
        out_ += "%0D";
        break;
      case '\n':
        out_ += "%0A";
        break;
      default:
        out_ += c;
    }
  }
  out_ += '"';
}

std::string& MultipartWriter::begin_part(std::string_view name,
                                         std::optional<std::string_view> filename,
                                         std::string_view content_type) {
  if (in_part_ || finished_) throw std::logic_error("MultipartWriter: begin_part out of order");
  in_part_ = true;
  part_start_ = out_.size();
  // The first boundary line has no CRLF before it; later ones close the
  // previous part's content with theirs.
  out_.append(delimiter_, parts_ == 0 ? 2 : 0);
  out_ += "\r\nContent-Disposition: form-data; name=";
  quoted(name);
  if (filename) {
    out_ += "; filename=";
    quoted(*filename);
  }
  out_ += kCrlf;
  if (!content_type.empty()) {
    out_ += "Content-Type: ";
    for (const char c : content_type) {
      if (c != '\r' && c != '\n') out_ += c;
    }
    out_ += kCrlf;
  }
  out_ += kCrlf;
  content_start_ = out_.size();
  return out_;
}

Result<void, Error> MultipartWriter::end_part() {
  if (!in_part_) throw std::logic_error("MultipartWriter: end_part without begin_part");
  in_part_ = false;
  const std::string_view content = std::string_view(out_).substr(content_start_);
  if (content.find(delimiter_) != std::string_view::npos) {
    out_.resize(part_start_);
    return malformed("part " + std::to_string(parts_) +
                     ": its content contains the form's boundary");
  }
  ++parts_;
  return {};
}

Result<void, Error> MultipartWriter::field(std::string_view name, std::string_view value) {
  begin_part(name, std::nullopt, {}).append(value);
  return end_part();
}

Result<void, Error> MultipartWriter::file(std::string_view name, std::string_view filename,
                                          std::string_view content_type, std::string_view content) {
  begin_part(name, filename, content_type).append(content);
  return end_part();
}

void MultipartWriter::finish() {
  if (in_part_ || finished_) throw std::logic_error("MultipartWriter: finish out of order");
  finished_ = true;
  out_.append(delimiter_, parts_ == 0 ? 2 : 0);
  out_ += "--\r\n";
}

std::string MultipartWriter::content_type() const {
  // Quoted when the boundary has characters a token may not.
  if (std::all_of(boundary_.begin(), boundary_.end(), is_tchar)) {
    return "multipart/form-data; boundary=" + boundary_;
  }
  return "multipart/form-data; boundary=\"" + boundary_ + "\"";
}

}  // namespace cipherline::http
