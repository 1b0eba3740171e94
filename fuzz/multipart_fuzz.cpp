// Fuzz target: multipart/form-data. The input's first line is the
// Content-Type, the rest the body. Arbitrary input gives parts or a named
// malformed_multipart error, never a crash; every view lies inside the body;
// parts written again by MultipartWriter parse back to the same parts; and a
// form sealed by seal_form (RequestCipher) and opened by open_form
// (ResponseCipher) gives back the traversal's values and files.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/error.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/protocol/form_cipher.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace {

using namespace cipherline;

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view view, std::string_view whole) {
  return view.empty() ||
         (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
}

// Names the writer writes as they are (it percent-encodes '"', CR and LF).
bool writes_verbatim(std::string_view s) { return s.find_first_of("\"\r\n") == s.npos; }

std::shared_ptr<const protocol::InferenceSecret> secret() {
  static const auto s = std::make_shared<const protocol::InferenceSecret>(
      "fuzz", std::vector<std::byte>(32, std::byte{0x42}));
  return s;
}

void round_trip(std::string_view body, std::string_view boundary) {
  std::vector<http::FormPart> parts;
  auto parsed = http::parse_multipart(body, boundary, parts);
  if (!parsed) {
    check(parsed.error() == http::errc::malformed_multipart);
    check(!parsed.error().message().empty());
    return;
  }
  std::string out;
  http::MultipartWriter writer(out, http::random_boundary());
  std::vector<const http::FormPart*> written;
  for (const auto& p : parts) {
    check(inside(p.name, body) && inside(p.content, body) && inside(p.content_type, body));
    check(!p.name.empty());
    if (!writes_verbatim(p.name) || (p.filename && !writes_verbatim(*p.filename))) continue;
    auto r = p.filename ? writer.file(p.name, *p.filename, {}, p.content)
                        : writer.field(p.name, p.content);
    if (r) written.push_back(&p);
  }
  writer.finish();
  std::vector<http::FormPart> again;
  check(static_cast<bool>(http::parse_multipart(out, writer.boundary(), again)));
  check(again.size() == written.size());
  for (std::size_t i = 0; i < again.size(); ++i) {
    check(again[i].name == written[i]->name);
    check(again[i].content == written[i]->content);
    check(again[i].filename == written[i]->filename);
  }
}

void cipher_round_trip(std::string_view type, std::string_view body) {
  auto form = protocol::OrderedForm::parse(type, body);
  if (!form) return;
  // Percent-encoded names would sort differently on the wire.
  for (const auto parts : {form->values(), form->files()}) {
    for (const auto& p : parts) {
      if (!writes_verbatim(p.name)) return;
    }
  }
  const auto plain = protocol::plain_request_fields(protocol::Route::audio_transcriptions);
  protocol::RequestCipher client(secret());
  std::string sealed;
  auto sealed_type = protocol::seal_form(
      *form, plain, [&](std::string_view v, std::string& out) { return client.seal(v, out); },
      sealed);
  if (!sealed_type) {
    // Only a plain value that holds the writer's random boundary could fail.
    check(sealed_type.error() == http::errc::malformed_multipart);
    return;
  }
  auto wire = protocol::OrderedForm::parse(*sealed_type, sealed);
  check(static_cast<bool>(wire));
  protocol::ResponseCipher server(secret());
  std::string opened;
  auto opened_type = protocol::open_form(
      *wire, plain, [&](std::string_view v, std::string& out) { return server.open(v, out); },
      opened);
  check(static_cast<bool>(opened_type));
  auto back = protocol::OrderedForm::parse(*opened_type, opened);
  check(static_cast<bool>(back));
  for (const auto& v : form->values()) {
    if (v.name.starts_with("stream_")) continue;  // the server may force these
    check(back->value(v.name) == v.content);
  }
  for (const auto& f : form->files()) {
    const auto* file = back->file(f.name);
    check(file != nullptr && file->content == f.content);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view type = input.substr(0, newline);
  const std::string_view body = input.substr(newline + 1);
  auto boundary = http::multipart_boundary(type);
  if (!boundary) {
    check(boundary.error() == http::errc::malformed_multipart);
    return 0;
  }
  check(inside(*boundary, type));
  round_trip(body, *boundary);
  cipher_round_trip(type, body);
  return 0;
}
