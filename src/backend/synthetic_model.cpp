#include "cipherline/backend/synthetic_model.hpp"

#include <simdjson.h>

#include <optional>
#include <string>
#include <vector>

#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/sleep.hpp"

namespace cipherline::backend {
namespace {

using simdjson::dom::element;

enum class Api { chat, completion, anthropic };

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
    std::size_t end = at;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    if (end > at) out.emplace_back(text.substr(at, end - at));
    at = end;
  }
  return out;
}

// The text of a message's content: a string, or the text parts of an array.
std::string content_text(element content) {
  std::string_view s;
  if (content.get(s) == simdjson::SUCCESS) return std::string(s);
  std::string out;
  simdjson::dom::array parts;
  if (content.get(parts) != simdjson::SUCCESS) return out;
  for (element part : parts) {
    std::string_view text;
    if (part["text"].get(text) == simdjson::SUCCESS)
      out += (out.empty() ? "" : " ") + std::string(text);
  }
  return out;
}

struct Prompt {
  std::string reply;  // what is echoed
  std::size_t prompt_tokens = 0;
  bool stream = false;
  bool include_usage = false;
};

Result<Prompt, std::string> read_prompt(element root, Api api) {
  std::string_view model;
  if (root["model"].get(model) != simdjson::SUCCESS) return std::string("missing \"model\"");
  if (model != SyntheticModel::kName) {
    return "unknown model \"" + std::string(model) + "\" (this backend serves \"synthetic\")";
  }
  Prompt p;
  bool stream = false;
  if (root["stream"].get(stream) == simdjson::SUCCESS) p.stream = stream;
  bool include_usage = false;
  if (root["stream_options"]["include_usage"].get(include_usage) == simdjson::SUCCESS) {
    p.include_usage = include_usage;
  }
  if (api == Api::completion) {
    std::string_view prompt;
    simdjson::dom::array prompts;
    if (root["prompt"].get(prompt) == simdjson::SUCCESS) {
      p.reply = std::string(prompt);
    } else if (root["prompt"].get(prompts) == simdjson::SUCCESS && prompts.size() > 0) {
      for (element e : prompts) {
        std::string_view s;
        if (e.get(s) == simdjson::SUCCESS) p.reply = std::string(s);
      }
    } else {
      return std::string("missing \"prompt\"");
    }
    p.prompt_tokens = words_of(p.reply).size();
    return p;
  }
  simdjson::dom::array messages;
  if (root["messages"].get(messages) != simdjson::SUCCESS || messages.size() == 0) {
    return std::string("\"messages\" must be a non-empty array");
  }
  bool found = false;
  for (element m : messages) {
    const std::string text = content_text(m["content"]);
    p.prompt_tokens += words_of(text).size();
    std::string_view role;
    if (m["role"].get(role) == simdjson::SUCCESS && role == "user") {
      p.reply = text;
      found = true;
    }
  }
  if (!found) return std::string("no message has the role \"user\"");
  return p;
}

std::string chat_chunk(Api api, std::string_view token, bool first, bool last,
                       std::int64_t created) {
  std::string out;
  json::JsonWriter w(out);
  w.begin_object();
  if (api == Api::chat) {
    w.key("id").string("chatcmpl-synthetic").key("object").string("chat.completion.chunk");
  } else {
    w.key("id").string("cmpl-synthetic").key("object").string("text_completion");
  }
  w.key("created").number(created).key("model").string(SyntheticModel::kName);
  w.key("choices").begin_array().begin_object().key("index").number(0);
  if (api == Api::chat) {
    w.key("delta").begin_object();
    if (first) w.key("role").string("assistant");
    if (!last) w.key("content").string(token);
    w.end_object();
  } else {
    w.key("text").string(last ? "" : token);
  }
  w.key("finish_reason");
  if (last) {
    w.string("stop");
  } else {
    w.null();
  }
  w.end_object().end_array().end_object();
  return out;
}

void usage(json::JsonWriter& w, Api api, std::size_t in, std::size_t out) {
  w.key("usage").begin_object();
  if (api == Api::anthropic) {
    w.key("input_tokens").number(in).key("output_tokens").number(out);
  } else {
    w.key("prompt_tokens")
        .number(in)
        .key("completion_tokens")
        .number(out)
        .key("total_tokens")
        .number(in + out);
  }
  w.end_object();
}

