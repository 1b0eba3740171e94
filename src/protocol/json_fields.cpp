#include "cipherline/protocol/json_fields.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "cipherline/crypto/error.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

constexpr std::string_view kOpenAiRequestPlain[] = {
    "model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream",
};
constexpr std::string_view kEmbeddingsRequestPlain[] = {"model"};
constexpr std::string_view kMessagesRequestPlain[] = {"model", "stream"};
constexpr std::string_view kTranscriptionRequestPlain[] = {
    "model", "stream", "stream_include_usage", "stream_continuous_usage_stats"};
constexpr std::string_view kOpenAiResponsePlain[] = {"id", "usage"};
constexpr std::string_view kTranscriptionResponsePlain[] = {"duration", "usage"};
constexpr std::string_view kMessagesResponsePlain[] = {"id", "type", "usage"};

// Documents up to this size are parsed with a parser kept per thread, so
// that a stream of events does not allocate one parser per event.
constexpr std::size_t kCachedParserLimit = 1 << 20;

// One top-level member of the object.
struct Member {
  std::string_view raw_key;  // between the quotes, escapes as written
  std::string_view key;      // decoded
  std::string_view value;    // the raw value, no surrounding whitespace
  std::size_t replacement_begin = 0;
  std::size_t replacement_size = 0;
  bool replaced = false;
};

// The parser and the buffers of one walk, kept per thread so that a stream
// of events allocates nothing per event once they have grown.
struct WalkState {
  simdjson::dom::parser parser;
  std::vector<Member> members;
  std::vector<std::uint32_t> order;
  std::string replacements;
};

struct CachedParser {
  WalkState state;
  bool busy = false;
};

// A parser for one call: the thread's cached one when it is free (a
// transform may itself parse JSON) and the document is small, else a fresh
// one.
class ParserLease {
 public:
  explicit ParserLease(std::size_t document_size) {
    static thread_local CachedParser cached;
    if (!cached.busy && document_size <= kCachedParserLimit) {
      cached_ = &cached;
      cached.busy = true;
    } else {
      own_.emplace();
    }
  }
  ~ParserLease() {
    if (cached_ != nullptr) cached_->busy = false;
  }
  ParserLease(const ParserLease&) = delete;
  ParserLease& operator=(const ParserLease&) = delete;

  // get: the walk's state, its buffers emptied.
  WalkState& get() noexcept {
    WalkState& s = cached_ != nullptr ? cached_->state : *own_;
    s.members.clear();
    s.order.clear();
    s.replacements.clear();
    return s;
  }

 private:
  CachedParser* cached_ = nullptr;
  std::optional<WalkState> own_;
};

// Scanner walks one JSON object's top level without copying: the members'
// raw keys and raw value spans. It checks structure only (quotes, brackets,
// colons, commas); scalars and escapes are simdjson's to validate. On
// failure it reports the byte offset and what it expected there.
class Scanner {
 public:
  explicit Scanner(std::string_view text) noexcept : text_(text) {}

  bool scan(std::vector<Member>& members) {
    skip_whitespace();
    if (!consume('{')) return fail_expecting("'{'");
    skip_whitespace();
    if (!consume('}')) {
      for (;;) {
        Member m;
        if (!at('"')) return fail_expecting("a key string");
        if (!string(m.raw_key)) return false;
        skip_whitespace();
        if (!consume(':')) return fail_expecting("':' after the key");
        skip_whitespace();
        if (!value(m.value)) return false;
        members.push_back(m);
        skip_whitespace();
        if (consume(',')) {
          skip_whitespace();
          continue;
        }
        if (consume('}')) break;
        return fail_expecting("',' or '}'");
      }
    }
    skip_whitespace();
    if (pos_ != text_.size()) return fail("unexpected data after the object");
    return true;
  }

  std::size_t error_offset() const noexcept { return pos_; }
  const std::string& error_what() const noexcept { return what_; }

 private:
  static bool is_whitespace(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  }

  bool at(char c) const noexcept { return pos_ < text_.size() && text_[pos_] == c; }
  bool consume(char c) noexcept {
    if (!at(c)) return false;
    ++pos_;
    return true;
  }
  void skip_whitespace() noexcept {
    while (pos_ < text_.size() && is_whitespace(text_[pos_])) ++pos_;
  }
  bool fail(std::string what) {
    what_ = std::move(what);
    return false;
  }
  bool fail_expecting(std::string_view what) {
    if (pos_ == text_.size()) return fail("unexpected end of input");
    return fail("expected " + std::string(what));
  }

