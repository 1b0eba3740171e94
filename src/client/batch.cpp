#include "cipherline/client/batch.hpp"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <set>

#include <charconv>
#include "cipherline/client/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/json/writer.hpp"

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::client {

using namespace std::chrono;

namespace {

Error config_error(std::string message) {
  return Error(errc::bad_configuration, std::move(message));
}

// An append-only JSONL file of results: what an earlier run wrote is read
// first (a torn last line cut off), then lines are appended one write(2)
// each.
class ResultFile {
 public:
  ~ResultFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  // open reads the existing lines, handing each to `seen` (which says
  // whether it parses), and leaves the file open for appending.
  Result<void, Error> open(const std::filesystem::path& path,
                           const std::function<bool(std::string_view)>& seen) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) return config_error(path.string() + ": " + std::strerror(errno));
    // Line by line, so that resuming a long batch does not hold its output
    // in memory.
    std::ifstream in(path, std::ios::binary);
    std::string line;
    std::uint64_t line_no = 0;
    size_ = 0;
    while (std::getline(in, line)) {
      if (in.eof()) {
        // A crash mid-write left half a line: it was never answered.
        if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
          return config_error(path.string() +
                              ": cannot cut off a torn last line: " + std::strerror(errno));
        }
        break;
      }
      ++line_no;
      if (!line.empty() && !seen(line)) {
        return config_error(path.string() + ": line " + std::to_string(line_no) +
                            " is not a batch result line; refusing to append to it");
      }
      size_ += line.size() + 1;
    }
    if (in.bad()) return config_error(path.string() + ": reading failed");
    return {};
  }

  // append writes one whole line or none: a write that fails part way is
  // cut off again, and the file takes no more lines after that, so the
  // output never holds a torn line in the middle.
  Result<void, Error> append(std::string line) {
    if (broken_) return config_error(path_.string() + ": a write failed before; not appending");
    line += '\n';
    std::size_t done = 0;
    while (done < line.size()) {
      const auto n = ::write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const std::string why = n == 0 ? "nothing written" : std::strerror(errno);
        broken_ = true;
        if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
          return config_error(path_.string() + ": " + why +
                              ", and cutting off the partial line failed: " + std::strerror(errno));
        }
        return config_error(path_.string() + ": " + why);
      }
      done += static_cast<std::size_t>(n);
    }
    size_ += line.size();
    return {};
  }

  void sync() { (void)::fdatasync(fd_); }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // bytes of whole lines
  bool broken_ = false;
};

struct Job {
  std::uint64_t line = 0;
  std::string custom_id;
  protocol::Route route{};
  std::string body;  // the request body, minified
};

std::string random_hex(std::size_t bytes) {
  std::vector<std::byte> b(bytes);
  crypto::random_bytes(b);
  return crypto::to_hex(b);
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == line.npos; }

// The input's request lines (not blank), counted before the run so that
// progress has a total from the start.
Result<std::uint64_t, Error> count_lines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error(path.string() + ": cannot be read");
  std::uint64_t lines = 0;
  for (std::string text; std::getline(in, text);) lines += blank(text) ? 0 : 1;
  if (in.bad()) return config_error(path.string() + ": reading failed");
  return lines;
}

// percentile: of sorted values, the nearest rank.
double percentile(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5)];
}

// 429 and 5xx may pass; 501 (not implemented) and 505 (version) will not.
bool retriable(int status) {
  return status == 429 || (status >= 500 && status != 501 && status != 505);
}

// A longer Retry-After is taken as this (the batch keeps moving).
constexpr std::chrono::seconds kMaxRetryAfter{600};

// streaming_body: the request as a stream with usage in it.
std::string streaming_body(const std::string& body) {
  // The body was checked to be a JSON object when its line was read; the
  // request's own "stream" and "include_usage" give way, its other stream
  // options stay.
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(body).get(object) != simdjson::SUCCESS) return body;
  json::JsonWriter w;
  w.begin_object().key("stream").boolean(true).key("stream_options").begin_object();
  w.key("include_usage").boolean(true);
  simdjson::dom::object options;
  if (object["stream_options"].get(options) == simdjson::SUCCESS) {
    for (auto [key, value] : options) {
      if (key != "include_usage") w.key(key).raw(simdjson::minify(value));
    }
  }
  w.end_object();
  for (auto [key, value] : object) {
    if (key != "stream" && key != "stream_options") w.key(key).raw(simdjson::minify(value));
  }
  w.end_object();
  return w.take();
}

