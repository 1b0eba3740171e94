#include "cipherline/json/writer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace cipherline::json {
namespace {

constexpr std::size_t kInlineDepth = 64;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Bytes a string cannot copy as they are: control characters, '"', '\' and
// the start of anything that is not ASCII.
constexpr std::array<bool, 256> kSpecial = [] {
  std::array<bool, 256> table{};
  for (std::size_t c = 0; c < 256; ++c) table[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return table;
}();

void append_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default: {
      constexpr char kHex[] = "0123456789abcdef";
      const char escape[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(escape, sizeof escape);
    }
  }
}

// utf8_sequence returns the length of the well-formed UTF-8 sequence at
// s[i] (Unicode table 3-7), or, as a negative number, the length of the
// maximal ill-formed subsequence there, which is replaced as one unit.
int utf8_sequence(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  int continuation = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    continuation = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    continuation = 2;
    if (lead == 0xE0) lo = 0xA0;  // no overlong forms
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    continuation = 3;
    if (lead == 0xF0) lo = 0x90;  // no overlong forms
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;
  }
  int length = 1;
  for (; length <= continuation && i + static_cast<std::size_t>(length) < s.size(); ++length) {
    const auto c = static_cast<unsigned char>(s[i + static_cast<std::size_t>(length)]);
    if (c < lo || c > hi) return -length;
    lo = 0x80;
    hi = 0xBF;
  }
  return length == continuation + 1 ? length : -length;
}

// has_special_byte tells whether any of the 8 bytes in `w` is special,
// testing all of them at once: a byte is below 0x20 if subtracting 0x20
// borrows into its top bit, and equal to c if w ^ c has a zero byte there.
constexpr bool has_special_byte(std::uint64_t w) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
  const auto below = [](std::uint64_t x, std::uint64_t n) { return (x - kOnes * n) & ~x & kHigh; };
  return ((w | below(w, 0x20) | below(w ^ (kOnes * '"'), 1) | below(w ^ (kOnes * '\\'), 1)) &
          kHigh) != 0;
}

// plain_run returns how many bytes from s[i] on can be copied as they are.
std::size_t plain_run(std::string_view s, std::size_t i) noexcept {
  std::size_t run = i;
  for (; run + 8 <= s.size(); run += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + run, 8);
    if (has_special_byte(w)) break;
  }
  while (run < s.size() && !kSpecial[static_cast<unsigned char>(s[run])]) ++run;
  return run - i;
}

void append_string(std::string& out, std::string_view s) {
  out.reserve(out.size() + s.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t run = i + plain_run(s, i);
    out.append(s.data() + i, run - i);
    i = run;
    if (i == s.size()) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      append_escape(out, c);
      ++i;
      continue;
    }
    const int length = utf8_sequence(s, i);
    if (length > 0) {
      out.append(s.data() + i, static_cast<std::size_t>(length));
      i += static_cast<std::size_t>(length);
    } else {
      out.append(kReplacement);
      i += static_cast<std::size_t>(-length);
    }
  }
  out.push_back('"');
}

[[noreturn]] void misuse(const std::string& what) { throw std::logic_error("JsonWriter: " + what); }

}  // namespace

JsonWriter::JsonWriter(JsonWriter&& other) noexcept
    : own_(std::move(other.own_)),
      out_(other.out_ == &other.own_ ? &own_ : other.out_),
      kinds_(other.kinds_),
      deep_(std::move(other.deep_)),
      depth_(other.depth_),
      has_members_(other.has_members_),
      after_key_(other.after_key_),
      done_(other.done_) {
  other.own_.clear();
  other.out_ = &other.own_;
  other.reset();
}

JsonWriter& JsonWriter::operator=(JsonWriter&& other) noexcept {
  if (this != &other) {
    own_ = std::move(other.own_);
    out_ = other.out_ == &other.own_ ? &own_ : other.out_;
    kinds_ = other.kinds_;
    deep_ = std::move(other.deep_);
    depth_ = other.depth_;
    has_members_ = other.has_members_;
    after_key_ = other.after_key_;
    done_ = other.done_;
    other.own_.clear();
    other.out_ = &other.own_;
    other.reset();
  }
  return *this;
}