std::string whole_response(Api api, const Prompt& p, std::size_t completion, std::int64_t created) {
  std::string out;
  json::JsonWriter w(out);
  w.begin_object();
  if (api == Api::anthropic) {
    w.key("id")
        .string("msg_synthetic")
        .key("type")
        .string("message")
        .key("role")
        .string("assistant");
    w.key("model").string(SyntheticModel::kName);
    w.key("content").begin_array().begin_object().key("type").string("text").key("text").string(
        p.reply);
    w.end_object().end_array().key("stop_reason").string("end_turn");
  } else {
    w.key("id").string(api == Api::chat ? "chatcmpl-synthetic" : "cmpl-synthetic");
    w.key("object").string(api == Api::chat ? "chat.completion" : "text_completion");
    w.key("created").number(created).key("model").string(SyntheticModel::kName);
    w.key("choices").begin_array().begin_object().key("index").number(0);
    if (api == Api::chat) {
      w.key("message")
          .begin_object()
          .key("role")
          .string("assistant")
          .key("content")
          .string(p.reply)
          .end_object();
    } else {
      w.key("text").string(p.reply);
    }
    w.key("finish_reason").string("stop").end_object().end_array();
  }
  usage(w, api, p.prompt_tokens, completion);
  w.end_object();
  return out;
}

std::string anthropic_event(std::string_view type, std::string_view token, const Prompt& p,
                            std::size_t completion) {
  std::string out;
  json::JsonWriter w(out);
  w.begin_object().key("type").string(type);
  if (type == "message_start") {
    w.key("message").begin_object().key("id").string("msg_synthetic").key("type").string("message");
    w.key("role").string("assistant").key("model").string(SyntheticModel::kName);
    w.key("content").begin_array().end_array();
    usage(w, Api::anthropic, p.prompt_tokens, 0);
    w.end_object();
  } else if (type == "content_block_start") {
    w.key("index").number(0).key("content_block").begin_object().key("type").string("text");
    w.key("text").string("").end_object();
  } else if (type == "content_block_delta") {
    w.key("index").number(0).key("delta").begin_object().key("type").string("text_delta");
    w.key("text").string(token).end_object();
  } else if (type == "content_block_stop") {
    w.key("index").number(0);
  } else if (type == "message_delta") {
    w.key("delta").begin_object().key("stop_reason").string("end_turn").end_object();
    w.key("usage").begin_object().key("output_tokens").number(completion).end_object();
  }
  w.end_object();
  return out;
}

// read_json parses the request body with `parser`; on failure it answers
// 400 and returns nullopt.
Task<std::optional<element>> read_json(http::Request& request, http::ResponseWriter& writer,
                                       simdjson::dom::parser& parser) {
  auto body = co_await request.body.read_all(16 << 20);
  element root;
  if (!body || parser.parse(*body).get(root) != simdjson::SUCCESS) {
    co_await respond_error(request, writer, 400, "the request body is not valid JSON");
    co_return std::nullopt;
  }
  co_return root;
}

}  // namespace

