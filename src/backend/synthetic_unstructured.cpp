#include "cipherline/backend/synthetic_unstructured.hpp"

#include <string>
#include <vector>

#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::backend {
namespace {

struct Document {
  std::string_view text;
  std::string_view filename = "document";
};

Result<Document, std::string> read_document(const http::Request& request, std::string_view body,
                                            std::vector<http::FormPart>& parts) {
  const auto type = request.head.headers.get("Content-Type").value_or("");
  if (!http::is_multipart_form(type)) return Document{body};
  auto boundary = http::multipart_boundary(type);
  if (!boundary) return boundary.error().message();
  if (auto r = http::parse_multipart(body, *boundary, parts); !r) return r.error().message();
  for (const auto& p : parts) {
    if (p.name == "files" && p.is_file()) return Document{p.content, *p.filename};
  }
  return std::string("missing form file \"files\" (a part with a filename)");
}

constexpr std::size_t kMaxFilename = 255;
constexpr std::size_t kMaxElements = 100'000;

Task<void> partition(http::Request& request, http::ResponseWriter& writer) {
  auto body = co_await request.body.read_all(64 << 20);
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  std::vector<http::FormPart> parts;
  auto document = read_document(request, *body, parts);
  if (!document) {
    co_await respond_error(request, writer, 400, document.error());
    co_return;
  }
  // The answer repeats the filename per element: both are bounded, so
  // that no document makes an answer much larger than itself.
  if (document->filename.size() > kMaxFilename) {
    co_await respond_error(
        request, writer, 400,
        "the filename is longer than " + std::to_string(kMaxFilename) + " bytes");
    co_return;
  }
  std::string out;
  json::JsonWriter w(out);
  w.begin_array();
  std::size_t elements = 0;
  std::string_view rest = document->text;
  while (!rest.empty()) {
    const std::size_t end = std::min(rest.find_first_of("\r\n"), rest.size());
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    if (elements == kMaxElements) {
      co_await respond_error(
          request, writer, 400,
          "the document has more than " + std::to_string(kMaxElements) + " lines with text");
      co_return;
    }
    const auto digest = crypto::sha256(std::as_bytes(std::span(line)));
    std::string id(16, '\0');
    crypto::hex_encode(std::span(digest).first(8), id.data());
    w.begin_object()
        .key("type")
        .string(elements == 0 ? "Title" : "NarrativeText")
        .key("element_id")
        .string(id)
        .key("text")
        .string(line)
        .key("metadata")
        .begin_object()
        .key("filename")
        .string(document->filename)
        .key("page_number")
        .number(1)
        .end_object()
        .end_object();
    ++elements;
  }
  w.end_array();
  if (elements == 0) {
    co_await respond_error(request, writer, 400, "the document has no text");
    co_return;
  }
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
}

}  // namespace

void add_synthetic_unstructured_routes(http::Router& router) {
  router.add("POST", "/unstructured/general/v0/general", partition, {.max_body = 64 << 20});
}

}  // namespace cipherline::backend
