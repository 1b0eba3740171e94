// JsonWriter: builds JSON text (RFC 8259) into a std::string — objects and
// arrays with automatic commas, correctly escaped strings, exact numbers.
//
//   JsonWriter w;
//   w.begin_object()
//       .key("id").string(request_id)
//       .key("choices").begin_array()
//           .begin_object()
//               .key("index").number(0)
//               .key("delta").begin_object().key("content").string(token).end_object()
//           .end_object()
//       .end_array()
//       .key("usage").raw(decrypted_usage_json)
//   .end_object();
//   send(w.out());
//
// Contract:
// - Output: appended to the writer's own string, or to a caller's string
//   passed to the constructor (which must outlive the writer). A document is
//   one top-level value; reset() starts another after it.
// - Misuse is a programming error and throws std::logic_error naming the
//   mistake: a value where an object key is expected, key() outside an object
//   or twice in a row, end_object()/end_array() that does not match the open
//   container, a second top-level value, take() of an unfinished document.
//   The check comes before any byte is written, so the output is unchanged.
// - Strings (values and keys): `"` and `\` are escaped; control characters
//   below U+0020 are written as \b \f \n \r \t, or \u00XX for the others;
//   everything else, including valid UTF-8 sequences, is copied unchanged.
//   Invalid UTF-8 is never copied: each maximal ill-formed subsequence
//   becomes one U+FFFD (Unicode's recommended substitution, which the WHATWG
//   decoder follows too), so the output is always valid UTF-8 and valid
//   JSON, and writing a string never fails.
// - Numbers: integers of up to 64 bits exactly; doubles in the shortest form
//   that reads back as the same double (std::to_chars), except that doubles
//   of magnitude 2^63 or more always get an exponent ("9.223372036854776e+18"),
//   because parsers that read exponent-less numbers as 64-bit integers
//   (simdjson among them) reject longer ones. NaN and infinities have no JSON
//   form and are written as `null`, as JSON.stringify does.
// - raw(json) splices already-encoded JSON text as one value, unchecked: the
//   caller guarantees it is exactly one valid JSON value.
// - Thread affinity: none; a writer is not shared between threads.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cipherline::json {

template <class T>
concept JsonInteger = std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> &&
                      !std::same_as<T, wchar_t> && !std::same_as<T, char8_t> &&
                      !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;

class JsonWriter {
 public:
  // Writes into a string the writer owns.
  JsonWriter() noexcept : out_(&own_) {}
  // Appends to `out`, which must outlive the writer.
  explicit JsonWriter(std::string& out) noexcept : out_(&out) {}

  JsonWriter(JsonWriter&& other) noexcept;
  JsonWriter& operator=(JsonWriter&& other) noexcept;
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  ~JsonWriter() = default;

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view value);
  template <JsonInteger T>
  JsonWriter& number(T value) {
    if constexpr (std::is_signed_v<T>) {
      return signed_number(value);
    } else {
      return unsigned_number(value);
    }
  }
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  JsonWriter& raw(std::string_view json);

  // out is the text written so far (the caller's string when one was given).
  std::string& out() noexcept { return *out_; }
  const std::string& out() const noexcept { return *out_; }
  // complete is true once one top-level value is written and closed.
  bool complete() const noexcept { return done_ && depth_ == 0; }
  // take moves the finished document out (leaving the output string empty)
  // and resets the writer; it throws std::logic_error if !complete().
  std::string take();
  // reset forgets the document's structure so that another can be written;
  // the output is kept (clear out() to start from nothing).
  void reset() noexcept;

 private:
  JsonWriter& signed_number(std::int64_t value);
  JsonWriter& unsigned_number(std::uint64_t value);
  void before_value(const char* what);
  void after_value() noexcept;
  void push(bool object);
  bool in_object() const noexcept;
  void close(bool object, const char* what);

  std::string own_;
  std::string* out_;
  // The kinds of the open containers (1 = object), as bits for the first 64
  // levels and in `deep_` beyond; the state of the innermost one below.
  std::uint64_t kinds_ = 0;
  std::vector<bool> deep_;
  std::size_t depth_ = 0;
  bool has_members_ = false;  // the innermost container has an element
  bool after_key_ = false;    // a key was written; its value comes next
  bool done_ = false;         // the top-level value is written
};

}  // namespace cipherline::json
