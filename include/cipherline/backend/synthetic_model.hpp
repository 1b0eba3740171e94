// SyntheticModel: a built-in OpenAI-compatible model for running and
// measuring the pipeline without GPUs. Listed in /v1/models as
// "synthetic".
//
//   SyntheticModel model({.tokens_per_second = 0, .first_token_delay = {}});
//   model.add_routes(router);
//
// Contract:
// - Chat completions, completions and Anthropic messages answer with the
//   last user message that has text (or the prompt) echoed back, one token
//   per word (a word with the whitespace after it, so the tokens join to
//   the text).
//   With "stream": true each token is one SSE chunk (OpenAI:
//   `chat.completion.chunk` / `text_completion`, a last chunk per choice
//   with its finish_reason, then `data: [DONE]`; Anthropic: message_start,
//   content_block_start, one content_block_delta per token,
//   content_block_stop, message_delta, message_stop), paced at
//   `tokens_per_second` per stream (0: unlimited) after `first_token_delay`.
//   Usage counts tokens: prompt tokens are the words of every message,
//   completion tokens every token streamed, of every choice (reasoning and
//   tool-argument pieces included; reasoning also in
//   completion_tokens_details.reasoning_tokens). Anthropic usage:
//   input_tokens (and zero cache counts) in message_start, input and output
//   tokens in message_delta and in the whole message.
// - OpenAI options (chat; `n` and `logprobs` also for completions), each
//   checked, a bad value answered 400 naming the field and what it may be:
//   - `n` (1-128): choices 0..n-1; choice 0 echoes the message, choice k
//     adds the word "[k]". Streamed, the choices' chunks interleave (step s
//     of every choice, then step s+1), each chunk carrying one choice and
//     its index. `stream_options.include_usage` adds a last chunk with empty
//     choices and the usage of all of them.
//   - `tools` with `tool_choice`: {"type":"function","function":{"name"}}
//     calls that tool; "required" calls every tool whose name occurs in the
//     reply, or the first tool when none does; "auto" (the default with
//     tools) calls the tools the reply names and answers with text when it
//     names none or when the last message is a tool's result (so that an
//     SDK's tool runner ends); "none" never calls. `parallel_tool_calls:
//     false` keeps the first call only. A call has id
//     "call_synthetic_<choice>_<call>", and arguments built from the tool's
//     JSON schema (below); content is null and finish_reason "tool_calls".
//     Streamed: per call a delta with index, id, type and name and empty
//     arguments, then the arguments in pieces of about 8 bytes.
//   - `response_format` json_object / json_schema: content is a JSON object,
//     {"reply": text} or built from the schema (below), streamed in pieces.
//   - `logprobs` (+ `top_logprobs` 0-20): choices[i].logprobs.content has
//     one {token, logprob, bytes, top_logprobs} per content token, logprobs
//     deterministic in (-4, 0], the top list starting with the token itself.
//     Streamed, each choice then opens with a chunk of its role alone
//     (content "", logprobs.content []), as OpenAI's streams do.
//     Completions' `logprobs` (0-5) gives the legacy shape: {tokens,
//     token_logprobs, top_logprobs (token → logprob), text_offset}, per
//     token in the stream's chunks.
//   - `reasoning_effort` (minimal, low, medium or high; "none" is none):
//     a reasoning text comes before the content, as `reasoning_content` and
//     `reasoning` (the same text, as Privatemode duplicates it) in the
//     message and in the deltas.
//   Values built from a JSON schema: strings are the choice's text,
//   integers and numbers its word count, booleans true, enum and const
//   their first value, arrays one item, objects every property (without
//   properties: {"reply"|"input": text}); anyOf/oneOf/allOf take the first
//   alternative that is not null; "$ref": "#/…" is resolved in the schema;
//   a value that is no object falls back to {"reply"|"input": text}.
//   Bounds, so that no request makes a huge answer: at most 128 tools; n
//   choices echo at most 64 MiB in all (else 400 naming `n`); what schemas
//   build takes at most 4 MiB per answer, values beyond it being null.
// - Anthropic `tools` with `tool_choice` {"type": "any" (as "required"),
//   "tool" with "name", "auto" or "none"} and `disable_parallel_tool_use`
//   (the same rules): `tool_use` content blocks
//   (id "toolu_synthetic_0_<call>", name, input), stop_reason "tool_use";
//   streamed as content_block_start (type tool_use, input {}), one
//   input_json_delta (partial_json) per piece, content_block_stop.
// - Embeddings: one vector per input string, `dimensions` (1-4096; default
//   `embedding_size`) values in [-1, 1] derived from SHA-256 of the input:
//   equal inputs give equal vectors, and a vector's first k values do not
//   depend on `dimensions`. Each value is exactly a float32, so
//   `encoding_format` "base64" (little-endian float32, standard base64)
//   decodes to exactly the values "float" (the default) writes.
// - Transcriptions and documents: see synthetic_audio.hpp and
//   synthetic_unstructured.hpp (registered by add_routes).
// - Bad requests get 400 in respond_error's format naming the problem
//   (invalid JSON, no messages, no user message, unknown model, a bad
//   option as above).
// - Loop thread only.
#pragma once

#include <chrono>
#include <cstddef>

#include "cipherline/http/router.hpp"

namespace cipherline::backend {

struct SyntheticModelOptions {
  double tokens_per_second = 0;  // per stream; 0 = as fast as possible
  std::chrono::milliseconds first_token_delay{0};
  std::size_t embedding_size = 16;
};

class SyntheticModel {
 public:
  static constexpr std::string_view kName = "synthetic";

  explicit SyntheticModel(SyntheticModelOptions options = {}) : options_(options) {}
  void add_routes(http::Router& router);

 private:
  SyntheticModelOptions options_;
};

}  // namespace cipherline::backend