  // At an opening quote: moves past the closing one; `inner` excludes the quotes.
  bool string(std::string_view& inner) {
    const std::size_t open = pos_++;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        inner = text_.substr(open + 1, pos_ - open - 1);
        ++pos_;
        return true;
      }
      pos_ += c == '\\' ? 2 : 1;
    }
    pos_ = text_.size();
    return fail("unterminated string");
  }

  bool value(std::string_view& raw) {
    const std::size_t begin = pos_;
    if (pos_ == text_.size()) return fail("unexpected end of input");
    const char first = text_[pos_];
    if (first == '"') {
      std::string_view ignored;
      if (!string(ignored)) return false;
    } else if (first == '{' || first == '[') {
      if (!container()) return false;
    } else if (first == ',' || first == '}' || first == ']' || first == ':') {
      return fail("expected a value");
    } else {
      while (pos_ < text_.size()) {
        const char c = text_[pos_];
        if (is_whitespace(c) || c == ',' || c == '}' || c == ']') break;
        ++pos_;
      }
    }
    raw = text_.substr(begin, pos_ - begin);
    return true;
  }

  // At '{' or '[': moves past the matching close. Only the depth is
  // tracked; simdjson has already checked that brackets pair up.
  bool container() {
    std::size_t depth = 0;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '"') {
        std::string_view ignored;
        if (!string(ignored)) return false;
        continue;
      }
      ++pos_;
      if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return true;
      }
    }
    return fail("unexpected end of input");
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string what_;
};

const char* type_name(simdjson::dom::element_type type) noexcept {
  using simdjson::dom::element_type;
  switch (type) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "of another type";
}

const char* value_kind(std::string_view raw) noexcept {
  switch (raw.empty() ? '\0' : raw.front()) {
    case '{':
      return "an object";
    case '[':
      return "an array";
    case 't':
    case 'f':
      return "a boolean";
    case 'n':
      return "null";
    default:
      return "a number";
  }
}

// The error for a document simdjson rejected, with the byte offset where
// the structural scan finds the problem (scalars, escapes and UTF-8 only
// simdjson checks, so there may be none).
Error parse_error(std::string_view json, simdjson::error_code err) {
  std::string detail = "invalid JSON: ";
  detail += simdjson::error_message(err);
  std::vector<Member> ignored;
  Scanner scanner(json);
  if (!scanner.scan(ignored)) {
    detail +=
        " (at byte " + std::to_string(scanner.error_offset()) + ": " + scanner.error_what() + ")";
  }
  return Error(errc::invalid_json, std::move(detail));
}

// The bytes of a key with '.', '?' and '*' backslash-escaped, one at a
// time; -1 at the end.
class EscapedKey {
 public:
  explicit EscapedKey(std::string_view key) noexcept : key_(key) {}

  int next() noexcept {
    if (pos_ == key_.size()) return -1;
    const char c = key_[pos_];
    if (!escaped_ && (c == '.' || c == '?' || c == '*')) {
      escaped_ = true;
      return '\\';
    }
    escaped_ = false;
    ++pos_;
    return static_cast<unsigned char>(c);
  }

 private:
  std::string_view key_;
  std::size_t pos_ = 0;
  bool escaped_ = false;
};

// The protocol's order: byte-wise on the escaped keys.
bool protocol_less(std::string_view a, std::string_view b) noexcept {
  EscapedKey x(a);
  EscapedKey y(b);
  for (;;) {
    const int p = x.next();
    const int q = y.next();
    if (p != q) return p < q;
    if (p < 0) return false;
  }
}

std::string field_label(const Member& m) { return "field \"" + std::string(m.raw_key) + "\""; }

enum class Direction { seal, open };

