#include "cipherline/backend/synthetic_audio.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "cipherline/backend/error_response.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/form_cipher.hpp"

namespace cipherline::backend {
namespace {

enum class Format { json, verbose_json, text, srt, vtt };

struct Transcription {
  std::string text;
  std::string language;
  std::size_t prompt_words = 0;
  double duration = 0;
  Format format = Format::json;
  bool stream = false;
  bool continuous_usage = false;
};

std::vector<std::string_view> words_of(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find(' ', at), text.size());
    if (end > at) out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::optional<Format> format_named(std::string_view name) {
  if (name == "json") return Format::json;
  if (name == "verbose_json") return Format::verbose_json;
  if (name == "text") return Format::text;
  if (name == "srt") return Format::srt;
  if (name == "vtt") return Format::vtt;
  return std::nullopt;
}

Result<Transcription, std::string> read_form(const http::Request& request, std::string_view body) {
  const auto type = request.head.headers.get("Content-Type").value_or("");
  auto boundary = http::multipart_boundary(type);
  if (!boundary) return boundary.error().message();
  std::vector<http::FormPart> parts;
  if (auto r = http::parse_multipart(body, *boundary, parts); !r) return r.error().message();
  // The first value or file of each name.
  const auto find = [&parts](std::string_view name, bool file) -> const http::FormPart* {
    for (const auto& p : parts) {
      if (p.name == name && p.is_file() == file) return &p;
    }
    return nullptr;
  };
  const auto value = [&](std::string_view name) -> std::optional<std::string_view> {
    if (const auto* p = find(name, false)) return p->content;
    return std::nullopt;
  };

  const auto model = value("model");
  if (!model) return std::string("missing form field \"model\"");
  if (*model != SyntheticModel::kName) {
    return "unknown model \"" + std::string(*model) + "\" (this backend serves \"synthetic\")";
  }
  const auto* file = find("file", true);
  if (file == nullptr) return std::string("missing form file \"file\" (a part with a filename)");
  Transcription t;
  if (const auto name = value("response_format")) {
    const auto format = format_named(*name);
    if (!format) {
      return "unknown response_format \"" + std::string(*name) +
             "\" (json, verbose_json, text, srt or vtt)";
    }
    t.format = *format;
  }
  const auto flag = [&](std::string_view name, bool& out) -> std::optional<std::string> {
    if (const auto v = value(name)) {
      const auto parsed = protocol::parse_bool(*v);
      if (!parsed) return "form field \"" + std::string(name) + "\" must be true or false";
      out = *parsed;
    }
    return std::nullopt;
  };
  if (auto bad = flag("stream", t.stream)) return *bad;
  if (auto bad = flag("stream_continuous_usage_stats", t.continuous_usage)) return *bad;
  if (t.stream && t.format != Format::json) {
    return std::string("stream=true needs response_format json");
  }

  t.language = std::string(value("language").value_or("en"));
  const auto prompt = value("prompt");
  if (prompt) t.prompt_words = words_of(*prompt).size();
  const auto digest = crypto::sha256(std::as_bytes(std::span(file->content)));
  std::string hex(16, '\0');
  crypto::hex_encode(std::span(digest).first(8), hex.data());
  t.text = "synthetic transcript of " + std::to_string(file->content.size()) + " bytes, sha256 " +
           hex + ", language " + t.language;
  if (prompt) t.text += ", prompt: " + std::string(*prompt);
  t.text += ".";
  t.duration = std::round(static_cast<double>(file->content.size()) / 32.0) / 1000.0;
  return t;
}

void write_usage(json::JsonWriter& w, const Transcription& t) {
  w.key("usage")
      .begin_object()
      .key("type")
      .string("duration")
      .key("seconds")
      .number(static_cast<std::uint64_t>(std::ceil(t.duration)));
  w.end_object();
}

void write_token_usage(json::JsonWriter& w, const Transcription& t, std::size_t output) {
  w.key("usage")
      .begin_object()
      .key("type")
      .string("tokens")
      .key("input_tokens")
      .number(t.prompt_words)
      .key("output_tokens")
      .number(output)
      .key("total_tokens")
      .number(t.prompt_words + output)
      .end_object();
}

// A subtitle timestamp: 00:00:01,500 (srt) or 00:00:01.500 (vtt).
std::string timestamp(double seconds, char separator) {
  const auto ms = static_cast<std::uint64_t>(std::llround(seconds * 1000));
  char out[32];
  std::snprintf(out, sizeof out, "%02llu:%02llu:%02llu%c%03llu",
                static_cast<unsigned long long>(ms / 3600000),
                static_cast<unsigned long long>(ms / 60000 % 60),
                static_cast<unsigned long long>(ms / 1000 % 60), separator,
                static_cast<unsigned long long>(ms % 1000));
  return out;
}

std::string answer_body(const Transcription& t) {
  std::string out;
  switch (t.format) {
    case Format::text:
      return t.text + "\n";
    case Format::srt:
      return "1\n" + timestamp(0, ',') + " --> " + timestamp(t.duration, ',') + "\n" + t.text +
             "\n\n";
    case Format::vtt:
      return "WEBVTT\n\n" + timestamp(0, '.') + " --> " + timestamp(t.duration, '.') + "\n" +
             t.text + "\n\n";
    case Format::json: {
      json::JsonWriter w(out);
      w.begin_object().key("text").string(t.text);
      write_usage(w, t);
      w.end_object();
      return out;
    }
    case Format::verbose_json: {
      json::JsonWriter w(out);
      w.begin_object()
          .key("task")
          .string("transcribe")
          .key("language")
          .string(t.language)
          .key("duration")
          .number(t.duration)
          .key("text")
          .string(t.text)
          .key("segments")
          .begin_array()
          .begin_object()
          .key("id")
          .number(0)
          .key("seek")
          .number(0)
          .key("start")
          .number(0.0)
          .key("end")
          .number(t.duration)
          .key("text")
          .string(t.text)
          .key("tokens")
          .begin_array()
          .end_array()
          .key("temperature")
          .number(0.0)
          .key("avg_logprob")
          .number(0.0)
          .key("compression_ratio")
          .number(1.0)
          .key("no_speech_prob")
          .number(0.0)
          .end_object()
          .end_array();
      write_usage(w, t);
      w.end_object();
      return out;
    }
  }
  return out;
}

Task<void> transcribe(http::Request& request, http::ResponseWriter& writer) {
  auto body = co_await request.body.read_all(64 << 20);
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  auto t = read_form(request, *body);
  if (!t) {
    co_await respond_error(request, writer, 400, t.error());
    co_return;
  }
  if (!t->stream) {
    const bool json = t->format == Format::json || t->format == Format::verbose_json;
    (void)co_await writer.respond(
        200, {{"Content-Type", json ? "application/json" : "text/plain; charset=utf-8"}},
        answer_body(*t));
    co_return;
  }
  http::SseWriter sse(writer);
  if (!co_await sse.start()) co_return;
  const auto words = words_of(t->text);
  std::string event;
  for (std::size_t i = 0; i < words.size(); ++i) {
    event.clear();
    json::JsonWriter w(event);
    w.begin_object()
        .key("type")
        .string("transcript.text.delta")
        .key("delta")
        .string(i == 0 ? std::string(words[i]) : " " + std::string(words[i]));
    if (t->continuous_usage) write_token_usage(w, *t, i + 1);
    w.end_object();
    if (!co_await sse.send(event)) co_return;
  }
  event.clear();
  json::JsonWriter w(event);
  w.begin_object().key("type").string("transcript.text.done").key("text").string(t->text);
  write_token_usage(w, *t, words.size());
  w.end_object();
  if (!co_await sse.send(event)) co_return;
  if (!co_await sse.send("[DONE]")) co_return;
  (void)co_await sse.finish();
}

}  // namespace

void add_synthetic_audio_routes(http::Router& router) {
  router.add("POST", "/v1/audio/transcriptions", transcribe, {.max_body = 64 << 20});
}

}  // namespace cipherline::backend
