#include "cipherline/http/sse_reader.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace cipherline::http {
namespace {

constexpr char kBom[] = {'\xEF', '\xBB', '\xBF'};
constexpr std::string_view kDefaultType = "message";

// parse_retry accepts one or more ASCII digits whose value fits in 64 bits.
std::optional<std::uint64_t> parse_retry(std::string_view value) noexcept {
  if (value.empty()) return std::nullopt;
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (n > (kMax - digit) / 10) return std::nullopt;
    n = n * 10 + digit;
  }
  return n;
}

}  // namespace

SseReader::SseReader(Options options) noexcept : options_(options) {}

void SseReader::feed(std::span<const std::byte> bytes) {
  feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void SseReader::feed(std::string_view bytes) {
  if (error_) return;
  if (!input_.empty()) {
    // Fed again before next() reached the end of the previous bytes: keep
    // what is left of them, in stream order, ahead of the new ones.
    pending_.erase(0, pending_pos_);
    pending_scanned_ -= pending_pos_;
    pending_pos_ = 0;
    pending_.append(input_);
    input_ = {};
  }
  if (bytes.empty()) return;
  input_ = bytes;
  next_cr_ = nullptr;
  next_lf_ = nullptr;
  while (at_stream_start_ && !input_.empty()) {
    if (input_.front() != kBom[bom_matched_]) {
      // Not a BOM after all: the bytes taken for one start the first line.
      pending_.append(kBom, bom_matched_);
      at_stream_start_ = false;
      break;
    }
    input_.remove_prefix(1);
    if (++bom_matched_ == sizeof kBom) {
      at_stream_start_ = false;
      offset_ = sizeof kBom;
    }
  }
}

Result<std::optional<SseEvent>, Error> SseReader::next() {
  if (error_) return *error_;
  if (dispatched_) start_event();
  std::string_view line;
  bool in_input = false;
  while (take_line(line, in_input)) {
    if (line.empty()) {
      if (end_of_block()) return event();
      continue;
    }
    if (event_bytes_ == 0) event_offset_ = line_offset_;
    if (!fits(line.size())) {
      fail(event_offset_);
      return *error_;
    }
    event_bytes_ += line.size();
    if (line.front() != ':') process_field(line, in_input);
  }
  if (error_) return *error_;
  // The caller may now reuse the bytes it fed: a data line still pointing
  // into them is copied.
  if (data_lines_ > 0 && !data_owned_) {
    data_.assign(data_view_);
    data_owned_ = true;
  }
  return std::nullopt;
}

bool SseReader::fits(std::size_t line_bytes) const noexcept {
  return line_bytes <= options_.max_event_size - event_bytes_;
}

// take_line sets `line` to the next complete line (without its line end) and
// `in_input` to whether it lies in the caller's bytes. It returns false when
// the input ends first, after copying an unfinished line into `pending_`
// (or failing if that line already makes the event too large).
bool SseReader::take_line(std::string_view& line, bool& in_input) {
  if (skip_lf_) {
    if (pending_pos_ < pending_.size()) {
      if (pending_[pending_pos_] == '\n') {
        ++pending_pos_;
        ++offset_;
        pending_scanned_ = std::max(pending_scanned_, pending_pos_);
      }
    } else if (!input_.empty()) {
      if (input_.front() == '\n') {
        input_.remove_prefix(1);
        ++offset_;
      }
    } else {
      return false;
    }
    skip_lf_ = false;
  }
  if (pending_pos_ == pending_.size() && pending_pos_ != 0) {
    pending_.clear();
    pending_pos_ = 0;
    pending_scanned_ = 0;
  }
  line_offset_ = offset_;

  if (pending_pos_ < pending_.size()) {
    // Owned bytes first; they are rare (a line split across feeds, or bytes
    // fed before the previous ones were read), so a plain scan does. Bytes
    // scanned before are not scanned again: a long line arriving in many
    // small feeds costs linear time.
    const auto end = std::find_if(pending_.begin() + static_cast<std::ptrdiff_t>(pending_scanned_),
                                  pending_.end(), [](char c) { return c == '\n' || c == '\r'; });
    if (end != pending_.end()) {
      const auto at = static_cast<std::size_t>(end - pending_.begin());
      line = std::string_view(pending_).substr(pending_pos_, at - pending_pos_);
      skip_lf_ = *end == '\r';
      pending_pos_ = at + 1;
      pending_scanned_ = pending_pos_;
      offset_ += line.size() + 1;
      in_input = false;
      return true;
    }
    // An unfinished line: it continues in the caller's bytes.
    const std::size_t head = pending_.size() - pending_pos_;
    const std::size_t tail =
        input_.empty() ? 0 : static_cast<std::size_t>(find_line_end_in_input() - input_.data());
    if (!fits(head + tail)) {
      if (event_bytes_ == 0) event_offset_ = line_offset_;
      fail(event_offset_);
      return false;
    }
    pending_.append(input_.data(), tail);
    pending_scanned_ = pending_.size();
    input_.remove_prefix(tail);
    if (input_.empty()) return false;
    line = std::string_view(pending_).substr(pending_pos_);
    pending_pos_ = pending_.size();
    in_input = false;
  } else {
    if (input_.empty()) return false;
    const char* eol = find_line_end_in_input();
    const auto length = static_cast<std::size_t>(eol - input_.data());
    if (length == input_.size()) {
      if (!fits(length)) {
        if (event_bytes_ == 0) event_offset_ = line_offset_;
        fail(event_offset_);
        return false;
      }
      pending_.assign(input_);
      pending_scanned_ = pending_.size();
      input_ = {};
      return false;
    }
    line = input_.substr(0, length);
    input_.remove_prefix(length);
    in_input = true;
  }
  // input_ now starts with the line end.
  skip_lf_ = input_.front() == '\r';
  input_.remove_prefix(1);
  offset_ += line.size() + 1;
  return true;
}

const char* SseReader::find_line_end_in_input() noexcept {
  const char* p = input_.data();
  if (*p == '\n' || *p == '\r') return p;  // a blank line ends most events
  const char* end = p + input_.size();
  const auto n = static_cast<std::size_t>(end - p);
  if (next_lf_ == nullptr || next_lf_ < p) {
    const void* f = std::memchr(p, '\n', n);
    next_lf_ = f != nullptr ? static_cast<const char*>(f) : end;
  }
  if (next_cr_ == nullptr || next_cr_ < p) {
    const void* f = std::memchr(p, '\r', n);
    next_cr_ = f != nullptr ? static_cast<const char*>(f) : end;
  }
  return std::min(next_lf_, next_cr_);
}

void SseReader::process_field(std::string_view line, bool in_input) {
  std::string_view name = line;
  std::string_view value;
  if (const auto colon = line.find(':'); colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "data") {
    if (data_lines_ == 0 && in_input) {
      data_view_ = value;
    } else {
      if (!data_owned_) {
        data_.assign(data_view_);
        data_owned_ = true;
      }
      if (data_lines_ > 0) data_.push_back('\n');
      data_.append(value);
    }
    ++data_lines_;
  } else if (name == "event") {
    type_.assign(value);
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) {
      id_buffer_.assign(value);
      id_changed_ = true;
    }
  } else if (name == "retry") {
    if (const auto ms = parse_retry(value)) retry_ = ms;
  }
}

