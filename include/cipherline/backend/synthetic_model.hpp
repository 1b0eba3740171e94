// SyntheticModel: a built-in OpenAI-compatible model for running and
// measuring the pipeline without GPUs. Listed in /v1/models as
// "synthetic".
//
//   SyntheticModel model({.tokens_per_second = 0, .first_token_delay = {}});
//   model.add_routes(router);
//
// Contract:
// - Chat completions, completions and Anthropic messages answer with the
//   last user message (or the prompt) echoed back, one whitespace-separated
//   word per token. With "stream": true each word is one SSE chunk (OpenAI:
//   `chat.completion.chunk` / `text_completion` then `data: [DONE]`;
//   Anthropic: message_start, content_block_start, one content_block_delta
//   per word, content_block_stop, message_delta, message_stop), paced at
//   `tokens_per_second` per stream (0: unlimited) after
//   `first_token_delay`. Usage counts words: prompt tokens are the words of
//   every message, completion tokens the words echoed.
// - Embeddings: one vector of `embedding_size` floats in [-1, 1] per input
//   string, derived from SHA-256 of the input, so equal inputs give equal
//   vectors.
// - Transcriptions and documents: see synthetic_audio.hpp and
//   synthetic_unstructured.hpp (registered by add_routes).
// - Bad requests get 400 in respond_error's format naming the problem
//   (invalid JSON, no messages, no user message, unknown model).
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
