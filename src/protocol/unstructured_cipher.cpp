#include "cipherline/protocol/unstructured_cipher.hpp"

#include <simdjson.h>

#include <algorithm>
#include <vector>

#include "cipherline/crypto/error.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

bool is_whitespace(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The raw extents of a valid JSON array's elements. simdjson has checked
// the text, so only strings (for brackets inside them) and nesting matter.
std::vector<std::string_view> array_elements(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = text.find('[') + 1;
  const auto skip_whitespace = [&] {
    while (pos < text.size() && is_whitespace(text[pos])) ++pos;
  };
  const auto skip_string = [&] {
    for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
      if (text[pos] == '\\') ++pos;
    }
    ++pos;
  };
  skip_whitespace();
  if (pos < text.size() && text[pos] == ']') return out;
  while (pos < text.size()) {
    skip_whitespace();
    const std::size_t begin = pos;
    const char first = text[pos];
    if (first == '"') {
      skip_string();
    } else if (first == '{' || first == '[') {
      std::size_t depth = 0;
      while (pos < text.size()) {
        const char c = text[pos];
        if (c == '"') {
          skip_string();
          continue;
        }
        ++pos;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          break;
        }
      }
    } else {
      while (pos < text.size() && !is_whitespace(text[pos]) && text[pos] != ',' &&
             text[pos] != ']') {
        ++pos;
      }
    }
    out.push_back(text.substr(begin, pos - begin));
    skip_whitespace();
    if (pos >= text.size() || text[pos] != ',') break;
    ++pos;
  }
  return out;
}

enum class Direction { seal, open };

Result<void, Error> transform_values(std::string_view json, const FieldTransform& transform,
                                     std::string& out, Direction direction) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return Error(errc::invalid_json, std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  if (root.type() == simdjson::dom::element_type::OBJECT) {
    return direction == Direction::seal ? seal_json_fields(json, PlainFields{}, transform, out)
                                        : open_json_fields(json, PlainFields{}, transform, out);
  }
  if (root.type() != simdjson::dom::element_type::ARRAY) {
    return Error(errc::invalid_json,
                 "invalid JSON: an unstructured answer must be an array or "
                 "an object");
  }
  const auto elements = array_elements(json);
  // The protocol's order: the indices as strings.
  std::vector<std::string> keys(elements.size());
  std::vector<std::size_t> order(elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    keys[i] = std::to_string(i);
    order[i] = i;
  }
  std::sort(order.begin(), order.end(),
            [&keys](std::size_t a, std::size_t b) { return keys[a] < keys[b]; });
  if (direction == Direction::open) {
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (elements[i].empty() || elements[i].front() != '"') {
        return Error(errc::malformed_field,
                     "element " + keys[i] + ": an encrypted value must be a JSON string");
      }
    }
  }
  std::vector<std::pair<std::size_t, std::size_t>> replaced(elements.size());  // begin, size
  std::string replacements;
  for (const std::size_t i : order) {
    const std::size_t begin = replacements.size();
    if (auto r = transform(elements[i], replacements); !r) {
      return Error(r.error().code(), "element " + keys[i] + ": " + r.error().message());
    }
    replaced[i] = {begin, replacements.size() - begin};
  }
  out.reserve(out.size() + json.size() + replacements.size());
  const char* copied = json.data();
  for (std::size_t i = 0; i < elements.size(); ++i) {
    out.append(copied, elements[i].data());
    out.append(replacements, replaced[i].first, replaced[i].second);
    copied = elements[i].data() + elements[i].size();
  }
  out.append(copied, json.data() + json.size());
  return {};
}

}  // namespace

Result<void, Error> seal_json_values(std::string_view json, const FieldTransform& transform,
                                     std::string& out) {
  return transform_values(json, transform, out, Direction::seal);
}

Result<void, Error> open_json_values(std::string_view json, const FieldTransform& transform,
                                     std::string& out) {
  return transform_values(json, transform, out, Direction::open);
}

}  // namespace cipherline::protocol