void JsonWriter::before_value(const char* what) {
  if (depth_ == 0) {
    if (done_) {
      misuse(std::string(what) +
             " after the top-level value: a JSON text holds one value (reset() starts another)");
    }
    return;
  }
  if (in_object()) {
    if (!after_key_)
      misuse(std::string(what) + " where an object key is expected (call key() first)");
    after_key_ = false;
  } else if (has_members_) {
    out_->push_back(',');
  }
  has_members_ = true;
}

void JsonWriter::after_value() noexcept {
  if (depth_ == 0) done_ = true;
}

bool JsonWriter::in_object() const noexcept {
  const std::size_t level = depth_ - 1;
  return level < kInlineDepth ? ((kinds_ >> level) & 1U) != 0 : deep_[level - kInlineDepth];
}

void JsonWriter::push(bool object) {
  if (depth_ < kInlineDepth) {
    const std::uint64_t bit = std::uint64_t{1} << depth_;
    kinds_ = object ? kinds_ | bit : kinds_ & ~bit;
  } else {
    deep_.push_back(object);
  }
  ++depth_;
  has_members_ = false;
  after_key_ = false;
}

void JsonWriter::close(bool object, const char* what) {
  const char* const kind = object ? "object" : "array";
  if (depth_ == 0) misuse(std::string(what) + " with no open " + kind);
  if (in_object() != object) {
    misuse(std::string(what) + " while an " + (object ? "array" : "object") + " is open (call " +
           (object ? "end_array()" : "end_object()") + ")");
  }
  if (after_key_) misuse(std::string(what) + " right after key(): the key has no value");
  out_->push_back(object ? '}' : ']');
  --depth_;
  if (depth_ >= kInlineDepth) deep_.pop_back();
  // The closed container was an element of its parent.
  has_members_ = true;
  after_key_ = false;
  after_value();
}

JsonWriter& JsonWriter::begin_object() {
  before_value("begin_object()");
  push(true);
  out_->push_back('{');
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  close(true, "end_object()");
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value("begin_array()");
  push(false);
  out_->push_back('[');
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  close(false, "end_array()");
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (depth_ == 0 || !in_object()) misuse("key() outside an object");
  if (after_key_) misuse("key() right after key(): the previous key has no value");
  if (has_members_) out_->push_back(',');
  append_string(*out_, name);
  out_->push_back(':');
  has_members_ = true;
  after_key_ = true;
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view value) {
  before_value("string()");
  append_string(*out_, value);
  after_value();
  return *this;
}

JsonWriter& JsonWriter::signed_number(std::int64_t value) {
  before_value("number()");
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out_->append(buffer, end);
  after_value();
  return *this;
}

JsonWriter& JsonWriter::unsigned_number(std::uint64_t value) {
  before_value("number()");
  char buffer[24];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  out_->append(buffer, end);
  after_value();
  return *this;
}

JsonWriter& JsonWriter::number(double value) {
  before_value("number()");
  if (std::isfinite(value)) {
    // The shortest round-trip form of a double is at most 24 characters
    // ("-2.2250738585072014e-308").
    char buffer[32];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    // Parsers that read a number without fraction or exponent as a 64-bit
    // integer (simdjson among them) reject one beyond that range, such as
    // "-4334270042473571549184": from 2^63 on, the exponent form is used.
    if (std::fabs(value) >= 0x1p63 && std::find(buffer, end, 'e') == end) {
      end = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
    }
    out_->append(buffer, end);
  } else {
    out_->append("null");
  }
  after_value();
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  before_value("boolean()");
  out_->append(value ? "true" : "false");
  after_value();
  return *this;
}

JsonWriter& JsonWriter::null() {
  before_value("null()");
  out_->append("null");
  after_value();
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  if (json.empty()) misuse("raw() with empty text; it must be one JSON value");
  before_value("raw()");
  out_->append(json);
  after_value();
  return *this;
}

std::string JsonWriter::take() {
  if (!complete()) {
    misuse(depth_ > 0 ? "take() with " + std::to_string(depth_) + " container(s) still open"
                      : std::string("take() before any value was written"));
  }
  std::string text = std::move(*out_);
  out_->clear();
  reset();
  return text;
}

void JsonWriter::reset() noexcept {
  kinds_ = 0;
  deep_.clear();
  depth_ = 0;
  has_members_ = false;
  after_key_ = false;
  done_ = false;
}

}  // namespace cipherline::json