// Streamed indexes (of choices, of tool calls) beyond this are not taken
// for an answer: the assembly would grow with whatever the stream claims.
constexpr std::uint64_t kMaxStreamIndex = 256;

// A streamed tool call, by its index: id, type and name from its first
// delta, the arguments concatenated.
struct AssembledToolCall {
  std::string id, type, name, arguments;
};

// The arrays of a legacy completions' logprobs object.
constexpr const char* kLegacyLogprobs[] = {"tokens", "token_logprobs", "top_logprobs",
                                           "text_offset"};

// One choice of a streamed answer, by its index.
struct AssembledChoice {
  std::string text, reasoning_content, reasoning, finish_reason;
  std::string logprobs;  // the logprobs.content entries, comma-separated JSON
  // Legacy completions' logprobs: the elements of each of kLegacyLogprobs'
  // arrays, comma-separated JSON.
  std::string legacy_logprobs[4];
  std::vector<AssembledToolCall> tool_calls;
  bool has_content = false, has_reasoning_content = false, has_reasoning = false;
  bool has_logprobs = false;
};

// The pieces of a streamed answer, put back into the unary shape.
struct Assembled {
  std::string id, model, usage;
  std::vector<AssembledChoice> choices;  // by index; gaps are choices never streamed
  std::vector<bool> seen;                // which indexes had a chunk
  std::string error;                     // an error event's "error" object, minified
  std::string invalid;                   // why the stream cannot be assembled
  std::int64_t created = 0;
  bool any = false;
  bool done = false;  // [DONE] arrived
};

// at_index: the element of `v` a streamed "index" names (absent: 0), grown
// to it; nullptr, with the error set, for an index that is not a small
// unsigned integer.
template <class T>
T* at_index(std::vector<T>& v, simdjson::dom::element item, Assembled& a, std::string_view what) {
  std::uint64_t i = 0;
  simdjson::dom::element index;
  if (item["index"].get(index) == simdjson::SUCCESS &&
      (index.get(i) != simdjson::SUCCESS || i >= kMaxStreamIndex)) {
    a.invalid = "a streamed " + std::string(what) + " has an index that is not an integer below " +
                std::to_string(kMaxStreamIndex);
    return nullptr;
  }
  if (v.size() <= i) v.resize(i + 1);
  return &v[i];
}

void absorb_tool_calls(simdjson::dom::array calls, AssembledChoice& c, Assembled& a) {
  for (simdjson::dom::element call : calls) {
    AssembledToolCall* t = at_index(c.tool_calls, call, a, "tool call");
    if (t == nullptr) return;
    std::string_view s;
    if (call["id"].get(s) == simdjson::SUCCESS) t->id = s;
    if (call["type"].get(s) == simdjson::SUCCESS) t->type = s;
    if (call["function"]["name"].get(s) == simdjson::SUCCESS) t->name += s;
    if (call["function"]["arguments"].get(s) == simdjson::SUCCESS) t->arguments += s;
  }
}