void SyntheticModel::add_routes(http::Router& router) {
  router.add("GET", "/v1/models", [](http::Request&, http::ResponseWriter& w) -> Task<void> {
    std::string out;
    json::JsonWriter(out)
        .begin_object()
        .key("object")
        .string("list")
        .key("data")
        .begin_array()
        .begin_object()
        .key("id")
        .string(kName)
        .key("object")
        .string("model")
        .key("created")
        .number(0)
        .key("owned_by")
        .string("cipherline")
        .end_object()
        .end_array()
        .end_object();
    (void)co_await w.respond(200, {{"Content-Type", "application/json"}}, out);
  });
  // One model: GET /v1/models/{id}.
  router.add_prefix(
      "GET", "/v1/models/", [](http::Request& request, http::ResponseWriter& w) -> Task<void> {
        const auto id = request.head.path().substr(std::string_view("/v1/models/").size());
        if (id != kName) {
          co_await respond_error(request, w, 404,
                                 "The model \"" + std::string(id) + "\" does not exist",
                                 protocol::kCodeModelNotFound);
          co_return;
        }
        std::string out;
        json::JsonWriter(out)
            .begin_object()
            .key("id")
            .string(kName)
            .key("object")
            .string("model")
            .key("created")
            .number(0)
            .key("owned_by")
            .string("cipherline")
            .end_object();
        (void)co_await w.respond(200, {{"Content-Type", "application/json"}}, out);
      });

  const auto generate = [this](Api api) {
    return [this, api](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
      simdjson::dom::parser parser;
      const auto parsed = co_await read_json(request, writer, parser);
      if (!parsed) co_return;
      const element root = *parsed;
      auto prompt = read_prompt(root, api);
      if (!prompt) {
        co_await respond_error(request, writer, 400, prompt.error());
        co_return;
      }
      const auto words = words_of(prompt->reply);
      const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
      if (options_.first_token_delay.count() > 0)
        (void)co_await sleep_for(options_.first_token_delay);
      if (!prompt->stream) {
        (void)co_await writer.respond(200, {{"Content-Type", "application/json"}},
                                      whole_response(api, *prompt, words.size(), created));
        co_return;
      }
      http::SseWriter sse(writer);
      if (!co_await sse.start()) co_return;
      const auto pause = options_.tokens_per_second > 0
                             ? std::chrono::nanoseconds(
                                   static_cast<std::int64_t>(1e9 / options_.tokens_per_second))
                             : std::chrono::nanoseconds(0);
      if (api == Api::anthropic) {
        if (!co_await sse.send(anthropic_event("message_start", {}, *prompt, 0), "message_start"))
          co_return;
        if (!co_await sse.send(anthropic_event("content_block_start", {}, *prompt, 0),
                               "content_block_start"))
          co_return;
      }
      for (std::size_t i = 0; i < words.size(); ++i) {
        if (i > 0 && pause.count() > 0) (void)co_await sleep_for(pause);
        const std::string token = words[i] + (i + 1 < words.size() ? " " : "");
        const bool anthropic = api == Api::anthropic;
        const std::string data = anthropic
                                     ? anthropic_event("content_block_delta", token, *prompt, 0)
                                     : chat_chunk(api, token, i == 0, false, created);
        const bool sent =
            (co_await sse.send(data, anthropic ? "content_block_delta" : "")).has_value();
        if (!sent) co_return;  // the client went away
      }
      if (api == Api::anthropic) {
        (void)co_await sse.send(anthropic_event("content_block_stop", {}, *prompt, 0),
                                "content_block_stop");
        (void)co_await sse.send(anthropic_event("message_delta", {}, *prompt, words.size()),
                                "message_delta");
        (void)co_await sse.send(anthropic_event("message_stop", {}, *prompt, 0), "message_stop");
      } else {
        (void)co_await sse.send(chat_chunk(api, {}, words.empty(), true, created));
        if (prompt->include_usage) {
          std::string out;
          json::JsonWriter w(out);
          w.begin_object().key("object").string(api == Api::chat ? "chat.completion.chunk"
                                                                 : "text_completion");
          w.key("model").string(kName).key("choices").begin_array().end_array();
          usage(w, api, prompt->prompt_tokens, words.size());
          w.end_object();
          (void)co_await sse.send(out);
        }
        (void)co_await sse.send("[DONE]");
      }
      (void)co_await sse.finish();
    };
  };
  router.add("POST", "/v1/chat/completions", generate(Api::chat));
  router.add("POST", "/v1/completions", generate(Api::completion));
  router.add("POST", "/v1/messages", generate(Api::anthropic));

  router.add("POST", "/v1/embeddings",
             [this](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
               simdjson::dom::parser parser;
               const auto parsed = co_await read_json(request, writer, parser);
               if (!parsed) co_return;
               const element root = *parsed;
               std::string_view model;
               if (root["model"].get(model) != simdjson::SUCCESS || model != kName) {
                 co_await respond_error(request, writer, 400, "\"model\" must be \"synthetic\"");
                 co_return;
               }
               std::vector<std::string> inputs;
               std::string_view single;
               simdjson::dom::array many;
               if (root["input"].get(single) == simdjson::SUCCESS) {
                 inputs.emplace_back(single);
               } else if (root["input"].get(many) == simdjson::SUCCESS) {
                 for (element e : many) {
                   std::string_view s;
                   if (e.get(s) != simdjson::SUCCESS) {
                     co_await respond_error(request, writer, 400,
                                            "\"input\" must be a string or strings");
                     co_return;
                   }
                   inputs.emplace_back(s);
                 }
               }
               if (inputs.empty()) {
                 co_await respond_error(request, writer, 400, "missing \"input\"");
                 co_return;
               }
               std::string out;
               json::JsonWriter w(out);
               w.begin_object()
                   .key("object")
                   .string("list")
                   .key("model")
                   .string(kName)
                   .key("data")
                   .begin_array();
               std::size_t tokens = 0;
               for (std::size_t i = 0; i < inputs.size(); ++i) {
                 tokens += words_of(inputs[i]).size();
                 w.begin_object()
                     .key("object")
                     .string("embedding")
                     .key("index")
                     .number(i)
                     .key("embedding")
                     .begin_array();
                 auto digest =
                     crypto::sha256(std::as_bytes(std::span(inputs[i].data(), inputs[i].size())));
                 for (std::size_t d = 0; d < options_.embedding_size; ++d) {
                   if (d > 0 && d % digest.size() == 0) digest = crypto::sha256(digest);
                   w.number(std::to_integer<int>(digest[d % digest.size()]) / 127.5 - 1.0);
                 }
                 w.end_array().end_object();
               }
               w.end_array().key("usage").begin_object().key("prompt_tokens").number(tokens);
               w.key("total_tokens").number(tokens).end_object().end_object();
               (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
             });
}

}  // namespace cipherline::backend
