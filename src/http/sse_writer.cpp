#include "cipherline/http/sse_writer.hpp"

#include <stdexcept>

namespace cipherline::http {
namespace {

void check_single_line(std::string_view value, const char* what) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    throw std::invalid_argument(std::string("SSE ") + what + " contains a line break or NUL");
  }
}

}  // namespace

void SseWriter::format_event(std::string& out, std::string_view data, std::string_view event,
                             std::string_view id) {
  check_single_line(event, "event type");
  check_single_line(id, "id");
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  // One data line per line of `data`, whichever line break it uses.
  while (true) {
    const auto brk = data.find_first_of("\r\n");
    out.append("data: ").append(data.substr(0, brk)).append("\n");
    if (brk == std::string_view::npos) break;
    const std::size_t skip =
        data[brk] == '\r' && brk + 1 < data.size() && data[brk + 1] == '\n' ? 2 : 1;
    data.remove_prefix(brk + skip);
  }
  out.append("\n");
}

Task<Result<void>> SseWriter::start(Headers extra) {
  extra.set("Content-Type", "text/event-stream");
  if (!extra.contains("Cache-Control")) extra.set("Cache-Control", "no-cache");
  co_return co_await writer_.start(200, std::move(extra));
}

Task<Result<void>> SseWriter::send(std::string_view data, std::string_view event,
                                   std::string_view id) {
  buffer_.clear();
  format_event(buffer_, data, event, id);
  co_return co_await writer_.write(buffer_);
}

Task<Result<void>> SseWriter::comment(std::string_view text) {
  check_single_line(text, "comment");
  buffer_.assign(": ").append(text).append("\n\n");
  co_return co_await writer_.write(buffer_);
}

}  // namespace cipherline::http