void absorb_chunk(std::string_view payload, protocol::Route route, Assembled& a,
                  simdjson::dom::parser& parser) {
  simdjson::dom::element chunk;
  if (parser.parse(payload.data(), payload.size()).get(chunk) != simdjson::SUCCESS) return;
  simdjson::dom::element error;
  if (chunk["error"].get(error) == simdjson::SUCCESS) {
    a.error = simdjson::minify(error);
    return;
  }
  std::string_view s;
  if (!a.any) {
    if (chunk["id"].get(s) == simdjson::SUCCESS) a.id = s;
    if (chunk["model"].get(s) == simdjson::SUCCESS) a.model = s;
    (void)chunk["created"].get(a.created);
    a.any = true;
  }
  simdjson::dom::element usage;
  if (chunk["usage"].get(usage) == simdjson::SUCCESS &&
      usage.type() == simdjson::dom::element_type::OBJECT) {
    a.usage = simdjson::minify(usage);
  }
  simdjson::dom::array choices;
  if (chunk["choices"].get(choices) != simdjson::SUCCESS) return;
  const bool chat = route == protocol::Route::chat_completions;
  for (simdjson::dom::element choice : choices) {
    AssembledChoice* c = at_index(a.choices, choice, a, "choice");
    if (c == nullptr) return;
    if (a.seen.size() < a.choices.size()) a.seen.resize(a.choices.size());
    a.seen[static_cast<std::size_t>(c - a.choices.data())] = true;
    if (chat) {
      simdjson::dom::element delta;
      if (choice["delta"].get(delta) == simdjson::SUCCESS) {
        if (delta["content"].get(s) == simdjson::SUCCESS) {
          c->text += s;
          c->has_content = true;
        }
        if (delta["reasoning_content"].get(s) == simdjson::SUCCESS) {
          c->reasoning_content += s;
          c->has_reasoning_content = true;
        }
        if (delta["reasoning"].get(s) == simdjson::SUCCESS) {
          c->reasoning += s;
          c->has_reasoning = true;
        }
        simdjson::dom::array calls;
        if (delta["tool_calls"].get(calls) == simdjson::SUCCESS) {
          absorb_tool_calls(calls, *c, a);
          if (!a.invalid.empty()) return;
        }
      }
      simdjson::dom::array entries;
      if (choice["logprobs"]["content"].get(entries) == simdjson::SUCCESS) {
        for (simdjson::dom::element entry : entries) {
          if (!c->logprobs.empty()) c->logprobs += ',';
          c->logprobs += simdjson::minify(entry);
        }
        c->has_logprobs = true;
      }
    } else {
      if (choice["text"].get(s) == simdjson::SUCCESS) {
        c->text += s;
        c->has_content = true;
      }
      simdjson::dom::object logprobs;
      if (choice["logprobs"].get(logprobs) == simdjson::SUCCESS) {
        for (std::size_t k = 0; k < std::size(kLegacyLogprobs); ++k) {
          simdjson::dom::array values;
          if (logprobs[kLegacyLogprobs[k]].get(values) != simdjson::SUCCESS) continue;
          for (simdjson::dom::element v : values) {
            if (!c->legacy_logprobs[k].empty()) c->legacy_logprobs[k] += ',';
            c->legacy_logprobs[k] += simdjson::minify(v);
          }
        }
        c->has_logprobs = true;
      }
    }
    if (choice["finish_reason"].get(s) == simdjson::SUCCESS) c->finish_reason = s;
  }
}

// assembled_body: the unary response the stream adds up to, one choice per
// index that was streamed, in index order.
std::string assembled_body(const Assembled& a, protocol::Route route) {
  const bool chat = route == protocol::Route::chat_completions;
  std::string out;
  json::JsonWriter json(out);
  json.begin_object()
      .key("id")
      .string(a.id)
      .key("object")
      .string(chat ? "chat.completion" : "text_completion")
      .key("created")
      .number(a.created)
      .key("model")
      .string(a.model)
      .key("choices")
      .begin_array();
  const AssembledChoice none;  // a stream without choices still has one
  for (std::size_t i = 0; i < std::max<std::size_t>(a.choices.size(), 1); ++i) {
    if (i < a.seen.size() && !a.seen[i]) continue;
    const AssembledChoice& c = i < a.choices.size() ? a.choices[i] : none;
    json.begin_object().key("index").number(i);
    if (chat) {
      json.key("message").begin_object().key("role").string("assistant").key("content");
      if (c.has_content || c.tool_calls.empty()) {
        json.string(c.text);
      } else {
        json.null();
      }
      if (c.has_reasoning_content) json.key("reasoning_content").string(c.reasoning_content);
      if (c.has_reasoning) json.key("reasoning").string(c.reasoning);
      if (!c.tool_calls.empty()) {
        json.key("tool_calls").begin_array();
        for (const auto& t : c.tool_calls) {
          json.begin_object().key("id").string(t.id).key("type").string(t.type.empty() ? "function"
                                                                                       : t.type);
          json.key("function").begin_object().key("name").string(t.name);
          json.key("arguments").string(t.arguments).end_object().end_object();
        }
        json.end_array();
      }
      json.end_object();
      json.key("logprobs");
      if (c.has_logprobs) {
        json.begin_object().key("content").raw("[" + c.logprobs + "]").end_object();
      } else {
        json.null();
      }
    } else {
      json.key("text").string(c.text).key("logprobs");
      if (c.has_logprobs) {
        json.begin_object();
        for (std::size_t k = 0; k < std::size(kLegacyLogprobs); ++k) {
          json.key(kLegacyLogprobs[k]).raw("[" + c.legacy_logprobs[k] + "]");
        }
        json.end_object();
      } else {
        json.null();
      }
    }
    json.key("finish_reason");
    if (c.finish_reason.empty()) {
      json.null();
    } else {
      json.string(c.finish_reason);
    }
    json.end_object();
  }
  json.end_array();
  if (!a.usage.empty()) json.key("usage").raw(a.usage);
  json.end_object();
  return out;
}