// end_of_block handles a blank line; it returns true when it dispatches an
// event (which stays readable until the next call).
bool SseReader::end_of_block() {
  event_bytes_ = 0;
  if (id_changed_) {
    last_event_id_.assign(id_buffer_);
    id_changed_ = false;
  }
  if (data_lines_ == 0) {
    type_.clear();
    return false;
  }
  dispatched_ = true;
  return true;
}

void SseReader::start_event() noexcept {
  dispatched_ = false;
  data_lines_ = 0;
  data_owned_ = false;
  data_view_ = {};
  data_.clear();
  type_.clear();
}

SseEvent SseReader::event() const noexcept {
  return SseEvent{
      .type = type_.empty() ? kDefaultType : std::string_view(type_),
      .data = data_owned_ ? std::string_view(data_) : data_view_,
      .last_event_id = last_event_id_,
      .retry = retry_,
  };
}

void SseReader::fail(std::uint64_t event_offset) {
  error_ = Error(errc::sse_event_too_large, "SSE event larger than the " +
                                                std::to_string(options_.max_event_size) +
                                                "-byte limit (the event starts at stream byte " +
                                                std::to_string(event_offset) + ")");
  input_ = {};
  pending_ = {};
  pending_pos_ = 0;
  pending_scanned_ = 0;
  data_ = {};
  data_view_ = {};
  type_ = {};
}

}  // namespace cipherline::http
