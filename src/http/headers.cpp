#include "cipherline/http/headers.hpp"

#include <algorithm>
#include <stdexcept>

namespace cipherline::http {

bool header_value_allowed(std::string_view value) noexcept {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool is_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void check(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    throw std::invalid_argument("invalid HTTP header name '" + std::string(name) + "'");
  }
  if (!header_value_allowed(value)) {
    throw std::invalid_argument("HTTP header value for '" + std::string(name) +
                                "' contains CR, LF or NUL");
  }
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool header_name_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void Headers::add(std::string_view name, std::string_view value) {
  check(name, value);
  fields_.emplace_back(std::string(name), std::string(value));
}

void Headers::set(std::string_view name, std::string_view value) {
  check(name, value);
  remove(name);
  fields_.emplace_back(std::string(name), std::string(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(fields_, [&](const Field& f) { return header_name_equals(f.first, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Field& f : fields_) {
    if (header_name_equals(f.first, name)) return std::string_view(f.second);
  }
  return std::nullopt;
}

bool Headers::has_token(std::string_view name, std::string_view token) const {
  for (const Field& f : fields_) {
    if (!header_name_equals(f.first, name)) continue;
    std::string_view rest = f.second;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (header_name_equals(trim(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace cipherline::http