// The outcome of one request, after its retries.
struct Outcome {
  int status = 0;  // 0: no answer
  std::string request_id;
  std::string body;  // JSON text (an answer's, or a plaintext error's)
  std::string error_code, error_message;
  std::uint32_t latency_us = 0, ttft_us = 0;
  bool cancelled = false;         // the run was stopped: nothing to record
  std::error_code unreachable{};  // set when the backend could not be reached
};

class Runner {
 public:
  Runner(Client& client, BatchOptions options) : client_(client), options_(std::move(options)) {}

  Task<Result<BatchProgress, Error>> run();

 private:
  Result<void, Error> open_files();
  Result<std::optional<Job>, Error> parse(std::uint64_t line_no, std::string_view text);
  Task<void> produce(Channel<Job>& jobs, Result<void, Error>& status);
  Task<void> work(Channel<Job>& jobs);
  Task<Outcome> execute(const Job& job);
  Task<void> pace();
  Task<void> report_progress();
  void record(const Job& job, Outcome outcome);
  void invalid(std::uint64_t line, std::string_view custom_id, std::string why);
  BatchProgress snapshot(bool final) const;
  // halt: stops the run; the first reason is the one reported.
  void halt(Error why) {
    if (!halted_.code()) halted_ = std::move(why);
  }

  Client& client_;
  BatchOptions options_;
  ResultFile output_, errors_;
  std::set<std::string, std::less<>> done_ids_;
  std::set<std::uint64_t> done_lines_;  // reported in the errors file before
  std::set<std::string, std::less<>> seen_ids_;
  BatchProgress counts_;
  std::vector<std::uint32_t> latencies_, ttfts_;
  steady_clock::time_point started_ = steady_clock::now();
  steady_clock::time_point next_start_ = steady_clock::now();
  // Why the run stopped before the end of the input (a failed write, an
  // unreachable backend): no more requests start, and lines without an
  // answer stay unwritten for the next run.
  Error halted_{std::error_code()};
  simdjson::dom::parser parser_;  // for answers, one at a time (record is synchronous)
  bool finished_ = false;
};

Result<void, Error> Runner::open_files() {
  if (options_.errors.empty()) options_.errors = options_.output.string() + ".errors.jsonl";
  simdjson::dom::parser parser;
  auto r = output_.open(options_.output, [&](std::string_view line) {
    simdjson::dom::element e;
    std::string_view id;
    if (parser.parse(line.data(), line.size()).get(e) != simdjson::SUCCESS ||
        e["custom_id"].get(id) != simdjson::SUCCESS) {
      return false;
    }
    done_ids_.emplace(id);
    return true;
  });
  if (!r) return r;
  return errors_.open(options_.errors, [&](std::string_view line) {
    simdjson::dom::element e;
    std::uint64_t n = 0;
    if (parser.parse(line.data(), line.size()).get(e) != simdjson::SUCCESS ||
        e["line"].get(n) != simdjson::SUCCESS) {
      return false;
    }
    done_lines_.insert(n);
    return true;
  });
}

Result<std::optional<Job>, Error> Runner::parse(std::uint64_t line_no, std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::object line;
  if (auto e = parser.parse(text.data(), text.size()).get(line); e != simdjson::SUCCESS) {
    return config_error(e == simdjson::INCORRECT_TYPE
                            ? "not a JSON object"
                            : std::string("invalid JSON: ") + simdjson::error_message(e));
  }
  std::string_view id, method, url;
  if (line["custom_id"].get(id) != simdjson::SUCCESS || id.empty()) {
    return config_error("missing \"custom_id\" (a non-empty string)");
  }
  Job job{.line = line_no, .custom_id = std::string(id)};
  if (line["method"].get(method) != simdjson::SUCCESS || method != "POST") {
    return config_error("\"method\" must be \"POST\"");
  }
  if (line["url"].get(url) != simdjson::SUCCESS) return config_error("missing \"url\"");
  const auto route = protocol::route_for_path(url);
  if (!route || (*route != protocol::Route::chat_completions &&
                 *route != protocol::Route::completions && *route != protocol::Route::embeddings)) {
    return config_error("unsupported url \"" + std::string(url) +
                        "\" (supported: /v1/chat/completions, /v1/completions, /v1/embeddings)");
  }
  job.route = *route;
  simdjson::dom::object body;
  if (line["body"].get(body) != simdjson::SUCCESS) {
    return config_error("\"body\" must be a JSON object");
  }
  job.body = simdjson::minify(body);
  return std::optional<Job>(std::move(job));
}

