// Batch: thousands of prompts through one attested session — `cipherline
// batch`, in the OpenAI Batch API's JSONL format.
//
//   client::Client client(options);          // one session for the whole batch
//   co_await client.connect();
//   auto summary = co_await client::run_batch(client, {.input = "in.jsonl",
//                                                      .output = "out.jsonl"});
//
// Input, one JSON object per line:
//   {"custom_id": "…", "method": "POST", "url": "/v1/chat/completions", "body": {…}}
// with url /v1/chat/completions, /v1/completions or /v1/embeddings.
// Output, one line per answered request, appended as it completes:
//   {"id": "batch_req_…", "custom_id": "…",
//    "response": {"status_code": 200, "request_id": "…", "body": {…}}, "error": null}
// or, when no answer could be had after the retries, "error": {"code", "message"}
// (and "response" with the last status, if there was one).
//
// Contract:
// - Streaming and bounded: the input is read line by line as workers free
//   up (`concurrency` requests in flight, a queue of as many lines), so memory
//   does not grow with the input, except for the set of custom_ids seen
//   (duplicates must be found).
// - Exactly once, across crashes: every output line is written with one
//   write(2) as soon as its request completes. On start, the output (and
//   errors) file is read: a torn last line (a crash mid-write) is cut off,
//   and every custom_id (line number) already there is skipped. After a kill
//   at any moment and a rerun with the same files, every input line has
//   exactly one line in the output or the errors file. A complete line that
//   does not parse is an error (the file is not ours, or was edited): nothing
//   is overwritten.
// - Bad input lines (invalid JSON, missing or duplicate custom_id, another
//   method, an unsupported url, a body that is not an object) go to the
//   errors file as {"line": N, "custom_id": …, "error": "…"}; the batch goes
//   on.
// - Retries: 429, 5xx (but 501 and 505) and connection failures are
//   retried up to `max_retries` times with exponential backoff and full
//   jitter (base·2^attempt, capped), or after Retry-After seconds (at most
//   600, plus up to `backoff_base` of jitter) when the server says. A
//   stream that breaks off, carries an error event or ends without [DONE]
//   is retried too. Other statuses are answers and are written as they are.
// - The output takes whole lines only: a write that fails part way is cut
//   off again and the run ends with that error (nothing after it written).
// - A request that still cannot reach the backend after its retries is not
//   written as a failure: the run stops with that error, and it and the
//   lines not yet sent are left for the next run (an outage never fails
//   lines for good).
// - `rate` > 0 spaces request starts evenly (requests per second).
// - `stream`: chat and completions are streamed and assembled into the
//   non-streamed response shape; time to first token is measured. The
//   assembly keeps choices apart by their index (n > 1: one choice per
//   index, each with its own content and finish_reason), puts streamed
//   tool_calls together by their index (id, type and name from the first
//   delta, the arguments concatenated), and keeps reasoning_content /
//   reasoning, logprobs (chat: logprobs.content; completions: the legacy
//   arrays) and the final usage when the stream has them. A stream with an
//   index of 256 or more is not an answer (the assembly does not grow with
//   what a stream claims): it is retried as a broken one. Unstreamed
//   answers are written as they are, every choice with them.
// - Progress: `progress` is called about every `progress_interval` and once
//   at the end with the running counts.
// - Loop thread only; the Client must be connected and outlive the run.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cipherline/client/client.hpp"

namespace cipherline::client {

struct BatchOptions {
  std::filesystem::path input;
  std::filesystem::path output;
  std::filesystem::path errors;  // empty: <output>.errors.jsonl
  std::size_t concurrency = 64;
  double rate = 0;  // requests per second; 0: as fast as the concurrency allows
  int max_retries = 5;
  bool stream = false;
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::milliseconds progress_interval{1000};
  std::function<void(const struct BatchProgress&)> progress{};
};

struct BatchProgress {
  std::uint64_t total_lines = 0;  // request lines in the input (counted first)
  std::uint64_t skipped = 0;      // answered (or reported) by an earlier run
  std::uint64_t succeeded = 0, failed = 0, invalid = 0, retried = 0;
  std::uint64_t in_flight = 0;
  std::uint64_t tokens_in = 0, tokens_out = 0;
  std::chrono::steady_clock::duration elapsed{};
  // Latency of answered requests, and time to first token (--stream), in
  // microseconds, as percentiles of this run: in the final report only (0
  // in the running ones).
  double latency_p50 = 0, latency_p95 = 0, latency_p99 = 0;
  double ttft_p50 = 0, ttft_p99 = 0;
};

Task<Result<BatchProgress, Error>> run_batch(Client& client, BatchOptions options);

}  // namespace cipherline::client
