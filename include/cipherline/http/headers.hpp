// Headers: the header fields of an HTTP message, in order, with
// case-insensitive lookup.
//
//   Headers h;
//   h.add("Content-Type", "application/json");
//   if (auto len = h.get("content-length")) ...
//
// Names and values are stored as given (order and case preserved, duplicates
// allowed, as HTTP permits); `get` returns the first match. `add` and `set`
// reject names that are not HTTP tokens and values containing CR, LF or NUL
// (header injection) with std::invalid_argument. Value type, no thread
// affinity.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cipherline::http {

bool header_name_equals(std::string_view a, std::string_view b) noexcept;
// header_value_allowed: whether `value` may be set (no CR, LF or NUL), for
// callers that turn a bad value into their own error instead of the throw.
bool header_value_allowed(std::string_view value) noexcept;

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  // Headers{{"Content-Type", "text/plain"}, …}: each field as by add().
  Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    fields_.reserve(fields.size());
    for (const auto& [name, value] : fields) add(name, value);
  }

  void add(std::string_view name, std::string_view value);
  // set replaces every field of that name with one.
  void set(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // has_token: the comma-separated value list of `name` contains `token`
  // (case-insensitive), as for "Connection: keep-alive, Upgrade".
  bool has_token(std::string_view name, std::string_view token) const;

  const std::vector<Field>& fields() const noexcept { return fields_; }
  std::size_t size() const noexcept { return fields_.size(); }
  void clear() noexcept { fields_.clear(); }

  // Parsers append without validation (llhttp validated already).
  void append_unchecked(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<Field> fields_;
};

}  // namespace cipherline::http