void Runner::invalid(std::uint64_t line, std::string_view custom_id, std::string why) {
  ++counts_.invalid;
  std::string out;
  json::JsonWriter json(out);
  json.begin_object().key("line").number(line).key("custom_id");
  if (custom_id.empty()) {
    json.null();
  } else {
    json.string(custom_id);
  }
  json.key("error").string(why).end_object();
  if (auto r = errors_.append(std::move(out)); !r) halt(r.error());
}

Task<void> Runner::produce(Channel<Job>& jobs, Result<void, Error>& status) {
  std::ifstream in(options_.input, std::ios::binary);
  if (!in) {
    status = config_error(options_.input.string() + ": cannot be read");
    jobs.close();
    co_return;
  }
  std::string text;
  std::uint64_t line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (blank(text)) continue;
    if (done_lines_.contains(line_no)) {
      ++counts_.skipped;
      continue;
    }
    auto job = parse(line_no, text);
    if (!job) {
      // The custom_id, if the line has one, helps find it.
      std::string id;
      simdjson::dom::parser p;
      simdjson::dom::element e;
      std::string_view v;
      if (p.parse(text).get(e) == simdjson::SUCCESS && e["custom_id"].get(v) == simdjson::SUCCESS) {
        id = v;
      }
      invalid(line_no, id, job.error().message());
      continue;
    }
    const std::string& id = (*job)->custom_id;
    if (!seen_ids_.insert(id).second) {
      invalid(line_no, id, "duplicate custom_id \"" + id + "\" (an earlier line has it)");
      continue;
    }
    if (done_ids_.contains(id)) {
      ++counts_.skipped;
      continue;
    }
    if (halted_.code()) break;
    if (!co_await jobs.send(std::move(**job))) break;  // stopped
  }
  jobs.close();
}

Task<void> Runner::pace() {
  if (options_.rate <= 0) co_return;
  const auto gap = duration_cast<steady_clock::duration>(duration<double>(1.0 / options_.rate));
  const auto now = steady_clock::now();
  next_start_ = std::max(next_start_ + gap, now);
  if (next_start_ > now) (void)co_await sleep_for(next_start_ - now);
}