Result<void, Error> transform_fields(std::string_view json, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out,
                                     Direction direction) {
  ParserLease lease(json.size());
  WalkState& state = lease.get();
  simdjson::dom::element root;
  if (auto err = state.parser.parse(json.data(), json.size()).get(root); err) {
    return parse_error(json, err);
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return Error(errc::invalid_json,
                 std::string("invalid JSON: not a JSON object (the top level is ") +
                     type_name(root.type()) + ")");
  }

  // simdjson has accepted the document, so the scan agrees with it; the
  // checks only keep a disagreement from reaching out of bounds.
  std::vector<Member>& members = state.members;
  Scanner scanner(json);
  if (!scanner.scan(members)) {
    return Error(errc::invalid_json, "invalid JSON at byte " +
                                         std::to_string(scanner.error_offset()) + ": " +
                                         scanner.error_what());
  }
  std::size_t decoded = 0;
  for (const auto field : object) {
    if (decoded == members.size()) break;
    members[decoded++].key = field.key;
  }
  if (decoded != members.size()) {
    return Error(errc::invalid_json, "invalid JSON: the object's members could not be matched");
  }

  // Objects usually have few members: an insertion sort is stable and in
  // place (std::stable_sort takes a buffer); many members get the
  // O(n log n) sort instead.
  std::vector<std::uint32_t>& order = state.order;
  const auto less = [&](std::uint32_t a, std::uint32_t b) {
    return protocol_less(members[a].key, members[b].key);
  };
  const bool few = members.size() <= 32;
  for (std::uint32_t i = 0; i < members.size(); ++i) {
    if (plain.contains(members[i].key)) continue;
    auto at = order.end();
    while (few && at != order.begin() && less(i, *(at - 1))) --at;
    order.insert(at, i);
  }
  if (!few) std::stable_sort(order.begin(), order.end(), less);

  if (direction == Direction::open) {
    for (const std::uint32_t i : order) {
      const Member& m = members[i];
      if (m.value.front() != '"') {
        return Error(errc::malformed_field, field_label(m) +
                                                ": an encrypted value must be a JSON string, not " +
                                                value_kind(m.value));
      }
    }
  }

  std::string& replacements = state.replacements;
  for (const std::uint32_t i : order) {
    Member& m = members[i];
    m.replacement_begin = replacements.size();
    if (auto r = transform(m.value, replacements); !r) {
      const Error e = r.error();
      return Error(e.code(), field_label(m) + ": " + e.message());
    }
    m.replacement_size = replacements.size() - m.replacement_begin;
    m.replaced = true;
  }

  out.reserve(out.size() + json.size() + replacements.size());
  const char* copied = json.data();
  for (const Member& m : members) {
    if (!m.replaced) continue;
    out.append(copied, m.value.data());
    out.append(replacements, m.replacement_begin, m.replacement_size);
    copied = m.value.data() + m.value.size();
  }
  out.append(copied, json.data() + json.size());
  return {};
}

}  // namespace

bool is_plain_path_tail(std::string_view tail) noexcept {
  if (tail.empty() || tail.size() > 1024) return false;
  std::size_t at = 0;
  while (at <= tail.size()) {
    const auto end = std::min(tail.find('/', at), tail.size());
    const auto segment = tail.substr(at, end - at);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (const char c : segment) {
      const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '+' ||
                         c == '-';
      if (!plain) return false;
    }
    at = end + 1;
  }
  return true;
}

std::optional<Route> route_for_path(std::string_view path) {
  if (path.starts_with("/unstructured/")) return Route::unstructured;
  for (const Route route : {Route::chat_completions, Route::completions, Route::embeddings,
                            Route::messages, Route::audio_transcriptions}) {
    if (path == path_of(route)) return route;
  }
  return std::nullopt;
}

std::string_view path_of(Route route) noexcept {
  switch (route) {
    case Route::chat_completions:
      return "/v1/chat/completions";
    case Route::completions:
      return "/v1/completions";
    case Route::embeddings:
      return "/v1/embeddings";
    case Route::messages:
      return "/v1/messages";
    case Route::audio_transcriptions:
      return "/v1/audio/transcriptions";
    case Route::unstructured:
      return "/unstructured/general/v0/general";
  }
  return {};
}

bool PlainFields::contains(std::string_view key) const noexcept {
  return std::find(names_.begin(), names_.end(), key) != names_.end();
}

PlainFields plain_request_fields(Route route) noexcept {
  switch (route) {
    case Route::chat_completions:
    case Route::completions:
      return PlainFields(kOpenAiRequestPlain);
    case Route::embeddings:
      return PlainFields(kEmbeddingsRequestPlain);
    case Route::messages:
      return PlainFields(kMessagesRequestPlain);
    case Route::audio_transcriptions:
      return PlainFields(kTranscriptionRequestPlain);
    case Route::unstructured:
      return {};  // the whole body is one message
  }
  return {};
}

PlainFields plain_response_fields(Route route) noexcept {
  switch (route) {
    case Route::chat_completions:
    case Route::completions:
    case Route::embeddings:
      return PlainFields(kOpenAiResponsePlain);
    case Route::messages:
      return PlainFields(kMessagesResponsePlain);
    case Route::audio_transcriptions:
      return PlainFields(kTranscriptionResponsePlain);
    case Route::unstructured:
      return {};  // every top-level value is sealed
  }
  return {};
}

Result<void, Error> seal_json_fields(std::string_view json, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out) {
  return transform_fields(json, plain, transform, out, Direction::seal);
}

Result<void, Error> open_json_fields(std::string_view json, const PlainFields& plain,
                                     const FieldTransform& transform, std::string& out) {
  return transform_fields(json, plain, transform, out, Direction::open);
}

bool is_done_event(std::string_view data) noexcept {
  constexpr std::string_view kWhitespace = " \t\r\n\f\v";
  const auto first = data.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return false;
  data = data.substr(first, data.find_last_not_of(kWhitespace) - first + 1);
  constexpr std::string_view kDone = "[DONE]";
  if (data.size() != kDone.size()) return false;
  for (std::size_t i = 0; i < kDone.size(); ++i) {
    char c = data[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != kDone[i]) return false;
  }
  return true;
}

}  // namespace cipherline::protocol