Task<Outcome> Runner::execute(const Job& job) {
  static thread_local std::mt19937_64 jitter(std::random_device{}());
  const bool stream = options_.stream && job.route != protocol::Route::embeddings;
  const std::string body = stream ? streaming_body(job.body) : job.body;
  Outcome outcome;
  const std::stop_token& stop = co_await get_stop_token();
  for (int attempt = 0;; ++attempt) {
    co_await pace();
    if (stop.stop_requested()) {
      outcome.cancelled = true;
      co_return outcome;
    }
    const auto start = steady_clock::now();
    outcome = Outcome{};
    std::optional<seconds> retry_after;
    auto response = co_await client_.send(job.route, body);
    if (response) {
      outcome.status = response->status();
      if (auto id = response->header("X-Request-ID")) outcome.request_id = *id;
      if (auto ra = response->header("Retry-After")) {
        std::uint64_t s = 0;
        const auto [p, ec] = std::from_chars(ra->data(), ra->data() + ra->size(), s);
        if (ec == std::errc() && p == ra->data() + ra->size()) {
          retry_after = seconds(std::min<std::uint64_t>(s, kMaxRetryAfter.count()));
        }
      }
      if (stream && response->event_stream() && response->status() == 200) {
        Assembled assembled;
        simdjson::dom::parser parser;
        Result<void, Error> read_status;
        while (true) {
          auto more = co_await response->read();
          if (!more) {
            read_status = more.error();
            break;
          }
          if (!*more) break;
          for (const auto& event : response->events()) {
            if (event.is_done()) {
              assembled.done = true;
              continue;
            }
            if (outcome.ttft_us == 0) {
              outcome.ttft_us = static_cast<std::uint32_t>(
                  duration_cast<microseconds>(steady_clock::now() - start).count());
            }
            absorb_chunk(event.data, job.route, assembled, parser);
          }
        }
        // Only a stream that ran to [DONE] without an error event, and
        // adds up to an answer, is one; anything else is tried again.
        if (read_status && assembled.error.empty() && assembled.invalid.empty() && assembled.done) {
          outcome.body = assembled_body(assembled, job.route);
        } else {
          outcome.status = 0;
          outcome.error_code = "stream_failed";
          outcome.error_message =
              !read_status                 ? read_status.error().message()
              : !assembled.error.empty()   ? "the stream carried an error: " + assembled.error
              : !assembled.invalid.empty() ? "the stream is not an answer: " + assembled.invalid
                                           : "the stream ended without [DONE]";
        }
      } else {
        auto text = co_await response->read_all();
        if (text && !response->encrypted()) {
          // The gateway's own error: plaintext, so never an answer.
          outcome.error_code = "gateway_error";
          outcome.error_message = "the gateway's unauthenticated error (status " +
                                  std::to_string(outcome.status) + "): " + *text;
        } else if (text) {
          outcome.body = std::move(*text);
        } else {
          outcome.status = 0;
          outcome.error_code = "response_failed";
          outcome.error_message = text.error().message();
        }
      }
    } else if (stop.stop_requested()) {
      outcome.cancelled = true;
      co_return outcome;
    } else {
      outcome.error_code =
          response.error() == errc::invalid_request ? "invalid_request" : "connection_failed";
      outcome.error_message = response.error().message();
      if (response.error() == errc::invalid_request) co_return outcome;  // not retried
      outcome.unreachable = response.error().code();
    }
    outcome.latency_us = static_cast<std::uint32_t>(
        duration_cast<microseconds>(steady_clock::now() - start).count());
    const bool again = outcome.status == 0 || retriable(outcome.status);
    if (!again) co_return outcome;
    if (stop.stop_requested()) {
      outcome.cancelled = true;
      co_return outcome;
    }
    if (attempt >= options_.max_retries) {
      if (outcome.error_code.empty() || outcome.error_code == "gateway_error") {
        const std::string last = outcome.error_message;
        outcome.error_code = "retries_exhausted";
        outcome.error_message = "status " + std::to_string(outcome.status) + " after " +
                                std::to_string(attempt + 1) + " attempts" +
                                (last.empty() ? "" : "; the last: " + last);
      }
      co_return outcome;
    }
    ++counts_.retried;
    const auto ceiling = std::min<std::int64_t>(
        options_.backoff_max.count(),
        options_.backoff_base.count() * (std::int64_t{1} << std::min(attempt, 20)));
    // Full jitter over the exponential ceiling; or the server's Retry-After
    // plus a little (up to backoff_base), so that workers told the same
    // time do not all come back at once.
    const auto spread = retry_after ? options_.backoff_base.count() : ceiling;
    const auto wait = duration_cast<milliseconds>(retry_after.value_or(seconds(0))) +
                      milliseconds(std::uniform_int_distribution<std::int64_t>(
                          0, std::max<std::int64_t>(spread, 1))(jitter));
    if (!co_await sleep_for(wait)) {
      outcome.cancelled = true;
      co_return outcome;
    }
  }
}

void Runner::record(const Job& job, Outcome outcome) {
  std::string out;
  json::JsonWriter json(out);
  json.begin_object()
      .key("id")
      .string("batch_req_" + random_hex(12))
      .key("custom_id")
      .string(job.custom_id)
      .key("response");
  const bool answered = outcome.status != 0;
  if (answered) {
    simdjson::dom::element body;
    const bool json_body = parser_.parse(outcome.body).get(body) == simdjson::SUCCESS;
    json.begin_object()
        .key("status_code")
        .number(outcome.status)
        .key("request_id")
        .string(outcome.request_id.empty() ? "req_" + random_hex(12) : outcome.request_id)
        .key("body");
    if (outcome.body.empty()) {
      json.null();
    } else if (json_body) {
      json.raw(simdjson::minify(body));
      std::uint64_t n = 0;
      if (body["usage"]["prompt_tokens"].get(n) == simdjson::SUCCESS) counts_.tokens_in += n;
      if (body["usage"]["completion_tokens"].get(n) == simdjson::SUCCESS) counts_.tokens_out += n;
    } else {
      json.string(outcome.body);
    }
    json.end_object();
  } else {
    json.null();
  }
  json.key("error");
  const bool ok = answered && !retriable(outcome.status) && outcome.error_code.empty();
  if (ok) {
    json.null();
  } else {
    json.begin_object()
        .key("code")
        .string(outcome.error_code.empty() ? "retries_exhausted" : outcome.error_code)
        .key("message")
        .string(outcome.error_message)
        .end_object();
  }
  json.end_object();
  if (auto r = output_.append(std::move(out)); !r) halt(r.error());
  if (ok) {
    ++counts_.succeeded;
    latencies_.push_back(outcome.latency_us);
    if (outcome.ttft_us != 0) ttfts_.push_back(outcome.ttft_us);
  } else {
    ++counts_.failed;
  }
}

Task<void> Runner::work(Channel<Job>& jobs) {
  while (true) {
    auto job = co_await jobs.receive();
    if (!job) co_return;           // closed and drained
    if (halted_.code()) continue;  // left for the next run
    ++counts_.in_flight;
    auto outcome = co_await execute(*job);
    --counts_.in_flight;
    // A stopped run leaves the request unanswered, for the next run.
    if (outcome.cancelled) continue;
    if (outcome.unreachable) {
      // Not the request's fault: an outage would otherwise turn every line
      // it meets into a permanent failure. The run stops instead.
      halt(Error(outcome.unreachable, "the backend could not be reached after " +
                                          std::to_string(options_.max_retries + 1) + " attempts (" +
                                          outcome.error_message +
                                          "); the lines not answered are left for the next run"));
      continue;
    }
    record(*job, std::move(outcome));
  }
}

BatchProgress Runner::snapshot(bool final) const {
  BatchProgress p = counts_;
  p.elapsed = steady_clock::now() - started_;
  if (!final) return p;  // percentiles sort every sample: once, at the end
  std::vector<std::uint32_t> sorted = latencies_;
  std::sort(sorted.begin(), sorted.end());
  p.latency_p50 = percentile(sorted, 0.50);
  p.latency_p95 = percentile(sorted, 0.95);
  p.latency_p99 = percentile(sorted, 0.99);
  sorted = ttfts_;
  std::sort(sorted.begin(), sorted.end());
  p.ttft_p50 = percentile(sorted, 0.50);
  p.ttft_p99 = percentile(sorted, 0.99);
  return p;
}

Task<void> Runner::report_progress() {
  while (!finished_) {
    if (!co_await sleep_for(options_.progress_interval)) co_return;
    if (options_.progress && !finished_) options_.progress(snapshot(false));
  }
}

Task<Result<BatchProgress, Error>> Runner::run() {
  if (options_.concurrency == 0) co_return config_error("concurrency must be at least 1");
  if (auto r = open_files(); !r) co_return r.error();
  auto lines = co_await offload([path = options_.input] { return count_lines(path); });
  if (!lines) co_return Error(lines.error(), "counting the input lines");
  if (!*lines) co_return lines->error();
  counts_.total_lines = **lines;
  Channel<Job> jobs(options_.concurrency);
  Result<void, Error> input_status;
  std::stop_source stop_ticker;
  TaskScope ticker;
  ticker.spawn(with_stop_token(report_progress(), stop_ticker.get_token()));
  {
    TaskScope workers;
    for (std::size_t i = 0; i < options_.concurrency; ++i) workers.spawn(work(jobs));
    workers.spawn(produce(jobs, input_status));
    co_await workers.join();
  }
  finished_ = true;
  stop_ticker.request_stop();
  co_await ticker.join();
  output_.sync();
  errors_.sync();
  if (!input_status) co_return input_status.error();
  if (halted_.code()) co_return halted_;
  auto summary = snapshot(true);
  if (options_.progress) options_.progress(summary);
  co_return summary;
}

}  // namespace

Task<Result<BatchProgress, Error>> run_batch(Client& client, BatchOptions options) {
  Runner runner(client, std::move(options));
  co_return co_await runner.run();
}

}  // namespace cipherline::client
